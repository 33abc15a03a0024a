//! The appends in a file of their own (SQLite on a file; opt-in with
//! [`SqlOptions::sqlite_appends_file`](crate::SqlOptions::sqlite_appends_file)).
//!
//! **Why.** The log's index by chat (`events_by_conversation`) makes every message change a
//! 4 KiB page of its own, which the write-ahead log's checkpoints copy into the file and
//! flush while the appends behind them wait: most of the durable path's latency, and on a
//! disk that cannot keep up its throughput too (`benches/README.md`, "the store alone" and
//! "the log in a file of its own"). Here the group-commit writer appends to a second SQLite
//! file beside the database (`clbchat.db.appends`) whose one table has no index, and a mover
//! copies what came into `events`, sorted by chat, every `sqlite_move_interval`: the index
//! then changes a page per chat per copy instead of a page per message, off the append's
//! path.
//!
//! **What still holds.**
//! - *Acknowledged means on disk*: the writer answers only after the appends file's commit
//!   (`synchronous=FULL` unless the store's durability says otherwise).
//! - *Nothing is lost between the files*: a copy is one transaction in the main file that
//!   also records the last key it copied (in `store_meta`, under the appends file's own id,
//!   so a replaced appends file is never taken for one already copied). Only after that
//!   commit are the rows deleted from the appends file. When the store opens, what the
//!   appends file holds past the recorded key is copied first, whatever the option says.
//! - *Reads see every acknowledged event*: the rows not copied yet stay in memory
//!   ([`Appends::unmoved`]); a read by chat looks there first and in `events` after (a row
//!   leaves memory only once it is in `events`, so the two reads in that order miss
//!   nothing). Everything else that reads or deletes `events` (transcripts, reports, purges,
//!   erasures) first waits for a copy of all that was acknowledged ([`Appends::settle`]).
//! - *One server per file*: the appends file is opened with SQLite's exclusive lock, so a
//!   second server on the same database fails at start instead of writing the same logs.
//!   The sequence rule is judged in the writer's memory, as before; the unique key on
//!   `(conversation, seq)` now guards the copy.
//! - A chat deleted (purged, erased) before its last rows were copied loses those rows:
//!   its keys are destroyed first, so their text could not be read anyway.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Row;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::codec::{EventRow, StoredEvent};
use crate::error::{Context, Error, Result};
use crate::group_commit::{judge, BatchWriter, LastSeqs, Verdict};
use crate::options::{Durability, SqlOptions};
use crate::sqlite::{insert_events, last_seqs, INSERT_CHUNK};

/// The appends file's schema. No index but the key: that is the point.
const SCHEMA: &str = "\
    CREATE TABLE IF NOT EXISTS appends (\
        id INTEGER PRIMARY KEY, conversation BLOB NOT NULL, seq INTEGER NOT NULL, \
        at_ns INTEGER NOT NULL, kind TEXT NOT NULL, has_text INTEGER NOT NULL, \
        body TEXT NOT NULL) STRICT; \
    CREATE TABLE IF NOT EXISTS appends_meta (\
        name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT;";

/// Said when the appends file cannot be opened: most likely, another server holds it.
const BUSY_HINT: &str = "(is another clbchat server using this database? only one may)";

/// How long [`Appends::settle`] waits for a copy before it says the store is unavailable.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The appends file of the database file `db`: the same name with `.appends` added.
pub(crate) fn path_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".appends");
    name.into()
}

/// `store_meta`'s name for the last key of the appends file `file_id` copied into the log.
fn moved_meta(file_id: &str) -> String {
    format!("appends_moved:{file_id}")
}

