//! # clbchat-transport-ws
//!
//! The wire protocol on tokio-tungstenite. Not written yet: see issue 3. The engine never
//! sees WebSocket types; this crate will turn a socket into `clbchat_core::engine` session
//! calls and back.
