//! What each target speaks: how the load generator opens a visitor's and a counsellor's
//! socket, what a chat message looks like on the wire, and how to recognise the frames it
//! waits for. The hot path (sending, receiving messages) builds and scans frame text
//! directly; setup frames use the clbchat protocol types.
//!
//! - `clbchat`: `clbchat.v1` (see `docs/protocol.md`): a visitor `arrive`s and `send`s;
//!   counsellors log in, go online and receive `log` events.
//! - `relay`: the bare relay: `/pair/<n>` pairs visitor *n* with counsellor *n*; a message
//!   is the marker text itself.
//! - `relay-ack`: the same relay on `/pair-ack/<n>`, which also answers each message to its
//!   sender with the message's marker header, the least an acknowledging server must do.
//! - `relay-durable`: the same on `/pair-durable/<n>`, which writes each message to the
//!   relay's SQLite journal before it forwards and acknowledges it.
//! - `socketio`: Engine.IO 4 / socket.io 5 over a plain WebSocket
//!   (`/socket.io/?EIO=4&transport=websocket&pair=<n>`): the server opens with `0{…}`, the
//!   client connects to the main namespace with `40` and gets `40{…}`; events are
//!   `42["msg","…"]`; the server pings with `2`, the client answers `3`.

use clbchat_transport_ws::protocol::{ClientEnvelope, ClientFrame, ServerFrame, SUBPROTOCOL};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{Error, Result};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which server the load generator talks to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The clbchat server (`clbchat serve`), protocol `clbchat.v1`.
    Clbchat,
    /// `clbchat-bare-relay`: pairs sockets and forwards raw frames.
    Relay,
    /// `clbchat-bare-relay` on `/pair-ack/<n>`: forwards and acknowledges each frame.
    RelayAck,
    /// `clbchat-bare-relay --journal FILE` on `/pair-durable/<n>`: writes each frame to
    /// its journal durably, then forwards and acknowledges it.
    RelayDurable,
    /// The Node.js socket.io relay in `benches/socketio-relay`.
    Socketio,
}

/// Socket settings of the load generator's connections: small buffers, since 10,000
/// connections share one process.
pub fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
}

/// Opens a WebSocket with TCP_NODELAY, an optional `Origin` and subprotocol.
pub async fn connect(url: &str, origin: Option<&str>, protocol: Option<&str>) -> Result<Ws> {
    let what = || format!("connecting to {url}");
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::ws(what(), e))?;
    let header = |v: &str| {
        HeaderValue::from_str(v).map_err(|e| Error::Usage(format!("{}: header `{v}`: {e}", what())))
    };
    if let Some(o) = origin {
        request.headers_mut().insert("origin", header(o)?);
    }
    if let Some(p) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", header(p)?);
    }
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(client_config()), true)
            .await
            .map_err(|e| Error::ws(what(), e))?;
    Ok(ws)
}

/// The URL of visitor or counsellor `n`'s socket on a target.
pub fn socket_url(target: Target, base: &str, n: usize) -> String {
    let base = base.trim_end_matches('/');
    match target {
        Target::Clbchat => base.to_owned(),
        Target::Relay => format!("{base}/pair/{n}"),
        Target::RelayAck => format!("{base}{}{n}", crate::relay::ACK_PATH),
        Target::RelayDurable => format!("{base}{}{n}", crate::relay::DURABLE_PATH),
        Target::Socketio => {
            format!("{base}/socket.io/?EIO=4&transport=websocket&pair={n}")
        }
    }
}

/// The subprotocol to offer.
pub fn protocol(target: Target) -> Option<&'static str> {
    match target {
        Target::Clbchat => Some(SUBPROTOCOL),
        Target::Relay | Target::RelayAck | Target::RelayDurable | Target::Socketio => None,
    }
}