/// The appends file, the rows of it not copied yet, and the mover's state.
pub(crate) struct Appends {
    /// The appends file: one connection, holding the file's exclusive lock.
    pool: SqlitePool,
    /// The appends file's id (in its `appends_meta`).
    file_id: String,
    /// The main file's writer (shared with the rest of the store).
    main_write: SqlitePool,
    /// The main file's readers.
    main_read: SqlitePool,
    /// Rows committed to the appends file and not yet copied, in the order of their keys.
    pending: Mutex<VecDeque<(i64, EventRow)>>,
    /// The key the next row gets (only the writer appends, one batch at a time). Raised
    /// only once a batch's rows are in memory, so every key below it is committed and
    /// either in memory or copied.
    next_key: AtomicI64,
    /// The last key copied into the log.
    moved: watch::Sender<i64>,
    /// Asks the mover to copy now.
    wake: Notify,
    /// One copy at a time (the mover, [`Appends::close`] and the start's recovery).
    copying: tokio::sync::Mutex<()>,
    /// Stops the mover.
    stop: watch::Sender<bool>,
    /// The mover task.
    mover: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Appends {
    /// Opens (creating it if missing) the appends file of the database file `db` and copies
    /// into the log what an earlier run left in it. With `keep`, starts the mover and returns
    /// the appends for the writer; without, empties the file, closes it, removes it, and
    /// returns `None`.
    pub(crate) async fn open(
        db: &Path,
        main_write: SqlitePool,
        main_read: SqlitePool,
        options: &SqlOptions,
        keep: bool,
    ) -> Result<Option<Arc<Appends>>> {
        let path = path_of(db);
        if !keep && !path.exists() {
            return Ok(None);
        }
        crate::sqlite::create_owner_only(&path)?;
        let shown = path.display().to_string();
        let connect = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            // One server per database: a second one fails here, at start.
            .locking_mode(SqliteLockingMode::Exclusive)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            });
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| {
                Error::sql(format!("opening the appends file `{shown}` {BUSY_HINT}"), e)
            })?;
        // The exclusive lock is taken at the first write: this one, so that a second server
        // on the same database stops here.
        sqlx::raw_sql(SCHEMA).execute(&pool).await.map_err(|e| {
            Error::sql(format!("opening the appends file `{shown}` {BUSY_HINT}"), e)
        })?;
        let file_id = match sqlx::query_scalar::<_, String>(
            "SELECT value FROM appends_meta WHERE name = 'file_id'",
        )
        .fetch_optional(&pool)
        .await
        .context("reading the appends file's id")?
        {
            Some(id) => id,
            None => {
                let id = Uuid::new_v4().to_string();
                sqlx::query("INSERT INTO appends_meta (name, value) VALUES ('file_id', $1)")
                    .bind(&id)
                    .execute(&pool)
                    .await
                    .context("recording the appends file's id")?;
                id
            }
        };
        let through: i64 =
            sqlx::query_scalar::<_, String>("SELECT value FROM store_meta WHERE name = $1")
                .bind(moved_meta(&file_id))
                .fetch_optional(&main_write)
                .await
                .context("reading how far the appends file was copied")?
                .map(|v| {
                    v.parse().map_err(|_| {
                        Error::Data(format!("stored appends mark `{v}` is not a number"))
                    })
                })
                .transpose()?
                .unwrap_or(0);
        sqlx::query("DELETE FROM appends WHERE id <= $1")
            .bind(through)
            .execute(&pool)
            .await
            .context("removing what the log already has from the appends file")?;
        let left = sqlx::query(
            "SELECT id, conversation, seq, at_ns, kind, has_text, body FROM appends ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .context("reading what the appends file holds")?;
        let mut pending = VecDeque::with_capacity(left.len());
        for r in &left {
            pending.push_back((
                r.try_get::<i64, _>("id").context("reading column `id`")?,
                EventRow {
                    conversation: r
                        .try_get("conversation")
                        .context("reading column `conversation`")?,
                    seq: r.try_get("seq").context("reading column `seq`")?,
                    at_ns: r.try_get("at_ns").context("reading column `at_ns`")?,
                    kind: r.try_get("kind").context("reading column `kind`")?,
                    has_text: r.try_get("has_text").context("reading column `has_text`")?,
                    body: r.try_get("body").context("reading column `body`")?,
                },
            ));
        }
        let last = pending.back().map_or(through, |(k, _)| *k).max(through);
        if !pending.is_empty() {
            tracing::info!(
                events = pending.len(),
                "copying into the log what the appends file kept from the last run"
            );
        }
        let appends = Arc::new(Appends {
            pool,
            file_id,
            main_write,
            main_read,
            pending: Mutex::new(pending),
            next_key: AtomicI64::new(last + 1),
            moved: watch::Sender::new(through),
            wake: Notify::new(),
            copying: tokio::sync::Mutex::new(()),
            stop: watch::Sender::new(false),
            mover: Mutex::new(None),
        });
        appends.copy().await?;
        if !keep {
            appends.pool.close().await;
            for suffix in ["", "-wal", "-shm"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                match std::fs::remove_file(&name) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(Error::File {
                            context: format!("removing the emptied appends file `{shown}`"),
                            source,
                        })
                    }
                }
            }
            return Ok(None);
        }
        let mover = tokio::spawn(appends.clone().run_mover(options.sqlite_move_interval));
        *appends.mover.lock().unwrap_or_else(|p| p.into_inner()) = Some(mover);
        Ok(Some(appends))
    }

    /// Copies every `interval`, or at once when asked ([`Appends::settle`]), until stopped.
    async fn run_mover(self: Arc<Self>, interval: Duration) {
        let mut stop = self.stop.subscribe();
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(e) = self.copy().await {
                // Nothing is lost: the rows stay in the appends file and in memory.
                tracing::error!(error = %e, "copying the appends into the log failed; trying again");
                tokio::time::sleep(interval).await;
            }
        }
    }

    /// Copies what is not in the log yet into it, sorted by chat, in one transaction that
    /// records how far it copied; then removes it from the appends file and from memory.
    async fn copy(&self) -> Result<()> {
        let _one = self.copying.lock().await;
        let (through, mut rows) = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let Some((last, _)) = pending.back() else {
                return Ok(());
            };
            (
                *last,
                pending.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            )
        };
        rows.sort_unstable_by_key(|r| (r.conversation, r.seq));
        let mut tx = self
            .main_write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting to copy the appends into the log")?;
        let mut chats: Vec<Uuid> = rows.iter().map(|r| r.conversation).collect();
        chats.dedup();
        let mut exist = HashSet::with_capacity(chats.len());
        for chunk in chats.chunks(INSERT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::new("SELECT id FROM conversations WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            for r in qb
                .build()
                .fetch_all(&mut *tx)
                .await
                .context("reading which chats of the appends still exist")?
            {
                exist.insert(r.try_get::<Uuid, _>("id").context("reading column `id`")?);
            }
        }
        let keep: Vec<usize> = (0..rows.len())
            .filter(|&i| exist.contains(&rows[i].conversation))
            .collect();
        if keep.len() < rows.len() {
            tracing::warn!(
                events = rows.len() - keep.len(),
                "appends of chats deleted meanwhile were not copied into the log"
            );
        }
        for chunk in keep.chunks(INSERT_CHUNK) {
            insert_events("INSERT OR FAIL INTO events", &rows, chunk, None)
                .build()
                .execute(&mut *tx)
                .await
                .context("copying the appends into the log")?;
        }
        sqlx::query(
            "INSERT INTO store_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(moved_meta(&self.file_id))
        .bind(through.to_string())
        .execute(&mut *tx)
        .await
        .context("recording how far the appends were copied")?;
        tx.commit()
            .await
            .context("committing a copy of the appends into the log")?;
        // In the log now, durably: out of memory, and out of the appends file.
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            while pending.front().is_some_and(|(k, _)| *k <= through) {
                pending.pop_front();
            }
        }
        self.moved.send_replace(through);
        if let Err(e) = sqlx::query("DELETE FROM appends WHERE id <= $1")
            .bind(through)
            .execute(&self.pool)
            .await
        {
            // Harmless: the recorded mark says they are copied; the next copy or start
            // removes them.
            tracing::warn!(error = %e, "removing copied rows from the appends file failed");
        }
        Ok(())
    }

    /// Returns once every event acknowledged before the call is in the log's table (asking
    /// the mover to copy now). `Unavailable` after [`SETTLE_TIMEOUT`].
    pub(crate) async fn settle(&self) -> Result<()> {
        let target = self.next_key.load(Ordering::Acquire) - 1;
        let mut moved = self.moved.subscribe();
        if *moved.borrow() >= target {
            return Ok(());
        }
        self.wake.notify_one();
        let waited = tokio::time::timeout(SETTLE_TIMEOUT, moved.wait_for(|m| *m >= target))
            .await
            .map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Err(Error::Behind(format!(
                "the latest messages could not be copied into the chat log within {} s; \
                 try again",
                SETTLE_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The events of conversation `id` after `after` that are not copied into the log yet.
    pub(crate) fn unmoved(&self, id: Uuid, after: i64) -> Vec<StoredEvent> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, r)| r.conversation == id && r.seq > after)
            .map(|(_, r)| StoredEvent {
                conversation: r.conversation,
                seq: r.seq,
                at_ns: r.at_ns,
                body: r.body.clone(),
            })
            .collect()
    }

    /// The last seq not yet copied into the log, of each of `ids` that has one.
    fn unmoved_last_seqs(&self, ids: &[Uuid]) -> HashMap<Uuid, i64> {
        let wanted: HashSet<&Uuid> = ids.iter().collect();
        let mut last = HashMap::new();
        for (_, r) in self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if wanted.contains(&r.conversation) {
                let seq = last.entry(r.conversation).or_insert(r.seq);
                *seq = (*seq).max(r.seq);
            }
        }
        last
    }

    /// Stops the mover, copies what is left, and closes the appends file (after the
    /// group-commit writer has finished). What cannot be copied now stays in the appends
    /// file for the next start.
    pub(crate) async fn close(&self) {
        self.stop.send_replace(true);
        let mover = self.mover.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mover) = mover {
            if mover.await.is_err() {
                tracing::error!("the appends mover ended abnormally");
            }
        }
        if let Err(e) = self.copy().await {
            tracing::error!(error = %e, "copying the last appends into the log failed; the next start copies them");
        }
        self.pool.close().await;
    }
}

