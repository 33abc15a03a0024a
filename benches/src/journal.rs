//! The least a durable acknowledgement costs with SQLite: the relay's journal.
//!
//! The relay on `/pair-durable/<n>` writes each text frame into this journal and forwards
//! and acknowledges it only once the journal has it on disk. The journal is what a durable
//! chat server cannot do with less, with SQLite as its store: one table of rows in the
//! order written (rowid only, no other index, no encryption, no JSON), one writer, group
//! commit as soon as the writer is free (every frame that came while the last batch was
//! written is the next batch, one multi-row `INSERT` in one transaction), write-ahead log,
//! `synchronous=FULL`. The load generator's `relay-durable` target against it, beside
//! `relay-ack`, gives the ceiling of "durable / in memory" on the machine, which clbchat's
//! own ratio (SQLite durable / in memory) is compared to in `benches/README.md`.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Frames waiting for the writer, at most.
const QUEUE: usize = 4096;
/// Frames per batch, at most (and per `INSERT`: one parameter each, far below SQLite's
/// limit).
const BATCH: usize = 1024;

type Entry = (String, oneshot::Sender<bool>);

/// A handle to the journal's writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    queue: mpsc::Sender<Entry>,
}

impl Journal {
    /// Opens (creating) the journal file at `path` and starts its writer on a thread of its
    /// own, as clbchat's group commit does for SQLite.
    pub async fn open(path: &Path) -> Result<Journal> {
        let url = format!("sqlite://{}", path.display());
        let journal = |what: &str| {
            let what = format!("{what} the journal `{url}`");
            move |source| Error::Journal { what, source }
        };
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(journal("reading the address of"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(journal("opening"))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, frame TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .map_err(journal("creating the table of"))?;
        let (queue, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("relay-journal".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(write(pool, rx)),
                    Err(e) => eprintln!("clbchat-bare-relay: the journal cannot start: {e}"),
                }
            })
            .map_err(|e| Error::io("starting the journal's writer thread", e))?;
        Ok(Journal { queue })
    }

    /// Writes `frame` durably: true once it is committed, false if the journal failed.
    pub async fn append(&self, frame: String) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.queue.send((frame, tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

/// The writer: takes what is queued (up to [`BATCH`]), writes it in one transaction,
/// answers each frame's sender, and goes on until every handle is gone.
async fn write(pool: SqlitePool, mut rx: mpsc::Receiver<Entry>) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let ok = commit(&pool, &batch).await;
        if let Err(e) = &ok {
            eprintln!("clbchat-bare-relay: a journal batch failed: {e}");
        }
        for (_, answer) in batch.drain(..) {
            let _ = answer.send(ok.is_ok());
        }
    }
    pool.close().await;
}

async fn commit(pool: &SqlitePool, batch: &[Entry]) -> std::result::Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut insert = sqlx::QueryBuilder::new("INSERT INTO journal (frame) ");
    insert.push_values(batch, |mut row, (frame, _)| {
        row.push_bind(frame.as_str());
    });
    insert.build().execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::Journal;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_the_journal_acknowledged_is_in_the_file_after_it_is_reopened() {
        let dir = std::env::temp_dir().join(format!(
            "clbchat-relay-journal-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a folder");
        let path = dir.join("journal.db");
        let journal = Journal::open(&path).await.expect("the journal opens");
        let appends: Vec<_> = (0..100)
            .map(|i| {
                let j = journal.clone();
                tokio::spawn(async move { j.append(format!("#0:{i}:0#")).await })
            })
            .collect();
        for a in appends {
            assert!(a.await.expect("the task"), "acknowledged");
        }
        drop(journal);
        let url = format!("sqlite://{}", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("reopened");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM journal")
            .fetch_one(&pool)
            .await
            .expect("counted");
        assert_eq!(n, 100);
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
