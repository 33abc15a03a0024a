//! Store appends per second: SQLite durable (`synchronous=FULL`), SQLite's faster mode
//! (`synchronous=NORMAL`) and PostgreSQL, each with group commit (the default: up to 256
//! appends per transaction, waiting at most 2 ms) and with one row per transaction
//! (`group_commit_max_batch = 1`). One round is 64 conversations appending one event each
//! at the same time, as 64 live chats do; throughput is in appends.
//!
//! PostgreSQL runs when `CLBCHAT_BENCH_POSTGRES_URL` (or the tests'
//! `CLBCHAT_TEST_POSTGRES_URL`) names a server, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`; each run uses a fresh schema and drops it.

use std::time::{Duration, Instant};

use chrono::Utc;
use clbchat_benches::fixtures;
use clbchat_core::event::{ClientProfile, EventBody, LoggedEvent, Role};
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId};
use clbchat_core::store::{ConversationMeta, ConversationState, Store};
use clbchat_store_sql::{Durability, SqlOptions, SqlStore};
use criterion::{BenchmarkId, Criterion, Throughput};
use sqlx::Connection as _;

/// Conversations appending at once in one round.
const CONCURRENT: usize = 64;

struct Bench {
    store: SqlStore,
    conversations: Vec<(ConversationId, u64)>,
}

impl Bench {
    async fn new(url: &str, durability: Durability, max_batch: usize) -> Bench {
        let mut options = SqlOptions::new();
        options.durability = durability;
        options.group_commit_max_batch = max_batch;
        if url.starts_with("postgres") {
            // A key file of its own for each run (its schema is fresh too).
            options.key_file = Some(std::env::temp_dir().join(format!(
                "clbchat-bench-{}.keys",
                uuid::Uuid::new_v4().simple()
            )));
        }
        let store = SqlStore::connect(url, options)
            .await
            .unwrap_or_else(|e| panic!("opening the bench database {url}: {e}"));
        let mut conversations = Vec::with_capacity(CONCURRENT);
        for _ in 0..CONCURRENT {
            let id = ConversationId::random();
            let meta = ConversationMeta {
                id,
                desk: DeskId::new(fixtures::DESK),
                pseudonym: None,
                profile: ClientProfile::default(),
                state: ConversationState::Active,
                counsellor: None,
                arrived_at: Utc::now(),
                started_at: Some(Utc::now()),
                ended_at: None,
                end_reason: None,
                resume_token_hash: "bench".into(),
            };
            store.put_conversation(&meta).await.expect("a conversation");
            conversations.push((id, 0));
        }
        Bench {
            store,
            conversations,
        }
    }

    /// One round: every conversation appends its next message, all at once.
    async fn round(&mut self) {
        let now = Utc::now();
        let events: Vec<LoggedEvent> = self
            .conversations
            .iter_mut()
            .map(|(id, seq)| {
                *seq += 1;
                LoggedEvent {
                    conversation: *id,
                    seq: *seq,
                    at: now,
                    body: EventBody::Message {
                        from: Role::Client,
                        author: "Mila".into(),
                        text: "Ik moet volgend jaar kiezen tussen Latijn en STEM.".into(),
                        client_msg_id: ClientMsgId::new(format!("m{seq}")),
                    },
                }
            })
            .collect();
        let appends = events.iter().map(|e| self.store.append(e));
        for r in futures::future::join_all(appends).await {
            r.expect("an append");
        }
    }
}

fn postgres_url() -> Option<String> {
    ["CLBCHAT_BENCH_POSTGRES_URL", "CLBCHAT_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// A fresh schema on the server and the URL that uses it.
async fn postgres_schema(admin: &str, name: &str) -> String {
    let mut c = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} cannot be reached: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE"
    )))
    .execute(&mut c)
    .await
    .expect("dropping an old bench schema");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut c)
        .await
        .expect("creating the bench schema");
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options%5Bsearch_path%5D={name}")
}

async fn drop_schema(admin: &str, name: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&mut c)
        .await;
    }
}

fn store(c: &mut Criterion) {
    let rt = fixtures::runtime();
    let dir = std::env::temp_dir().join(format!("clbchat-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let mut group = c.benchmark_group("store_append");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(CONCURRENT as u64));

    let mut cases: Vec<(String, String, Durability, Option<String>)> = Vec::new();
    for (name, durability) in [
        ("sqlite_full", Durability::Full),
        ("sqlite_normal", Durability::Normal),
    ] {
        let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
        cases.push((name.into(), url, durability, None));
    }
    match postgres_url() {
        Some(admin) => {
            let schema = format!("clbchat_bench_{}", std::process::id());
            let url = rt.block_on(postgres_schema(&admin, &schema));
            cases.push(("postgres".into(), url, Durability::Full, Some(admin)));
        }
        None => eprintln!(
            "store_append/postgres: NOT RUN: set CLBCHAT_BENCH_POSTGRES_URL (or \
             CLBCHAT_TEST_POSTGRES_URL), e.g. postgres://postgres@127.0.0.1:5432/test"
        ),
    }
    for (name, url, durability, _) in &cases {
        for (mode, batch) in [
            (
                "group_commit",
                clbchat_store_sql::DEFAULT_GROUP_COMMIT_MAX_BATCH,
            ),
            ("one_row_per_transaction", 1),
        ] {
            let mut bench = rt.block_on(Bench::new(url, *durability, batch));
            group.bench_function(BenchmarkId::new(name.as_str(), mode), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let t = Instant::now();
                        for _ in 0..iters {
                            bench.round().await;
                        }
                        t.elapsed()
                    })
                });
            });
            rt.block_on(bench.store.close());
        }
    }
    group.finish();
    for (_, _, _, admin) in &cases {
        if let Some(admin) = admin {
            rt.block_on(drop_schema(
                admin,
                &format!("clbchat_bench_{}", std::process::id()),
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// What `criterion_group!`/`criterion_main!` expand to, written out: the macro's public
// function would need documentation the workspace lints ask for.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    store(&mut c);
    c.final_summary();
}
