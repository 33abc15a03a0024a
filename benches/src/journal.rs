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
//!
//! **By chat** ([`Layout::ByChat`], the relay's `--journal-by-chat`): the same, but each
//! row also carries its pair's id (16 random bytes, as clbchat's conversation ids) and a
//! number counting the pair's frames, under a unique index on the two, as clbchat's log
//! has on `(conversation, seq)` so that a chat's messages can be read back (a resume, a
//! transcript). That is the least a durable chat server whose messages are findable by
//! chat costs with SQLite: the ceiling clbchat's own durable ratio is held against, and
//! beside the plain journal, what the index alone costs.

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

/// What a frame is written with: its pair's id and its number in the pair (used by
/// [`Layout::ByChat`] only).
pub type ChatKey = ([u8; 16], i64);

type Entry = (ChatKey, String, oneshot::Sender<bool>);

/// How the journal's rows are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Rows in the order written, nothing else (rowid only).
    #[default]
    Plain,
    /// Rows in the order written, and a unique index on (pair, number), as clbchat's log.
    ByChat,
}

/// A handle to the journal's writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    queue: mpsc::Sender<Entry>,
}

impl Journal {
    /// Opens (creating) the journal file at `path`, laid out as `layout`, and starts its
    /// writer on a thread of its own, as clbchat's group commit does for SQLite.
    pub async fn open(path: &Path, layout: Layout) -> Result<Journal> {
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
        let create: &[&str] = match layout {
            Layout::Plain => &[
                "CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, frame TEXT NOT NULL)",
            ],
            Layout::ByChat => &[
                "CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, \
                 chat BLOB NOT NULL, seq INTEGER NOT NULL, frame TEXT NOT NULL)",
                "CREATE UNIQUE INDEX IF NOT EXISTS journal_by_chat ON journal (chat, seq)",
            ],
        };
        for sql in create {
            sqlx::query(*sql)
                .execute(&pool)
                .await
                .map_err(journal("creating the table of"))?;
        }
        let (queue, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("relay-journal".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(write(pool, rx, layout)),
                    Err(e) => eprintln!("clbchat-bare-relay: the journal cannot start: {e}"),
                }
            })
            .map_err(|e| Error::io("starting the journal's writer thread", e))?;
        Ok(Journal { queue })
    }

    /// Writes `frame` durably (with `key`, if the layout keeps one): true once it is
    /// committed, false if the journal failed.
    pub async fn append(&self, key: ChatKey, frame: String) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.queue.send((key, frame, tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

/// The writer: takes what is queued (up to [`BATCH`]), writes it in one transaction,
/// answers each frame's sender, and goes on until every handle is gone.
async fn write(pool: SqlitePool, mut rx: mpsc::Receiver<Entry>, layout: Layout) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let ok = commit(&pool, &batch, layout).await;
        if let Err(e) = &ok {
            eprintln!("clbchat-bare-relay: a journal batch failed: {e}");
        }
        for (_, _, answer) in batch.drain(..) {
            let _ = answer.send(ok.is_ok());
        }
    }
    pool.close().await;
}

async fn commit(
    pool: &SqlitePool,
    batch: &[Entry],
    layout: Layout,
) -> std::result::Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut insert = sqlx::QueryBuilder::new(match layout {
        Layout::Plain => "INSERT INTO journal (frame) ",
        Layout::ByChat => "INSERT INTO journal (chat, seq, frame) ",
    });
    insert.push_values(batch, |mut row, ((chat, seq), frame, _)| {
        if layout == Layout::ByChat {
            row.push_bind(chat.as_slice()).push_bind(*seq);
        }
        row.push_bind(frame.as_str());
    });
    insert.build().execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::{Journal, Layout};

    /// Appends 100 frames from 4 chats at once, reopens the file, and returns the frames
    /// of chat 2 in their order, and how many rows there are.
    async fn appended_and_reopened(layout: Layout) -> (Vec<String>, i64) {
        let dir = std::env::temp_dir().join(format!(
            "clbchat-relay-journal-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a folder");
        let path = dir.join("journal.db");
        let journal = Journal::open(&path, layout)
            .await
            .expect("the journal opens");
        let appends: Vec<_> = (0..100u8)
            .map(|i| {
                let j = journal.clone();
                let key = ([i % 4; 16], i64::from(i / 4) + 1);
                tokio::spawn(async move { j.append(key, format!("#{}:{i}:0#", i % 4)).await })
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
        let chat = match layout {
            Layout::Plain => Vec::new(),
            Layout::ByChat => sqlx::query_scalar(
                "SELECT frame FROM journal INDEXED BY journal_by_chat WHERE chat = $1 ORDER BY seq",
            )
            .bind([2u8; 16].as_slice())
            .fetch_all(&pool)
            .await
            .expect("read by chat"),
        };
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        (chat, n)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_the_journal_acknowledged_is_in_the_file_after_it_is_reopened() {
        assert_eq!(
            appended_and_reopened(Layout::Plain).await,
            (Vec::new(), 100)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_journal_by_chat_reads_a_chat_back_in_its_order() {
        let (chat, n) = appended_and_reopened(Layout::ByChat).await;
        assert_eq!(n, 100);
        let expected: Vec<String> = (0..25).map(|k| format!("#2:{}:0#", 4 * k + 2)).collect();
        assert_eq!(chat, expected);
    }
}
