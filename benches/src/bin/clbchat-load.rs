//! `clbchat-load`: N visitors and M counsellors over real WebSockets against a running
//! server. Run with `cargo run --release -p clbchat-benches --bin clbchat-load -- --help`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use clbchat_benches::load::{self, ClientLimit, LoadConfig, Mode, Staff};
use clbchat_benches::report::{self, Report};
use clbchat_benches::wire::Target;

/// Load generator for clbchat, the bare relay and a socket.io relay.
///
/// Opens N visitors (and, on clbchat, M counsellors who go online) over real WebSockets,
/// opens the visitors all at once (a connect storm), holds them idle, then has every
/// visitor send chat messages that its counsellor receives, and checks that each message
/// arrived once. Reports messages per second delivered, delivery latency percentiles
/// (visitor send → counsellor receive, HDR histogram), connections opened per second, and
/// the server's memory per connection (with --server-pid), as JSON and a markdown table.
///
/// Examples (see benches/README.md):
///
///   clbchat-load --target relay --url ws://127.0.0.1:9001 --visitors 1000 --mode max
///
///   clbchat-load --url ws://127.0.0.1:8080/ws \
///       --setup-link 'http://127.0.0.1:8080/setup#token=…' \
///       --visitors 2000 --counsellors 100 --mode fixed --rate 2 \
///       --server-pid 1234 --json out.json
///
///   clbchat-load compare benches/results/raw --markdown summary.md
#[derive(Debug, Parser)]
#[command(
    verbatim_doc_comment,
    name = "clbchat-load",
    version,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chat-met-je-CLB's burst: a study fair's chats in compressed days at one centre with
    /// a reception team, against a fresh `chat-met-je-clb` server (see benches/burst.sh).
    /// Fails when a message is lost or doubled, a queue position rises, a visitor is
    /// overtaken or not served, or the server's report disagrees.
    StudyFair(Box<FairArgs>),
    /// Turns a folder of run reports (JSON) into the ratios and targets of issue 6.
    Compare {
        /// The folder with the runs' JSON files (named by `benches/run.sh`'s labels).
        dir: PathBuf,
        /// Write the comparison as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the comparison as markdown here (it is printed either way).
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct FairArgs {
    /// The server's WebSocket address.
    #[arg(long, default_value = "ws://127.0.0.1:8082/ws")]
    url: String,
    /// The one-time setup link the fresh server printed (makes the administrator).
    #[arg(long)]
    setup_link: Option<String>,
    /// The administrator's user name.
    #[arg(long, default_value = "fair-admin")]
    admin: String,
    /// Every account's password.
    #[arg(
        long,
        env = "CLBCHAT_LOAD_PASSWORD",
        default_value = "load generator password"
    )]
    password: String,
    /// The centre's id.
    #[arg(long, default_value = "sid-in")]
    centre: String,
    /// Visitors over the fair.
    #[arg(long, default_value_t = 1000)]
    chats: usize,
    /// Counsellors in the team.
    #[arg(long, default_value_t = 8)]
    team: usize,
    /// Chats each counsellor holds at once.
    #[arg(long, default_value_t = 2)]
    capacity: u32,
    /// Days of the fair.
    #[arg(long, default_value_t = 3)]
    days: u32,
    /// Opening hours a day.
    #[arg(long, default_value_t = 7.0)]
    hours_per_day: f64,
    /// How much faster than real time.
    #[arg(long, default_value_t = 300.0)]
    compress: f64,
    /// The mean chat in the fair's minutes.
    #[arg(long, default_value_t = 11.0)]
    mean_chat_minutes: f64,
    /// Messages a visitor sends (each answered).
    #[arg(long, default_value_t = 4)]
    messages: u32,
    /// Share of parents.
    #[arg(long, default_value_t = 42.0 / 1017.0)]
    parents_share: f64,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as markdown here (it is printed either way).
    #[arg(long)]
    markdown: Option<PathBuf>,
}

impl FairArgs {
    fn config(&self) -> clbchat_benches::burst::BurstConfig {
        let origin = self
            .url
            .strip_prefix("ws://")
            .and_then(|r| r.split('/').next())
            .map(|host| format!("http://{host}"));
        clbchat_benches::burst::BurstConfig {
            url: self.url.clone(),
            origin,
            setup_link: self.setup_link.clone(),
            admin: self.admin.clone(),
            password: self.password.clone(),
            centre: self.centre.clone(),
            chats: self.chats,
            team: self.team,
            capacity: self.capacity,
            days: self.days,
            hours_per_day: self.hours_per_day,
            compress: self.compress,
            mean_chat_minutes: self.mean_chat_minutes,
            messages: self.messages,
            parents_share: self.parents_share,
            seed: self.seed,
        }
    }
}

