//! # clbchat-server: the reference servers, as a library the binaries share
//!
//! The crate assembles the engine ([`clbchat_core`]), the WebSocket transport
//! ([`clbchat_transport_ws`]) and the SQL store ([`clbchat_store_sql`]) into a server with
//! pages, a JSON API for them, health, readiness and metrics on one port. The `clbchat`
//! binary runs the national desk; the blended-chat and chat-met-je-CLB servers are meant to
//! be thin binaries over the same [`app::App`] with other desk settings.
//!
//! - [`settings`]: the TOML file and `CLBCHAT_*` environment overrides.
//! - [`app`]: start, serve, stop gracefully; the retention purge.
//! - [`http`]: routes, pages and assets (compiled in), security headers.
//! - [`metrics`]: Prometheus metrics, fed by the engine's observer port.
//! - [`bootstrap`]: the one-time link that creates the first coordinator.
//! - [`keys`]: the pseudonym key file.
//! - [`partner`]: partner lines reached by a link.
//! - [`demo_data`]: a synthetic school year played through the engine and the store.
//! - [`report`]: the annual report as markdown, CSV and HTML with charts.
//! - [`cli`]: the command line (`serve`, `migrate`, `accounts`, `keys`, `config`).
//! - [`error`]: the crate's one error enum.

pub mod app;
pub mod blended;
pub mod bootstrap;
pub mod boxes;
pub mod centres;
pub mod cli;
pub mod demo_data;
pub mod edge;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod partner;
pub mod report;
pub mod service;
pub mod settings;
pub mod simulate;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::App;
pub use error::{Error, Result};
pub use settings::Settings;

/// Libraries whose own detailed logs would show frame contents (tungstenite traces every
/// message it reads, passwords and chat text included) or connection details: capped at
/// these levels whatever `log.level` or `RUST_LOG` asks for.
pub const LOG_CAPS: &str = "tungstenite=info,tokio_tungstenite=info,hyper=info,hyper_util=info,\
                            h2=info,sqlx=warn,axum=info,tower=info";

/// Sets up `tracing` output on stderr as the settings say; `RUST_LOG` wins over
/// `log.level`, and [`LOG_CAPS`] win over both. Call once.
pub fn init_logging(settings: &settings::LogSettings) {
    use tracing_subscriber::EnvFilter;
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| settings.level.clone());
    let filter = EnvFilter::try_new(format!("{base},{LOG_CAPS}"))
        .or_else(|_| EnvFilter::try_new(format!("info,{LOG_CAPS}")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal: a journal, a file or a log collector gets
    // plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        settings::LogFormat::Text => builder.try_init(),
        settings::LogFormat::Json => builder.json().try_init(),
    };
}
