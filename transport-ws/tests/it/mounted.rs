//! The socket mounted in an axum app: the page and the WebSocket on one port.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use clbchat_transport_ws::{OriginPolicy, WsConfig, WsServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_page_and_the_socket_share_one_port() {
    let engine = clbchat_core::engine::Engine::builder(Arc::new(
        clbchat_core::store::memory::MemoryStore::new(),
    ))
    .build();
    engine
        .add_desk(clbchat_core::config::DeskConfig::national(
            DESK,
            clbchat_core::calendar::Calendar::always_open(),
        ))
        .await
        .unwrap();
    let ws = WsServer::new(
        engine,
        WsConfig::new(OriginPolicy::AllowList(vec![ORIGIN.into()])),
    );
    async fn socket(State(ws): State<Arc<WsServer>>, req: Request) -> impl IntoResponse {
        clbchat_transport_ws::http::upgrade(ws, req)
    }
    let app = Router::new()
        .route("/", get(|| async { Html("<h1>CLBch@t</h1>") }))
        .route("/ws", get(socket))
        .with_state(ws);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let page = http_get(addr, "/").await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<h1>CLBch@t</h1>"),
        "{page}"
    );

    let c = Client::connect(&format!("ws://{addr}/ws"), Some(ORIGIN))
        .await
        .unwrap();
    let f = c
        .request(ClientFrame::Availability { desk: desk() })
        .await
        .unwrap();
    assert!(matches!(f, ServerFrame::Availability { .. }), "{f:?}");

    // The same checks as the bare listener: a foreign origin is refused with a reason.
    let err = Client::connect(&format!("ws://{addr}/ws"), Some("https://evil.example"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    // A plain GET of the socket's address explains itself.
    let plain = http_get(addr, "/ws").await;
    assert!(
        plain.starts_with("HTTP/1.1 400") && plain.contains("WebSocket"),
        "{plain}"
    );
}
