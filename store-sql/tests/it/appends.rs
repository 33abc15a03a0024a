//! The appends file (SQLite, `SqlOptions::sqlite_appends_file`): reads see what is not
//! copied into the log yet, whatever reads the log's table waits for a copy, the sequence
//! rule holds across the two files, and one server per database. (What a killed writer
//! leaves in the appends file: `crash.rs`. Everything else a store must do: the conformance
//! suite, run on it in `conformance.rs`.)

use std::time::Duration;

use clbchat_core::error::StoreErrorKind;
use clbchat_core::event::LoggedEvent;
use clbchat_core::store::Store;
use clbchat_store_sql::{SqlOptions, SqlStore};
use sqlx::Connection;

use crate::helpers::{
    active_chat as meta, options, time_warning as event, transcript_read, TestDb,
};

/// Appends through the appends file, copied into the log once an hour (so, in a test,
/// only when something asks for it).
fn with_appends_file() -> SqlOptions {
    let mut o = options();
    o.sqlite_appends_file = true;
    o.sqlite_move_interval = Duration::from_secs(3600);
    o
}

/// The rows of the log's table, counted on a connection of its own.
async fn rows_in_log(db: &TestDb) -> i64 {
    let mut c = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connecting beside the store");
    let n = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut c)
        .await
        .expect("counting the log's rows");
    let _ = c.close().await;
    n
}

fn seqs(log: &[LoggedEvent]) -> Vec<u64> {
    log.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn sqlite_reads_what_is_not_copied_yet_and_copies_before_a_transcript() {
    let db = TestDb::sqlite();
    let store = db.open_with(with_appends_file()).await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    for seq in 1..=3 {
        store.append(&event(m.id, seq)).await.expect("append");
    }
    assert_eq!(rows_in_log(&db).await, 0, "copied before anything asked");
    // A read by chat (a resume) sees them all, from any point.
    assert_eq!(
        seqs(&store.events_after(m.id, 0).await.expect("read")),
        [1, 2, 3]
    );
    assert_eq!(seqs(&store.events_after(m.id, 2).await.expect("read")), [3]);
    // The sequence rule holds though the log's table has nothing yet.
    let e = store
        .append(&event(m.id, 3))
        .await
        .expect_err("a seq that was already written");
    assert_eq!(e.store_kind(), Some(StoreErrorKind::Conflict), "{e}");

    // A transcript read copies first, and reads them from the log.
    let transcript = store
        .read_transcript(&transcript_read(m.id))
        .await
        .expect("read_transcript");
    assert_eq!(seqs(&transcript), [1, 2, 3]);
    assert_eq!(rows_in_log(&db).await, 3);

    // One more after the copy: a read by chat joins the log and what is not copied, once.
    store.append(&event(m.id, 4)).await.expect("append");
    let log = store.events_after(m.id, 0).await.expect("read");
    assert_eq!(seqs(&log), [1, 2, 3, 4]);
    assert_eq!(log[3], event(m.id, 4));
    // Closing copies the rest.
    store.close().await;
    assert_eq!(rows_in_log(&db).await, 4);

    // And a store opened without the appends file finds them all.
    let again = db.open().await;
    assert_eq!(
        seqs(&again.events_after(m.id, 0).await.expect("read")),
        [1, 2, 3, 4]
    );
    again.close().await;
}

#[tokio::test]
async fn sqlite_refuses_a_second_server_on_the_same_database() {
    let db = TestDb::sqlite();
    let mut o = with_appends_file();
    o.busy_timeout = Duration::from_millis(100);
    let first = db.open_with(o.clone()).await;
    let mut second = o.clone();
    second.key_file = Some(db.key_file());
    let e = SqlStore::connect(&db.url, second)
        .await
        .expect_err("a second server on the same database");
    assert!(
        e.to_string().contains("another clbchat server"),
        "the refusal does not say why: {e}"
    );
    // The first is undisturbed, and once it stops another may start.
    let m = meta();
    first.put_conversation(&m).await.expect("put_conversation");
    first.append(&event(m.id, 1)).await.expect("append");
    first.close().await;
    let next = db.open_with(o).await;
    assert_eq!(seqs(&next.events_after(m.id, 0).await.expect("read")), [1]);
    next.close().await;
}
