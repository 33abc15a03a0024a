//! The crash test: a child process appends and acknowledges events while it is killed with
//! SIGKILL at random moments, many times; after each kill every acknowledged event is
//! stored, once, in order, without gaps. On both backends.
//!
//! The child is `clbchat-crash-writer` (src/bin): it prints `ACK <conversation> <seq>` only
//! after `append` returned `Ok`, writing four conversations at once so that the group-commit
//! writer batches across conversations. The test never sleeps: it waits for ACK lines, kills
//! the child after a random number of them (sometimes before the first, during start-up and
//! migration), and the child keeps appending until the kill lands, so the kill falls at an
//! arbitrary point of a batch.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Instant;

use clbchat_core::event::EventBody;
use clbchat_core::ids::ConversationId;
use clbchat_core::store::Store;
use clbchat_store_sql::SqlStore;
use rand::Rng;
use uuid::Uuid;

use crate::helpers::{options, TestDb};

/// Kills per backend.
const ROUNDS: usize = 40;
/// Conversations the child writes at once.
const CONVERSATIONS: usize = 4;
/// The most ACK lines to wait for before a kill.
const MAX_ACKS_BEFORE_KILL: usize = 40;

#[test]
fn sqlite_keeps_every_acknowledged_event_through_sigkill() {
    let db = TestDb::sqlite();
    crash_test(&db, "SQLite", None);
}

/// With the appends file (copied every 5 ms, so that kills land before, during and after
/// copies), and the store that checks opened afresh after each kill without it: it must find
/// what the killed writer left in the appends file and copy it into the log.
#[test]
fn sqlite_with_an_appends_file_keeps_every_acknowledged_event_through_sigkill() {
    let db = TestDb::sqlite();
    crash_test(&db, "SQLite, appends file", Some(5));
}

/// A writer whose appends are never copied (every hour) is killed after a number of
/// acknowledgements; the next start copies every one of them into the log, and removes the
/// appends file when it is not to be used.
#[test]
fn sqlite_copies_what_a_killed_writer_left_in_the_appends_file() {
    let db = TestDb::sqlite();
    let rt = runtime();
    let ids: Vec<Uuid> = (0..CONVERSATIONS).map(|_| Uuid::new_v4()).collect();
    let mut child = writer(&db, &ids, Some(3_600_000));
    let mut lines = BufReader::new(child.stdout.take().expect("the child's stdout")).lines();
    let mut acked = HashMap::new();
    for _ in 0..25 {
        let line = lines
            .next()
            .expect("an ACK line")
            .expect("reading the child's output");
        record(&line, &mut acked, 0);
    }
    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reaping the writer");
    for line in lines {
        record(&line.expect("reading the child's output"), &mut acked, 0);
    }
    let path = db.sqlite_path().expect("an SQLite file");
    let mut appends = path.clone().into_os_string();
    appends.push(".appends");
    assert!(
        std::path::Path::new(&appends).exists(),
        "the writer left no appends file"
    );
    let store = rt.block_on(db.open_with(options()));
    rt.block_on(check(&store, &ids, &acked, 0));
    assert!(
        !std::path::Path::new(&appends).exists(),
        "the emptied appends file was not removed"
    );
    rt.block_on(store.close());
}

#[test]
fn postgres_keeps_every_acknowledged_event_through_sigkill() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        return;
    };
    crash_test(&db, "PostgreSQL", None);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Starts the crash writer on `db` for `ids`; with `move_ms`, through the appends file.
fn writer(db: &TestDb, ids: &[Uuid], move_ms: Option<u64>) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clbchat-crash-writer"));
    command
        .arg(&db.url)
        .env("CLBCHAT_KEY_FILE", db.key_file())
        .args(ids.iter().map(Uuid::to_string))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ms) = move_ms {
        command.env("CLBCHAT_APPENDS_MOVE_MS", ms.to_string());
    }
    command.spawn().expect("starting clbchat-crash-writer")
}

