//! Mounting the socket inside an HTTP server, so pages and WebSocket share one port.
//!
//! [`upgrade`] takes a request that hyper (or axum, which runs on hyper) is serving, checks
//! it like the bare listener's handshake does (origin, protocol version, connection cap),
//! answers `101 Switching Protocols`, and runs the session on the upgraded connection. A
//! refusal is an ordinary HTTP answer with the reason as text.

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, Request, Response, StatusCode};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::server::WsServer;

fn plain(status: StatusCode, text: impl Into<String>) -> Response<String> {
    let mut r = Response::new(text.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Answers a WebSocket upgrade request and serves the socket once upgraded.
pub fn upgrade<B>(server: Arc<WsServer>, mut req: Request<B>) -> Response<String> {
    let h = req.headers();
    let is_upgrade = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok = h
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let Some(key) = h
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec())
    else {
        return plain(
            StatusCode::BAD_REQUEST,
            "this address takes WebSocket connections only",
        );
    };
    if !is_upgrade || !version_ok {
        return plain(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade (version 13)",
        );
    }
    let negotiation = match server.negotiate(h) {
        Ok(n) => n,
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
            return plain(status, refusal.message);
        }
    };
    let Some(permit) = server.admit() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections; try again soon",
        );
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = server.config().websocket();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                server.run(ws).await;
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
        drop(permit);
    });
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = r.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(&key)) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(p) = negotiation.subprotocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
    }
    r
}
