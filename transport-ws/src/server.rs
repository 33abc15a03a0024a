//! The server: accepts on a bare TCP listener, or takes connections an HTTP server has
//! already upgraded (so pages and socket share one port).
//!
//! The library takes a listener and a shutdown future; only binaries install signal
//! handlers. A semaphore permit held for each connection's life caps the connections; an
//! accept error is logged and the loop goes on.

use std::future::Future;
use std::sync::Arc;

use clbchat_core::engine::Engine;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, HeaderMap, HeaderValue, StatusCode};
use tokio_tungstenite::WebSocketStream;

use crate::config::WsConfig;
use crate::connection;
use crate::error::Result;
use crate::protocol::{PROTOCOL_VERSION, SUBPROTOCOL};
use crate::stats::WsStats;

/// What the handshake decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiation {
    /// The subprotocol to answer with (`Sec-WebSocket-Protocol`), if the client offered it.
    pub subprotocol: Option<&'static str>,
}

/// Why a handshake was refused (before the upgrade).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// For people.
    pub message: String,
}

/// The WebSocket server over an engine.
pub struct WsServer {
    engine: Engine,
    config: Arc<WsConfig>,
    permits: Arc<Semaphore>,
    stats: Arc<WsStats>,
}

impl std::fmt::Debug for WsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WsServer {
    /// A server for `engine` with `config`.
    pub fn new(engine: Engine, config: WsConfig) -> Arc<Self> {
        let permits = Arc::new(Semaphore::new(config.max_connections));
        Arc::new(Self {
            engine,
            config: Arc::new(config),
            permits,
            stats: Arc::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &WsConfig {
        &self.config
    }

    /// Counters since start (for metrics).
    pub fn stats(&self) -> &WsStats {
        &self.stats
    }

    /// Waits until no connection is open. Connections arriving meanwhile may be refused
    /// with 503, so call it when stopping.
    pub async fn wait_idle(&self) {
        let all = u32::try_from(self.config.max_connections).unwrap_or(u32::MAX);
        // Every permit back means every connection closed; they are released at once.
        let _ = self.permits.acquire_many(all).await;
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.config.max_connections - self.permits.available_permits()
    }

    /// Checks a handshake's headers: the origin, and which protocol version to speak.
    pub fn negotiate(&self, headers: &HeaderMap) -> Result<Negotiation, Refusal> {
        let origin = headers
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if !self.config.origin_allowed(origin) {
            return Err(Refusal {
                status: 403,
                message: format!("origin {} is not allowed", origin.unwrap_or("(none)")),
            });
        }
        let offered: Vec<String> = headers
            .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
            .filter(|p| !p.is_empty())
            .collect();
        if offered.is_empty() {
            // No subprotocol: version 1 is assumed (a `hello` may still say otherwise).
            return Ok(Negotiation { subprotocol: None });
        }
        if offered.iter().any(|p| p == SUBPROTOCOL) {
            return Ok(Negotiation {
                subprotocol: Some(SUBPROTOCOL),
            });
        }
        // A client that offered protocols must get one of them back, or it fails the
        // handshake itself (browsers do); so refuse it here, with the reason.
        Err(Refusal {
            status: 400,
            message: format!(
                "unsupported protocol {}; this server speaks {SUBPROTOCOL} (version {PROTOCOL_VERSION})",
                offered.join(", ")
            ),
        })
    }

    /// Accepts until `shutdown` completes. Each connection runs in its own task.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        // The peer address is deliberately not kept or logged.
                        let server = self.clone();
                        tokio::spawn(async move { server.handle_tcp(stream).await });
                    }
                    Err(e) => {
                        // Accept errors (e.g. too many open files) never end the loop.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }

    /// One TCP connection: the WebSocket handshake, then the session.
    // The callback's error type is tungstenite's `ErrorResponse`, fixed by its trait.
    #[allow(clippy::result_large_err)]
    pub async fn handle_tcp(self: Arc<Self>, mut stream: TcpStream) {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            let _ = stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 36\r\nconnection: close\r\n\r\ntoo many connections; try again soon")
                .await;
            return;
        };
        let _ = stream.set_nodelay(true);
        let server = self.clone();
        let callback = move |req: &Request,
                             mut resp: Response|
              -> std::result::Result<Response, ErrorResponse> {
            match server.negotiate(req.headers()) {
                Ok(n) => {
                    if let Some(p) = n.subprotocol {
                        resp.headers_mut().insert(
                            http::header::SEC_WEBSOCKET_PROTOCOL,
                            HeaderValue::from_static(p),
                        );
                    }
                    Ok(resp)
                }
                Err(r) => {
                    let mut e = ErrorResponse::new(Some(r.message));
                    *e.status_mut() =
                        StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN);
                    Err(e)
                }
            }
        };
        let ws = match tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            callback,
            Some(self.config.websocket()),
        )
        .await
        {
            Ok(ws) => ws,
            Err(e) => {
                tracing::debug!(error = %e, "handshake refused or failed");
                return;
            }
        };
        self.run(ws).await;
        drop(permit);
    }

    /// Serves a socket an HTTP server already upgraded (after [`Self::negotiate`]); build it
    /// with `WebSocketStream::from_raw_socket(io, Role::Server, Some(config.websocket()))`.
    /// Returns `None` when the connection cap is reached (answer 503 instead).
    pub fn admit(self: &Arc<Self>) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Runs the session on an upgraded socket until it closes.
    pub async fn run<S>(&self, ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        connection::serve(
            self.engine.clone(),
            self.config.clone(),
            self.stats.clone(),
            ws,
        )
        .await;
    }
}