#[async_trait]
impl BatchWriter for Appends {
    /// Judges the batch as the log's own writer does, then writes the accepted rows to the
    /// appends file in one statement (its own transaction, all or nothing) and keeps them in
    /// memory until they are copied. The last seq of a chat the writer does not know is the
    /// larger of the rows in memory and the log's, read in that order (see the module docs).
    async fn write_batch(&self, rows: &[EventRow], known: &LastSeqs) -> Result<Vec<Verdict>> {
        let ids = known.unknown(rows);
        let mut found = HashMap::with_capacity(ids.len());
        if !ids.is_empty() {
            let unmoved = self.unmoved_last_seqs(&ids);
            let mut conn = self
                .main_read
                .acquire()
                .await
                .context("reading the last seq of the batch's conversations")?;
            for (id, last) in last_seqs(&mut conn, &ids).await? {
                let last = unmoved.get(&id).map_or(last, |&u| u.max(last));
                found.insert(id, last);
            }
        }
        let (verdicts, accepted) = judge(rows, known.for_batch(rows, found));
        if accepted.is_empty() {
            return Ok(verdicts);
        }
        let first = self.next_key.load(Ordering::Acquire);
        let keys: Vec<i64> = (first..).take(accepted.len()).collect();
        if accepted.len() <= INSERT_CHUNK {
            insert_events("INSERT INTO appends", rows, &accepted, Some(&keys))
                .build()
                .execute(&self.pool)
                .await
                .context("appending events")?;
        } else {
            let mut tx = self
                .pool
                .begin()
                .await
                .context("starting an append batch")?;
            for (chunk, chunk_keys) in accepted.chunks(INSERT_CHUNK).zip(keys.chunks(INSERT_CHUNK))
            {
                insert_events("INSERT INTO appends", rows, chunk, Some(chunk_keys))
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("appending events")?;
            }
            tx.commit().await.context("committing an append batch")?;
        }
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (&i, &key) in accepted.iter().zip(&keys) {
                pending.push_back((key, rows[i].clone()));
            }
        }
        // After the rows are in memory: a settle that sees this key finds them there.
        self.next_key
            .store(first + accepted.len() as i64, Ordering::Release);
        Ok(verdicts)
    }
}
