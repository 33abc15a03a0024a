//! `clbchat-hostile`: a million hostile frames against a running clbchat server while a
//! canary chat goes on. Run with `bash benches/hostile.sh` (it starts a fresh server), or
//! `cargo run --release -p clbchat-benches --bin clbchat-hostile -- --help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clbchat_benches::hostile::{self, Config};

/// Sends mutations of the protocol's golden client frames (bit flips, truncation, type
/// swaps, huge numbers, deep nesting, doubled keys, unknown types, wrong-role frames) over
/// many real WebSockets to a running clbchat server, while a canary chat exchanges a message
/// each way every few hundred milliseconds. Passes when the server still answers, the
/// canary never missed a message and the server's memory stayed flat (with --server-pid).
/// Exit code 0 when it passed, 1 when not, 2 on a usage or setup error.
///
/// Example (benches/hostile.sh does this on a fresh server):
///
///   clbchat-hostile --url ws://127.0.0.1:8080/ws \
///       --setup-link 'http://127.0.0.1:8080/setup#token=…' --server-pid 1234
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment, name = "clbchat-hostile", version)]
struct Cli {
    /// The server's socket.
    #[arg(long)]
    url: String,
    /// The `Origin` header (default: the server's own address, from --url).
    #[arg(long)]
    origin: Option<String>,
    /// The fresh server's one-time setup link (the canary's staff side is the first
    /// coordinator).
    #[arg(long)]
    setup_link: String,
    /// The golden client frames.
    #[arg(long, default_value = "transport-ws/tests/golden")]
    golden: PathBuf,
    /// Hostile frames in all.
    #[arg(long, default_value_t = 1_000_000)]
    frames: u64,
    /// Connections sending them at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// The mutations' seed.
    #[arg(long, default_value_t = 20_261_204)]
    seed: u64,
    /// The server's process id, to sample its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A canary exchange every this many milliseconds.
    #[arg(long, default_value_t = 200)]
    canary_every_ms: u64,
    /// The whole run at most, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
    /// Write the outcome as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let origin = cli.origin.clone().or_else(|| {
        cli.url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .map(|host| format!("http://{host}"))
    });
    let cfg = Config {
        url: cli.url,
        origin,
        setup_link: cli.setup_link,
        golden: cli.golden,
        frames: cli.frames,
        connections: cli.connections.max(1),
        seed: cli.seed,
        pid: cli.server_pid,
        canary_every: Duration::from_millis(cli.canary_every_ms.max(10)),
        timeout: Duration::from_secs(cli.timeout_secs.max(1)),
    };
    let outcome = match hostile::run(&cfg).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("clbchat-hostile: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    print!("{}", outcome.markdown());
    if let Some(path) = cli.json {
        let text = serde_json::to_string_pretty(&outcome).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("clbchat-hostile: writing {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
    }
    if outcome.passed() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
