//! # clbchat-transport-ws: the wire protocol on WebSocket
//!
//! The engine never sees a WebSocket; this crate turns a socket into engine session calls
//! and the engine's events into frames, and gives Rust programs a client.
//!
//! # Layout
//!
//! - [`protocol`]: the frames of `clbchat.v1` (JSON), their codes and the decoder.
//! - [`config`]: limits, timeouts, origins; every default a documented `const`.
//! - [`server`]: [`WsServer`]: accepts on a TCP listener or serves sockets an HTTP server
//!   upgraded; handshake checks (origin allow-list, protocol version); a connection cap.
//! - `connection`: one connection: decode, authorise, call the engine, write in batches,
//!   heartbeats, rate limit, slow-consumer policy.
//! - [`http`]: mounting the socket inside a hyper or axum server, beside the pages.
//! - [`client`]: a Rust client, and [`client::VisitorClient`], which reconnects and resumes
//!   by itself (used by tests, the load generator and partner links).
//! - [`planning`]: the port through which the server assembly plans staffing.
//! - [`reports`]: the port through which the server assembly writes reports.
//! - [`stats`]: counters for metrics (connections, frames, error frames by code).
//! - [`error`]: the crate's one error enum.

pub mod client;
pub mod config;
mod connection;
pub mod error;
pub mod http;
pub mod planning;
pub mod protocol;
pub mod reports;
pub mod server;
pub mod stats;

pub use config::{OriginPolicy, WsConfig};
pub use error::{Error, Result};
pub use server::WsServer;
pub use stats::WsStats;
pub use tokio_tungstenite;