/// The frame text that carries a chat message `text` (visitor `number`'s message, for
/// clbchat numbered by `req` and `id` so a resend is stored once).
pub fn message_frame(target: Target, number: u64, text: &str) -> String {
    match target {
        // `text` is marker and padding: nothing in it needs JSON escaping.
        Target::Clbchat => {
            format!(r#"{{"type":"send","req":{number},"id":"m{number}","text":"{text}"}}"#)
        }
        Target::Relay | Target::RelayAck | Target::RelayDurable => text.to_owned(),
        Target::Socketio => format!(r#"42["msg","{text}"]"#),
    }
}

/// Where the marker starts in a received message frame (after this text).
pub fn marker_prefix(target: Target) -> &'static str {
    match target {
        Target::Clbchat => r#""text":""#,
        Target::Relay | Target::RelayAck | Target::RelayDurable => "",
        Target::Socketio => r#"42["msg",""#,
    }
}

/// Whether a counsellor-side clbchat frame is a visitor's chat message (a `log` event of a
/// `message` from the client), which is what carries a marker.
pub fn is_client_message(frame: &str) -> bool {
    frame.contains(r#""event":"log""#) && frame.contains(r#""from":"client""#)
}

/// Whether the target answers each message with an acknowledgement the visitor waits for.
pub fn acknowledges(target: Target) -> bool {
    matches!(
        target,
        Target::Clbchat | Target::RelayAck | Target::RelayDurable
    )
}

/// What a frame on a visitor's clbchat socket says about its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorFrame {
    /// Message `number` is stored.
    Ack(u64),
    /// Message `number` was dropped by the rate limit: send it again.
    RateLimited(u64),
    /// Another refusal, for message `number` if known.
    Error(Option<u64>),
    /// A counsellor joined the chat: the conversation runs.
    Joined,
    /// Anything else (its own message echoed, queue updates, typing).
    Other,
}

fn req_of(frame: &str) -> Option<u64> {
    let start = frame.find(r#""req":"#)? + 6;
    let digits: String = frame
        .get(start..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Classifies a frame on a visitor's clbchat socket.
pub fn visitor_frame(frame: &str) -> VisitorFrame {
    if frame.starts_with(r#"{"type":"ack""#) {
        return req_of(frame).map_or(VisitorFrame::Error(None), VisitorFrame::Ack);
    }
    if frame.starts_with(r#"{"type":"error""#) {
        let req = req_of(frame);
        return match req {
            Some(n) if frame.contains(r#""code":"rate_limited""#) => VisitorFrame::RateLimited(n),
            _ => VisitorFrame::Error(req),
        };
    }
    if frame.contains(r#""event":"log""#) && frame.contains(r#""type":"joined""#) {
        return VisitorFrame::Joined;
    }
    VisitorFrame::Other
}

/// Sends one clbchat request frame and waits for the frame answering it; an `error` answer
/// becomes [`Error::Refused`]. Events that come meanwhile are skipped (setup only).
pub async fn request(ws: &mut Ws, req: u64, frame: ClientFrame, what: &str) -> Result<ServerFrame> {
    let text = ClientEnvelope {
        req: Some(req),
        frame,
    }
    .encode();
    ws.send(Message::text(text))
        .await
        .map_err(|e| Error::ws(what, e))?;
    loop {
        let text = next_text(ws, what).await?;
        let frame: ServerFrame =
            serde_json::from_str(&text).map_err(|_| Error::protocol(what, &text))?;
        if frame.req() != Some(req) {
            continue;
        }
        return match frame {
            ServerFrame::Error { code, message, .. } => Err(Error::Refused {
                what: what.to_owned(),
                code,
                message,
            }),
            other => Ok(other),
        };
    }
}

/// The next text frame (pings are answered by tungstenite as it reads); a close or the end
/// of the stream is an error naming `what`.
pub async fn next_text(ws: &mut Ws, what: &str) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => {
                let why = c.map_or_else(
                    || "closed".to_owned(),
                    |c| format!("closed {} {}", u16::from(c.code), c.reason),
                );
                return Err(Error::protocol(what, &why));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(Error::ws(what, e)),
            None => return Err(Error::protocol(what, "the connection ended")),
        }
    }
}

/// The socket.io handshake on a fresh socket: waits for the Engine.IO open packet (`0{…}`),
/// connects to the main namespace (`40`) and waits for the server's `40{…}`.
pub async fn socketio_handshake(ws: &mut Ws, what: &str) -> Result<()> {
    let open = next_text(ws, what).await?;
    if !open.starts_with("0{") {
        return Err(Error::protocol(what, &open));
    }
    ws.send(Message::text("40"))
        .await
        .map_err(|e| Error::ws(what, e))?;
    loop {
        let t = next_text(ws, what).await?;
        if t == "2" {
            ws.send(Message::text("3"))
                .await
                .map_err(|e| Error::ws(what, e))?;
            continue;
        }
        if t.starts_with("40") {
            return Ok(());
        }
        return Err(Error::protocol(what, &t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_frames_are_recognised_from_the_servers_real_shapes() {
        assert_eq!(
            visitor_frame(
                r#"{"type":"ack","req":3,"id":"m3","conversation":"5d3c8e1a-4b7f-4c2e-9a61-2f0d8b4e6a17","seq":3,"at":"2022-03-10T17:08:12Z"}"#
            ),
            VisitorFrame::Ack(3)
        );
        assert_eq!(
            visitor_frame(
                r#"{"type":"error","req":12,"code":"rate_limited","message":"too many frames"}"#
            ),
            VisitorFrame::RateLimited(12)
        );
        assert_eq!(
            visitor_frame(r#"{"type":"error","code":"malformed","message":"x"}"#),
            VisitorFrame::Error(None)
        );
        assert_eq!(
            visitor_frame(
                r#"{"type":"event","event":{"event":"log","conversation":"c","seq":1,"at":"t","body":{"type":"joined","role":"counsellor","alias":"Sara"}}}"#
            ),
            VisitorFrame::Joined
        );
    }

    #[test]
    fn a_clbchat_send_frame_decodes_as_the_protocol_says() {
        let text = message_frame(Target::Clbchat, 7, "#1:7:99#xx");
        let env = clbchat_transport_ws::protocol::decode(&text).expect("valid frame");
        assert_eq!(env.req, Some(7));
        match env.frame {
            ClientFrame::Send { id, text, .. } => {
                assert_eq!(id.0, "m7");
                assert_eq!(text, "#1:7:99#xx");
            }
            other => panic!("not a send: {other:?}"),
        }
    }
}