fn study_fair(args: &FairArgs) -> anyhow::Result<()> {
    let config = args.config();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let report = runtime.block_on(clbchat_benches::burst::run(&config))?;
    let md = report.markdown(&config);
    print!("{md}");
    write(args.markdown.as_deref(), &md)?;
    write(
        args.json.as_deref(),
        &serde_json::to_string_pretty(&serde_json::json!({ "config": config, "report": report }))?,
    )?;
    let problems = report.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("the fair broke a promise: {}", problems.join("; "))
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The server's WebSocket address: clbchat `ws://HOST:PORT/ws`, relays `ws://HOST:PORT`.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// What the server is.
    #[arg(long, value_enum, default_value_t = Target::Clbchat)]
    target: Target,
    /// A name for this run in the report.
    #[arg(long, default_value = "run")]
    label: String,
    /// Visitors: one conversation each.
    #[arg(long, default_value_t = 100)]
    visitors: usize,
    /// Counsellors (clbchat), each with capacity ceil(visitors / counsellors). The relays
    /// pair one partner socket with each visitor instead.
    #[arg(long, default_value_t = 10)]
    counsellors: usize,
    /// `max`: closed loop, as fast as deliveries and acknowledgements allow (see --window);
    /// `fixed`: open loop at --rate messages per second per conversation.
    #[arg(long, value_parser = ["max", "fixed"], default_value = "fixed")]
    mode: String,
    /// Fixed mode: messages per second per conversation.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Max mode: messages in flight (sent, not yet delivered) per conversation.
    #[arg(long, default_value_t = 1)]
    window: u32,
    /// The client's own rate limit per visitor connection, in frames per second (burst
    /// three seconds' worth): by default the clbchat server's limit (10/s, burst 30), so a
    /// well-behaved client is never refused. 0: no limit.
    #[arg(long, default_value_t = 10.0)]
    client_limit: f64,
    /// Seconds of traffic before measuring.
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds every connection stays idle before traffic (idle memory is read then).
    #[arg(long, default_value_t = 2.0)]
    idle: f64,
    /// Seconds the messages sent may take to arrive after sending stops.
    #[arg(long, default_value_t = 15.0)]
    drain_timeout: f64,
    /// Seconds setup and the connect storm may take.
    #[arg(long, default_value_t = 300.0)]
    setup_timeout: f64,
    /// Bytes of each message's text.
    #[arg(long, default_value_t = 100)]
    message_bytes: usize,
    /// Sockets opening at once in the connect storm.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// The Origin header; default http://HOST:PORT of --url (the clbchat server allows its
    /// own address). An empty string sends none.
    #[arg(long)]
    origin: Option<String>,
    /// clbchat: the desk.
    #[arg(long, default_value = "clbchat")]
    desk: String,
    /// clbchat: a coordinator's user name (created with --setup-link on a fresh server).
    #[arg(long, default_value = "load-coordinator")]
    coordinator: String,
    /// clbchat: the coordinator's password, also given to the counsellor accounts.
    #[arg(
        long,
        env = "CLBCHAT_LOAD_PASSWORD",
        default_value = "load generator password"
    )]
    password: String,
    /// clbchat: the one-time setup link the server printed, to create the coordinator.
    #[arg(long)]
    setup_link: Option<String>,
    /// The server's process id: its memory (VmRSS) is read before, idle and under load.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as a markdown table here (it is printed either way).
    #[arg(long)]
    markdown: Option<PathBuf>,
}

fn secs(what: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("--{what}: {s} is not a duration in seconds"))
}

impl RunArgs {
    fn config(&self) -> anyhow::Result<LoadConfig> {
        let mode = match self.mode.as_str() {
            "max" => Mode::Max {
                window: self.window,
            },
            _ => Mode::Fixed { rate: self.rate },
        };
        let client_limit = (self.client_limit > 0.0).then(|| ClientLimit {
            burst: (self.client_limit * 3.0).ceil() as u32,
            per_sec: self.client_limit,
        });
        Ok(LoadConfig {
            url: self.url.clone(),
            target: self.target,
            label: self.label.clone(),
            visitors: self.visitors,
            counsellors: self.counsellors,
            mode,
            client_limit,
            warmup: secs("warmup", self.warmup)?,
            duration: secs("duration", self.duration)?,
            idle: secs("idle", self.idle)?,
            drain_timeout: secs("drain-timeout", self.drain_timeout)?,
            setup_timeout: secs("setup-timeout", self.setup_timeout)?,
            message_bytes: self.message_bytes,
            connect_concurrency: self.connect_concurrency,
            origin: self.origin.clone(),
            desk: self.desk.clone(),
            staff: Some(Staff {
                coordinator: self.coordinator.clone(),
                password: self.password.clone(),
                setup_link: self.setup_link.clone(),
            }),
            server_pid: self.server_pid,
        })
    }
}

fn write(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    if let Some(p) = path {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn compare(dir: &Path, json: Option<&Path>, markdown: Option<&Path>) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let run: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a clbchat-load report", p.display()))?;
        runs.push(run);
    }
    let c = report::compare(runs);
    let md = c.markdown();
    print!("{md}");
    write(markdown, &md)?;
    write(json, &serde_json::to_string_pretty(&c)?)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::StudyFair(args)) = &cli.command {
        return study_fair(args);
    }
    if let Some(Command::Compare {
        dir,
        json,
        markdown,
    }) = &cli.command
    {
        return compare(dir, json.as_deref(), markdown.as_deref());
    }
    let args = &cli.run;
    let cfg = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    eprintln!(
        "clbchat-load: {} against {:?} at {}: {} visitors, {} connections",
        cfg.label,
        cfg.target,
        cfg.url,
        cfg.visitors,
        cfg.connections()
    );
    let report = runtime
        .block_on(load::run(cfg))
        .with_context(|| format!("load run `{}`", args.label))?;
    let md = report.markdown();
    print!("{md}");
    if !report.nothing_lost {
        eprintln!(
            "clbchat-load: NOT everything arrived: {:?}; {:?}",
            report.counts, report.close_reasons
        );
    }
    write(args.markdown.as_deref(), &md)?;
    write(
        args.json.as_deref(),
        &serde_json::to_string_pretty(&report)?,
    )?;
    Ok(())
}
