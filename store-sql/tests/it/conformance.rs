//! The core's conformance suite against every store: memory, SQLite (file and in memory)
//! and PostgreSQL. Each check gets a fresh, empty database.

use std::sync::{Arc, Mutex};

use clbchat_core::store::conformance::run_all;
use clbchat_core::store::memory::MemoryStore;
use clbchat_store_sql::{SqlOptions, SqlStore};

use crate::helpers::{options, TestDb};

#[tokio::test]
async fn memory_store_conforms() {
    run_all(|| async { MemoryStore::new() }).await;
}

#[tokio::test]
async fn sqlite_file_store_conforms() {
    sqlite_file_conforms(|_| {}).await;
}

/// A fresh SQLite file per check, opened with the test options as `configure` changes them.
async fn sqlite_file_conforms(configure: impl Fn(&mut SqlOptions)) {
    let dbs = Arc::new(Mutex::new(Vec::new()));
    run_all(|| {
        let dbs = dbs.clone();
        let mut o = options();
        configure(&mut o);
        async move {
            let db = TestDb::sqlite();
            let store = db.open_with(o).await;
            dbs.lock().expect("lock").push(db);
            store
        }
    })
    .await;
}

/// Through the appends file, copied into the log once an hour: every read by chat joins
/// the log with what is not copied yet, everything else waits for a copy.
#[tokio::test]
async fn sqlite_store_with_an_appends_file_conforms() {
    appends_file_conforms(std::time::Duration::from_secs(3600)).await;
}

/// Through the appends file, copied every millisecond: reads race the copies.
#[tokio::test]
async fn sqlite_store_with_an_appends_file_copied_all_the_time_conforms() {
    appends_file_conforms(std::time::Duration::from_millis(1)).await;
}

async fn appends_file_conforms(every: std::time::Duration) {
    sqlite_file_conforms(|o| {
        o.sqlite_appends_file = true;
        o.sqlite_move_interval = every;
    })
    .await;
}

#[tokio::test]
async fn sqlite_memory_store_conforms() {
    run_all(|| async {
        SqlStore::connect("sqlite::memory:", SqlOptions::new())
            .await
            .expect("sqlite::memory:")
    })
    .await;
}

#[tokio::test]
async fn sqlite_store_without_batching_delay_conforms() {
    // Group commit with no waiting: batches are only what is already queued.
    sqlite_file_conforms(|o| {
        o.group_commit_max_delay = std::time::Duration::ZERO;
        o.group_commit_max_batch = 3;
    })
    .await;
}

#[tokio::test]
async fn postgres_store_conforms() {
    if crate::helpers::postgres_url().is_none() {
        return;
    }
    let dbs = Arc::new(Mutex::new(Vec::new()));
    run_all(|| {
        let dbs = dbs.clone();
        async move {
            let db = TestDb::postgres()
                .await
                .expect("a PostgreSQL test database");
            let store = db.open().await;
            dbs.lock().expect("lock").push(db);
            store
        }
    })
    .await;
}
