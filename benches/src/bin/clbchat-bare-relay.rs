//! `clbchat-bare-relay`: the ceiling the load generator compares clbchat against: pairs
//! WebSockets by path (`/pair/N` with `/pair/N`) and forwards raw frames both ways, with
//! tokio-tungstenite alone; on `/pair-ack/N` it also acknowledges each frame to its sender,
//! and on `/pair-durable/N` it writes each frame to its SQLite journal (`--journal FILE`)
//! before (see `clbchat_benches::relay`). Run with
//! `cargo run --release -p clbchat-benches --bin clbchat-bare-relay -- --listen 127.0.0.1:0`.

use anyhow::Context as _;
use clap::Parser;

/// A bare WebSocket relay: pairs sockets by request path and forwards frames untouched.
///
/// Prints `clbchat-bare-relay listens on ws://ADDR` on stdout once bound (port 0 picks a
/// free port), and runs until SIGTERM or Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "clbchat-bare-relay", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: std::net::SocketAddr,
    /// The SQLite file that pairs on `/pair-durable/N` write each frame to (durably) before
    /// it is forwarded and acknowledged; created if missing. Without it those pairs are
    /// closed.
    #[arg(long)]
    journal: Option<std::path::PathBuf>,
    /// Lays the journal out by chat: each row also keeps its pair's id and number, under a
    /// unique index on the two, as clbchat's log does (the ceiling of a durable server whose
    /// messages can be read back by chat).
    #[arg(long, requires = "journal")]
    journal_by_chat: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .with_context(|| format!("binding {}", cli.listen))?;
        let addr = listener.local_addr().context("the bound address")?;
        println!("clbchat-bare-relay listens on ws://{addr}");
        let journal = match &cli.journal {
            Some(path) => Some(
                clbchat_benches::journal::Journal::open(
                    path,
                    if cli.journal_by_chat {
                        clbchat_benches::journal::Layout::ByChat
                    } else {
                        clbchat_benches::journal::Layout::Plain
                    },
                )
                .await
                .with_context(|| format!("opening the journal {}", path.display()))?,
            ),
            None => None,
        };
        clbchat_benches::relay::serve_with_journal(listener, stop_signal(), journal).await;
        Ok(())
    })
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
