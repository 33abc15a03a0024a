//! The crate's one error type.

use std::time::Duration;

/// What can go wrong in a load run or in the bare relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line or the parameters do not fit together; the text says what to write.
    #[error("{0}")]
    Usage(String),
    /// A WebSocket could not be opened or broke.
    #[error("{what}: {source}")]
    WebSocket {
        /// Which connection, doing what.
        what: String,
        /// tungstenite's error.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// Plain socket or file I/O.
    #[error("{what}: {source}")]
    Io {
        /// Doing what.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server answered something the protocol does not allow here (a peer controls
    /// this input, so it is an error, never a panic).
    #[error("{what}: unexpected answer from the server: {got}")]
    Protocol {
        /// Which connection, doing what.
        what: String,
        /// What came (shortened).
        got: String,
    },
    /// The server refused a request with an error frame.
    #[error("{what}: the server refused: {code}: {message}")]
    Refused {
        /// Doing what.
        what: String,
        /// The stable error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The protocol client failed (a burst run's visitors and staff).
    #[error("{what}: {source}")]
    Client {
        /// Doing what.
        what: String,
        /// Why.
        #[source]
        source: clbchat_transport_ws::Error,
    },
    /// The relay's SQLite journal could not be opened or prepared.
    #[error("{what}: {source}")]
    Journal {
        /// Doing what.
        what: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// Something did not happen in time.
    #[error("{what}: nothing after {after:?}")]
    Timeout {
        /// Waiting for what.
        what: String,
        /// How long it waited.
        after: Duration,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A protocol client's failure while doing `what`; the server's refusals become
    /// [`Error::Refused`].
    pub fn client(what: impl Into<String>, source: clbchat_transport_ws::Error) -> Self {
        match source {
            clbchat_transport_ws::Error::Server { code, message } => Error::Refused {
                what: what.into(),
                code,
                message,
            },
            source => Error::Client {
                what: what.into(),
                source,
            },
        }
    }

    /// A WebSocket error with context.
    pub fn ws(what: impl Into<String>, source: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// An I/O error with context.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// An unexpected frame, shortened to 200 characters for the message.
    pub fn protocol(what: impl Into<String>, got: &str) -> Self {
        Error::Protocol {
            what: what.into(),
            got: got.chars().take(200).collect(),
        }
    }
}