/// `move_ms`: the writer appends through the appends file, copied every that many ms, and
/// the checking store is opened afresh (without it) after every kill.
fn crash_test(db: &TestDb, backend: &str, move_ms: Option<u64>) {
    let rt = runtime();
    let ids: Vec<Uuid> = (0..CONVERSATIONS).map(|_| Uuid::new_v4()).collect();
    let mut acked: HashMap<Uuid, u64> = HashMap::new();
    let mut rng = rand::thread_rng();
    let mut store: Option<SqlStore> = None;
    let mut total_acks = 0usize;
    let started = Instant::now();

    for round in 0..ROUNDS {
        // Round 0 may die during start-up (migrations included); later rounds mostly
        // mid-stream.
        let wait_for = rng.gen_range(0..=MAX_ACKS_BEFORE_KILL);
        let mut child = writer(db, &ids, move_ms);
        let mut lines = BufReader::new(child.stdout.take().expect("the child's stdout")).lines();
        let mut seen = 0;
        while seen < wait_for {
            match lines.next() {
                Some(Ok(line)) => {
                    record(&line, &mut acked, round);
                    seen += 1;
                }
                _ => {
                    let status = child.wait();
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    panic!("round {round}: the writer stopped by itself ({status:?}): {err}");
                }
            }
        }
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reaping the writer");
        // Lines the child printed before the kill landed are acknowledgements too.
        for line in lines {
            let line = line.expect("reading the child's output");
            record(&line, &mut acked, round);
            seen += 1;
        }
        total_acks += seen;

        if move_ms.is_some() {
            // A restart: what the killed writer left in the appends file is copied at open.
            let fresh = rt.block_on(db.open_with(options()));
            rt.block_on(check(&fresh, &ids, &acked, round));
            rt.block_on(fresh.close());
            continue;
        }
        let store = store.get_or_insert_with(|| rt.block_on(db.open_with(options())));
        rt.block_on(check(store, &ids, &acked, round));
    }
    let elapsed = started.elapsed();
    if let Some(store) = store {
        rt.block_on(store.close());
    }
    eprintln!(
        "crash test ({backend}): {ROUNDS} kills, {total_acks} acknowledged events in \
         {CONVERSATIONS} conversations, all kept once and in order; {:.1} s",
        elapsed.as_secs_f64()
    );
    assert!(total_acks > 0, "the crash test acknowledged nothing");
}

/// Notes one `ACK <conversation> <seq>` line; acknowledgements of a conversation only grow.
fn record(line: &str, acked: &mut HashMap<Uuid, u64>, round: usize) {
    let mut parts = line.split_whitespace();
    let (Some("ACK"), Some(id), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("round {round}: unexpected output from the writer: {line:?}")
    };
    let id: Uuid = id.parse().expect("a conversation id");
    let seq: u64 = seq.parse().expect("a seq");
    let last = acked.entry(id).or_insert(0);
    assert!(
        seq > *last,
        "round {round}: {id} acknowledged seq {seq} after {last}: an event was acknowledged twice"
    );
    *last = seq;
}

/// Every acknowledged event is stored, once, in order, with no gaps, and is the right one.
async fn check(store: &SqlStore, ids: &[Uuid], acked: &HashMap<Uuid, u64>, round: usize) {
    for &id in ids {
        let log = store
            .events_after(ConversationId(id), 0)
            .await
            .unwrap_or_else(|e| panic!("round {round}: reading the log of {id}: {e}"));
        let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(
            seqs, expected,
            "round {round}: the log of {id} is not 1, 2, 3... once each"
        );
        let acked = acked.get(&id).copied().unwrap_or(0);
        assert!(
            seqs.len() as u64 >= acked,
            "round {round}: {id} acknowledged up to seq {acked} but only {} are stored",
            seqs.len()
        );
        for e in &log {
            let EventBody::Message { text, .. } = &e.body else {
                panic!("round {round}: unexpected event {e:?}")
            };
            assert_eq!(
                text,
                &format!("crash test {id} {}", e.seq),
                "round {round}: wrong event at seq {}",
                e.seq
            );
        }
    }
}
