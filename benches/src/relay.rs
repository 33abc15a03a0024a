//! The ceiling: a bare WebSocket relay on tokio-tungstenite alone. It pairs sockets by
//! their request path (`/pair/17` meets the other `/pair/17`; with one path for everyone,
//! in arrival order) and forwards every frame of each to the other, untouched.
//!
//! Minimal but not handicapped: TCP_NODELAY like the clbchat server, the same 8 KiB read
//! and write buffers, and futures' `forward`, which writes whatever is ready and flushes
//! once when the reader has nothing more (the batching the clbchat writer does too).
//! No JSON, no store, no engine: what is left is the cost of WebSocket framing and of the
//! sockets, which is what the load generator compares the full stack against.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

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
/// the loop goes on.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let waiting: Waiting = Arc::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, waiting.clone()));
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
async fn handle(stream: TcpStream, waiting: Waiting) {
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
    if let Some((a, b)) = partner {
        let (a_tx, a_rx) = a.split();
        let (b_tx, b_rx) = b.split();
        // Either direction ending (a close, an error) ends the pair.
        tokio::select! {
            _ = a_rx.forward(b_tx) => {}
            _ = b_rx.forward(a_tx) => {}
        }
    }
}
