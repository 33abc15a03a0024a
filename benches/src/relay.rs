//! The ceiling: a bare WebSocket relay on tokio-tungstenite alone. It pairs sockets by
//! their request path (`/pair/17` meets the other `/pair/17`; with one path for everyone,
//! in arrival order) and forwards every frame of each to the other, untouched.
//!
//! Minimal but not handicapped: TCP_NODELAY like the clbchat server, the same 8 KiB read
//! and write buffers, and futures' `forward`, which writes whatever is ready and flushes
//! once when the reader has nothing more (the batching the clbchat writer does too).
//! No JSON, no store, no engine: what is left is the cost of WebSocket framing and of the
//! sockets, which is what the load generator compares the full stack against.
//!
//! **Acknowledging.** Sockets on `/pair-ack/<n>` are paired the same way, and each text
//! frame is also answered to its sender with an acknowledgement: the frame's marker header
//! (`#visitor:number:sent#`, see [`crate::marker`]), found without parsing anything else.
//! That is the least any server that acknowledges what it took must do per message: one
//! more frame to write, and for the client one more to read. The load generator's
//! `relay-ack` target waits for it as it waits for clbchat's `ack`, so the two runs
//! measure the ceiling of an acknowledging server on the machine, beside the bare one.
//!
//! **Durable.** On `/pair-durable/<n>` each text frame is first written to the relay's
//! SQLite journal ([`crate::journal`], `--journal FILE`) and forwarded and acknowledged once
//! it is on disk: the least a durable acknowledgement costs with SQLite (`relay-durable`).
//! Each pair gets 16 random bytes as its id and numbers its frames from 1, which the
//! journal keeps when it is laid out by chat (`--journal-by-chat`, [`crate::journal::Layout::ByChat`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::journal::{ChatKey, Journal};

/// The path prefix of pairs whose frames are acknowledged.
pub const ACK_PATH: &str = "/pair-ack/";
/// The path prefix of pairs whose frames are written to the journal, then acknowledged.
pub const DURABLE_PATH: &str = "/pair-durable/";

/// Read buffer per socket, as the clbchat server's default.
pub const READ_BUFFER: usize = 8 * 1024;
/// Write buffer per socket, as the clbchat server's default.
pub const WRITE_BUFFER: usize = 8 * 1024;

type Waiting = Arc<Mutex<HashMap<String, WebSocketStream<TcpStream>>>>;

/// The relay's socket settings.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
}

/// Accepts and relays until `shutdown` completes. Accept errors are reported on stderr and
/// the loop goes on. Without a journal, durable pairs are closed at once.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) {
    serve_with_journal(listener, shutdown, None).await;
}

/// [`serve`], with the journal durable pairs write to.
pub async fn serve_with_journal(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    journal: Option<Journal>,
) {
    let waiting: Waiting = Arc::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, waiting.clone(), journal.clone()));
                }
                Err(e) => {
                    eprintln!("clbchat-bare-relay: accept failed: {e}");
                    tokio::task::yield_now().await;
                }
            },
        }
    }
}

// The callback's error type is tungstenite's `ErrorResponse`, fixed by its trait.
#[allow(clippy::result_large_err)]
async fn handle(stream: TcpStream, waiting: Waiting, journal: Option<Journal>) {
    let _ = stream.set_nodelay(true);
    let path: Arc<Mutex<String>> = Arc::default();
    let seen = path.clone();
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        *seen.lock().unwrap_or_else(|e| e.into_inner()) = req.uri().path().to_owned();
        Ok(resp)
    };
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(websocket_config()))
            .await
    else {
        return;
    };
    let key = std::mem::take(&mut *path.lock().unwrap_or_else(|e| e.into_inner()));
    let acknowledged = key.starts_with(ACK_PATH);
    let durable = key.starts_with(DURABLE_PATH);
    let partner = {
        let mut w = waiting.lock().unwrap_or_else(|e| e.into_inner());
        match w.remove(&key) {
            Some(p) => Some((p, ws)),
            None => {
                w.insert(key, ws);
                None
            }
        }
    };
    let Some((a, b)) = partner else {
        return;
    };
    let (a_tx, a_rx) = a.split();
    let (b_tx, b_rx) = b.split();
    if acknowledged || durable {
        let journal = match (durable, journal) {
            (false, _) => None,
            (true, Some(j)) => Some(j),
            (true, None) => return,
        };
        acknowledging(a_tx, a_rx, b_tx, b_rx, journal.as_ref()).await;
        return;
    }
    // Either direction ending (a close, an error) ends the pair.
    tokio::select! {
        _ = a_rx.forward(b_tx) => {}
        _ = b_rx.forward(a_tx) => {}
    }
}

type Tx = SplitSink<WebSocketStream<TcpStream>, Message>;
type Rx = SplitStream<WebSocketStream<TcpStream>>;

/// One task per pair: each text frame (written to the journal first, if there is one) goes
/// to the partner and its marker header back to the sender, each written as it comes (a
/// closed-loop client has one frame in flight, so there is nothing to gather). Either side
/// ending, or the journal failing, ends the pair.
async fn acknowledging(
    mut a_tx: Tx,
    mut a_rx: Rx,
    mut b_tx: Tx,
    mut b_rx: Rx,
    journal: Option<&Journal>,
) {
    let mut key: ChatKey = (rand::random(), 0);
    loop {
        let going = tokio::select! {
            m = a_rx.next() => pass(m, &mut b_tx, &mut a_tx, journal, &mut key).await,
            m = b_rx.next() => pass(m, &mut a_tx, &mut b_tx, journal, &mut key).await,
        };
        if !going {
            return;
        }
    }
}

/// Forwards a text frame to `to` and acknowledges it on `back`, once the journal has it if
/// there is one (under the pair's `key`, whose number it raises); other frames (pings are
/// answered by tungstenite itself) are dropped. False when the pair is over.
async fn pass(
    m: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    to: &mut Tx,
    back: &mut Tx,
    journal: Option<&Journal>,
    key: &mut ChatKey,
) -> bool {
    let text = match m {
        Some(Ok(Message::Text(t))) => t,
        Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
        Some(Ok(_)) => return true,
    };
    if let Some(j) = journal {
        key.1 += 1;
        if !j.append(*key, text.as_str().to_owned()).await {
            return false;
        }
    }
    let ack = marker_header(text.as_str()).map(Message::text);
    if to.send(Message::Text(text)).await.is_err() {
        return false;
    }
    match ack {
        Some(ack) => back.send(ack).await.is_ok(),
        None => true,
    }
}

/// The marker header at the start of a frame, `#…#`, if it has one.
fn marker_header(text: &str) -> Option<String> {
    let end = text.strip_prefix('#')?.find('#')? + 2;
    text.get(..end).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::marker_header;
    use crate::marker::Marker;

    #[test]
    fn the_acknowledgement_is_the_marker_the_load_generator_reads_back() {
        let m = Marker {
            visitor: 4,
            number: 9,
            sent_ns: 77,
        };
        let ack = marker_header(&m.text(64)).expect("a header");
        assert_eq!(ack, "#4:9:77#");
        assert_eq!(Marker::find(&ack, ""), Some(m));
        assert_eq!(marker_header("no marker"), None);
        assert_eq!(marker_header("#unterminated"), None);
    }
}
