//! The crate's one error type.

/// What can go wrong in the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Binding or accepting failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with an error frame.
    #[error("{code}: {message}")]
    Server {
        /// The error code.
        code: String,
        /// The message.
        message: String,
    },
    /// The server said something the client did not expect.
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
    /// The connection closed.
    #[error("the connection closed{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
