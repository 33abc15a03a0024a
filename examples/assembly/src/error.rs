//! The server crate's one error enum. Every variant's text is meant for the deployer who
//! reads it on the console: it names the setting, the file or the address involved.

/// What can go wrong assembling or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is wrong; the text names the setting and what to write.
    #[error("configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The listening address is taken or not ours.
    #[error("cannot listen on {addr}: {source} (set server.listen or CLBCHAT_SERVER__LISTEN to another address)")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The engine or the store refused.
    #[error(transparent)]
    Core(#[from] clbchat_core::Error),
    /// A chart of a report could not be drawn.
    #[error("drawing a chart of the report failed: {0}")]
    Chart(String),
    /// A simulation's input (rates, lengths, schedule, target) is wrong; the text says where
    /// and what to write instead.
    #[error("simulation: {0}")]
    Scenario(String),
    /// A command-line request that cannot be done, with the reason.
    #[error("{0}")]
    Refused(String),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on a path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
