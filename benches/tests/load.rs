//! The load generator end to end, small: against the bare relay and against a real
//! clbchat server (in this process, on the in-memory store), every message must arrive
//! once. The phases are timed (a second of traffic); nothing waits on a sleep to
//! synchronise.

use std::time::Duration;

use clbchat_benches::load::{self, ClientLimit, LoadConfig, Mode, Staff};
use clbchat_benches::wire::Target;

fn config(target: Target, url: String, mode: Mode) -> LoadConfig {
    LoadConfig {
        url,
        target,
        label: format!("{target:?}"),
        visitors: 6,
        counsellors: 2,
        mode,
        client_limit: Some(ClientLimit {
            burst: 30,
            per_sec: 10.0,
        }),
        warmup: Duration::from_millis(200),
        duration: Duration::from_secs(1),
        idle: Duration::ZERO,
        drain_timeout: Duration::from_secs(10),
        setup_timeout: Duration::from_secs(60),
        message_bytes: 64,
        connect_concurrency: 4,
        origin: None,
        desk: "clbchat".into(),
        staff: Some(Staff {
            coordinator: "load-coordinator".into(),
            password: "load generator password".into(),
            setup_link: None,
        }),
        server_pid: Some(std::process::id()),
    }
}

/// A closed-loop run against the relay in this process: every message arrives once.
async fn every_message_crosses_the_relay_once(target: Target) -> clbchat_benches::report::Counts {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let dir = std::env::temp_dir().join(format!(
        "clbchat-load-relay-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let journal = match target {
        Target::RelayDurable => {
            std::fs::create_dir_all(&dir).expect("a folder");
            let journal = clbchat_benches::journal::Journal::open(
                &dir.join("journal.db"),
                clbchat_benches::journal::Layout::ByChat,
            )
            .await
            .expect("the journal opens");
            Some(journal)
        }
        _ => None,
    };
    let relay = tokio::spawn(clbchat_benches::relay::serve_with_journal(
        listener,
        async {
            let _ = stopped.await;
        },
        journal,
    ));
    let cfg = config(target, format!("ws://{addr}"), Mode::Max { window: 2 });
    let report = load::run(cfg).await.expect("a load run");
    assert!(report.nothing_lost, "{report:#?}");
    assert_eq!(report.counts.delivered, report.counts.sent);
    assert!(report.counts.sent > 6, "{:?}", report.counts);
    assert!(report.latency.count > 0);
    let _ = stop.send(());
    relay.await.expect("the relay stops");
    let _ = std::fs::remove_dir_all(&dir);
    report.counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_crosses_the_bare_relay_once() {
    let counts = every_message_crosses_the_relay_once(Target::Relay).await;
    assert_eq!(counts.acked, None, "the bare relay acknowledges nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_crosses_the_acknowledging_relay_once_and_is_acknowledged() {
    let counts = every_message_crosses_the_relay_once(Target::RelayAck).await;
    assert_eq!(counts.acked, Some(counts.sent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_reaches_a_counsellor_of_a_real_server_once_and_is_acknowledged() {
    let dir = std::env::temp_dir().join(format!("clbchat-load-test-{}", std::process::id()));
    let mut settings = clbchat_assembly::Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().expect("an address");
    settings.storage.url = "memory:".into();
    settings.pseudonyms.key_file = dir.join("pseudonym-keys.toml");
    let app = clbchat_assembly::App::start(settings)
        .await
        .expect("the server starts");
    let running = app.spawn();
    let link = running
        .setup_link
        .clone()
        .expect("a fresh server prints a setup link");
    let mut cfg = config(
        Target::Clbchat,
        format!("ws://{}/ws", running.addr),
        Mode::Fixed { rate: 5.0 },
    );
    if let Some(s) = cfg.staff.as_mut() {
        s.setup_link = Some(link);
    }
    let report = load::run(cfg).await.expect("a load run");
    assert!(report.nothing_lost, "{report:#?}");
    assert_eq!(report.counts.acked, Some(report.counts.sent));
    assert_eq!(report.counts.delivered, report.counts.sent);
    assert_eq!(report.counts.rate_limited, 0);
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_crosses_the_durable_relay_once_and_is_acknowledged() {
    let counts = every_message_crosses_the_relay_once(Target::RelayDurable).await;
    assert_eq!(counts.acked, Some(counts.sent));
}
