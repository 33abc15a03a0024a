//! Group commit: many appends, one transaction, one flush to disk.
//!
//! An acknowledgement waits for a durable commit, and a durable commit costs a flush to disk
//! (SQLite with `synchronous=FULL`, PostgreSQL with `synchronous_commit=on`). One transaction
//! per message would make that flush the limit of the whole helpline; instead every
//! [`GroupCommit::append`] goes through a bounded channel to one writer, which takes what is
//! queued (up to `max_batch`), writes it all in one transaction, commits, and only then
//! answers each caller through its own oneshot.
//!
//! **When a batch is written.** As soon as the writer is free (`max_delay` zero, the
//! default since issue 20): while one batch is being written and flushed, the appends that
//! come in meanwhile queue, and they are the next batch. Under load the batches grow by
//! themselves, and a lone append on a quiet desk is written at once instead of waiting out
//! a timer. A `max_delay` above zero still waits that long after the first append of a
//! batch for more (measured against zero in `benches/README.md`).
//!
//! **The sequence rule** still holds per event inside a batch: each event is checked against
//! the last stored seq of its conversation (and the events before it in the same batch); the
//! ones that follow are written, the others refused with `Conflict` or `NotFound` without
//! failing the rest. The writer remembers the last seq it committed for each conversation
//! ([`LastSeqs`]), so a batch reads from the database only the conversations it has not
//! written yet (before, every batch looked up every one of its conversations: hundreds of
//! index reads per transaction). The database's unique key on `(conversation, seq)` stays
//! the final guard: if another process appended to the same log, the insert clashes, and the
//! writer forgets what it remembered of that batch's conversations.
//!
//! If the transaction itself fails, every event that was to be written gets the error
//! (nothing of it was stored); a failure that may be one event's fault (not `Unavailable`)
//! is retried one event per transaction, so a bad event cannot fail its neighbours.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use clbchat_core::error::StoreErrorKind;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::codec::EventRow;
use crate::error::{Error, Result};

/// The answer to one append: `Ok` once committed durably, or why not.
pub(crate) type Verdict = std::result::Result<(), clbchat_core::Error>;

/// A backend that writes a batch of log entries in one transaction.
#[async_trait]
pub(crate) trait BatchWriter: Send + Sync + 'static {
    /// In one transaction: looks up the last stored seq of the batch's conversations that
    /// `known` does not hold ([`LastSeqs::unknown`]), writes the rows that [`judge`] accepts
    /// ([`LastSeqs::for_batch`]), and commits. Returns one verdict per row, in order; `Err`
    /// if the transaction failed (then nothing was written).
    async fn write_batch(&self, rows: &[EventRow], known: &LastSeqs) -> Result<Vec<Verdict>>;
}

/// Conversations the writer remembers at most; past it, it forgets them all and reads them
/// again as they come (16 bytes and a number each: about 4 MiB).
const LAST_SEQS_MAX: usize = 65_536;

/// The last seq the writer committed, per conversation: what the database would answer,
/// without asking it. Only the writer appends events, so it stays true; anything else that
/// deletes events ([`GroupCommit::forget`]) or a clash on the key makes the writer forget.
#[derive(Debug, Default)]
pub(crate) struct LastSeqs {
    last: HashMap<Uuid, i64>,
}

impl LastSeqs {
    /// The batch's conversations whose last seq must be read from the database, each once.
    pub(crate) fn unknown(&self, rows: &[EventRow]) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = rows
            .iter()
            .map(|r| r.conversation)
            .filter(|id| !self.last.contains_key(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The last seq of every conversation of the batch that exists: what is remembered, and
    /// what was `found` in the database for the others.
    pub(crate) fn for_batch(
        &self,
        rows: &[EventRow],
        found: HashMap<Uuid, i64>,
    ) -> HashMap<Uuid, i64> {
        let mut last = found;
        for r in rows {
            if let Some(&seq) = self.last.get(&r.conversation) {
                last.insert(r.conversation, seq);
            }
        }
        last
    }

    /// Remembers what a committed batch wrote; a conflict makes the writer read that
    /// conversation again next time (someone else may have written it).
    fn committed(&mut self, rows: &[EventRow], verdicts: &[Verdict]) {
        if self.last.len() + rows.len() > LAST_SEQS_MAX {
            self.last.clear();
        }
        for (row, verdict) in rows.iter().zip(verdicts) {
            match verdict {
                Ok(()) => {
                    self.last.insert(row.conversation, row.seq);
                }
                Err(e) if e.store_kind() == Some(StoreErrorKind::Conflict) => {
                    self.last.remove(&row.conversation);
                }
                Err(_) => {}
            }
        }
    }

    /// Forgets the conversations of a batch that failed.
    fn failed(&mut self, rows: &[EventRow]) {
        for row in rows {
            self.last.remove(&row.conversation);
        }
    }
}

/// Decides per row, in order, whether it follows its conversation's log.
///
/// `last` has an entry for every conversation of the batch that exists: its last stored seq
/// (0 for an empty log). Accepted rows advance it, so consecutive events of one conversation
/// can share a batch. Returns the verdicts and the indices of the accepted rows.
pub(crate) fn judge(rows: &[EventRow], mut last: HashMap<Uuid, i64>) -> (Vec<Verdict>, Vec<usize>) {
    let mut verdicts = Vec::with_capacity(rows.len());
    let mut accepted = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match last.get_mut(&row.conversation) {
            None => verdicts.push(Err(clbchat_core::Error::store(
                StoreErrorKind::NotFound,
                format!("append: no conversation {}", row.conversation),
            ))),
            Some(prev) if row.seq != *prev + 1 => verdicts.push(Err(clbchat_core::Error::store(
                StoreErrorKind::Conflict,
                format!("append: seq {} does not follow {}", row.seq, prev),
            ))),
            Some(prev) => {
                *prev = row.seq;
                accepted.push(i);
                verdicts.push(Ok(()));
            }
        }
    }
    (verdicts, accepted)
}

struct Request {
    row: EventRow,
    reply: oneshot::Sender<Verdict>,
}

/// The handle to the writer.
pub(crate) struct GroupCommit {
    requests: mpsc::Sender<Request>,
    /// Raised by [`GroupCommit::forget`]; the writer forgets its [`LastSeqs`] when it sees
    /// it change.
    forgets: Arc<AtomicU64>,
    stop: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

impl GroupCommit {
    /// Starts the writer: on a thread of its own (with a small runtime of its own) when
    /// `own_thread`, else as a task on the caller's runtime.
    ///
    /// Why a thread for SQLite: a batch is a few round trips to the database (begin, read,
    /// insert, commit), and between them the writer must be scheduled again. On a busy
    /// server thousands of connection tasks are ready at the same time, so a writer task
    /// waited in the run queue at every step, the database sat idle meanwhile, and the whole
    /// helpline's appends queued behind it (profiled under the load generator: the SQLite
    /// worker thread busy less than a third of the time at the throughput ceiling). sqlx's
    /// SQLite connections run on threads of their own, so they work from any runtime.
    /// PostgreSQL's connections are sockets registered with the runtime that opened them,
    /// and the pool is shared with the rest of the store, so its writer stays a task.
    pub(crate) fn start(
        writer: Arc<dyn BatchWriter>,
        max_batch: usize,
        max_delay: Duration,
        own_thread: bool,
    ) -> Self {
        let max_batch = max_batch.max(1);
        // Room for a few batches: enough to keep the writer busy, bounded so that a stalled
        // database pushes back on the senders instead of growing a queue.
        let (requests, rx) = mpsc::channel(max_batch.saturating_mul(4));
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let forgets = Arc::new(AtomicU64::new(0));
        let work = run(
            writer,
            rx,
            stop_rx,
            Policy {
                max_batch,
                max_delay,
                forgets: forgets.clone(),
            },
        );
        if !own_thread {
            tokio::spawn(async move {
                work.await;
                let _ = done_tx.send(());
            });
            return Self {
                requests,
                forgets,
                stop: Mutex::new(Some((stop_tx, done_rx))),
            };
        }
        let spawned = std::thread::Builder::new()
            .name("clbchat-group-commit".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(work),
                    Err(e) => tracing::error!(error = %e, "cannot start the group-commit writer"),
                }
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            // Without a writer every append fails with `Closed` (the channel has no reader).
            tracing::error!(error = %e, "cannot start the group-commit writer thread");
        }
        Self {
            requests,
            forgets,
            stop: Mutex::new(Some((stop_tx, done_rx))),
        }
    }

    /// Makes the writer forget the last seqs it remembers, before its next batch: for
    /// whatever deletes events (a purge, an erasure).
    pub(crate) fn forget(&self) {
        self.forgets.fetch_add(1, Ordering::Release);
    }

    /// Appends one row; returns once it is committed, or refused, or failed.
    ///
    /// If the caller stops waiting (its future is dropped), the row may still be written.
    pub(crate) async fn append(&self, row: EventRow) -> Verdict {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { row, reply })
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Stops taking appends, writes what is queued, and waits for the writer to finish.
    pub(crate) async fn close(&self) {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, done)) = stop {
            let _ = stop.send(());
            if done.await.is_err() {
                tracing::error!("the group-commit writer ended abnormally");
            }
        }
    }
}

/// How the writer batches.
struct Policy {
    max_batch: usize,
    max_delay: Duration,
    forgets: Arc<AtomicU64>,
}

async fn run(
    writer: Arc<dyn BatchWriter>,
    mut rx: mpsc::Receiver<Request>,
    mut stop: oneshot::Receiver<()>,
    policy: Policy,
) {
    let Policy {
        max_batch,
        max_delay,
        forgets,
    } = policy;
    let mut known = LastSeqs::default();
    let mut forgotten = forgets.load(Ordering::Acquire);
    let mut stopping = false;
    loop {
        let first = if stopping {
            rx.recv().await
        } else {
            tokio::select! {
                biased;
                r = rx.recv() => r,
                _ = &mut stop => {
                    // No new appends; what is queued is still written (recv drains it).
                    rx.close();
                    stopping = true;
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        // Whatever is queued already joins at once.
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // Then wait a little for more, unless full or stopping.
        if batch.len() < max_batch && !max_delay.is_zero() && !stopping {
            let deadline = tokio::time::Instant::now() + max_delay;
            while batch.len() < max_batch {
                tokio::select! {
                    r = rx.recv() => match r {
                        Some(r) => batch.push(r),
                        None => break,
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
        }
        let now = forgets.load(Ordering::Acquire);
        if now != forgotten {
            forgotten = now;
            known = LastSeqs::default();
        }
        flush(writer.as_ref(), batch, &mut known).await;
    }
}

async fn flush(writer: &dyn BatchWriter, batch: Vec<Request>, known: &mut LastSeqs) {
    let (rows, replies): (Vec<EventRow>, Vec<oneshot::Sender<Verdict>>) =
        batch.into_iter().map(|r| (r.row, r.reply)).unzip();
    tracing::trace!(events = rows.len(), "group commit");
    let verdicts = match writer.write_batch(&rows, known).await {
        Ok(v) => {
            known.committed(&rows, &v);
            v
        }
        Err(e) if rows.len() == 1 || e.kind() == StoreErrorKind::Unavailable => {
            known.failed(&rows);
            let e: clbchat_core::Error = e.into();
            tracing::warn!(error = %e, events = rows.len(), "an append batch failed");
            rows.iter().map(|_| Err(clone_error(&e))).collect()
        }
        Err(e) => {
            // Perhaps one event's fault: give each its own transaction and its own answer,
            // each read afresh from the database.
            known.failed(&rows);
            tracing::warn!(error = %e, events = rows.len(), "an append batch failed; retrying one by one");
            let mut v = Vec::with_capacity(rows.len());
            for row in &rows {
                let one = std::slice::from_ref(row);
                v.push(match writer.write_batch(one, known).await {
                    Ok(mut r) => {
                        known.committed(one, &r);
                        r.pop().unwrap_or_else(|| Err(Error::Closed.into()))
                    }
                    Err(e) => {
                        known.failed(one);
                        Err(e.into())
                    }
                });
            }
            v
        }
    };
    for (reply, verdict) in replies.into_iter().zip(verdicts) {
        // The caller may have stopped waiting; the verdict then goes nowhere.
        let _ = reply.send(verdict);
    }
}

fn clone_error(e: &clbchat_core::Error) -> clbchat_core::Error {
    clbchat_core::Error::store(
        e.store_kind().unwrap_or(StoreErrorKind::Unavailable),
        store_message(e),
    )
}

fn store_message(e: &clbchat_core::Error) -> String {
    match e {
        clbchat_core::Error::StoreUnavailable(m) => m.clone(),
        clbchat_core::Error::Store { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(conversation: Uuid, seq: i64) -> EventRow {
        EventRow {
            conversation,
            seq,
            at_ns: 0,
            kind: "message".into(),
            has_text: true,
            body: "{}".into(),
        }
    }

    /// A writer that records its batches, takes 5 ms (of paused time) per transaction, and
    /// fails batches in the ways a test asks for.
    #[derive(Default)]
    struct FakeWriter {
        batches: Mutex<Vec<usize>>,
        fail_batches_with: Mutex<Option<StoreErrorKind>>,
    }

    #[async_trait]
    impl BatchWriter for FakeWriter {
        async fn write_batch(&self, rows: &[EventRow], _known: &LastSeqs) -> Result<Vec<Verdict>> {
            self.batches.lock().expect("lock").push(rows.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
            let fail = *self.fail_batches_with.lock().expect("lock");
            match fail {
                Some(StoreErrorKind::Unavailable) => Err(Error::Closed),
                Some(_) if rows.len() > 1 => Err(Error::Conflict("a key clashed".into())),
                _ if rows.iter().any(|r| r.seq == 99) => Err(Error::Data("bad row".into())),
                _ => Ok(rows.iter().map(|_| Ok(())).collect()),
            }
        }
    }

    async fn append_many(commits: &GroupCommit, n: i64) -> Vec<Verdict> {
        let appends = (0..n).map(|_| commits.append(row(Uuid::new_v4(), 1)));
        futures::future::join_all(appends).await
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_appends_share_transactions_up_to_the_batch_size() {
        let writer = Arc::new(FakeWriter::default());
        let commits = GroupCommit::start(writer.clone(), 16, Duration::from_millis(2), true);
        let verdicts = append_many(&commits, 100).await;
        assert!(verdicts.iter().all(Result::is_ok));
        let batches = writer.batches.lock().expect("lock").clone();
        assert_eq!(batches.iter().sum::<usize>(), 100);
        assert!(batches.iter().all(|&n| n <= 16), "{batches:?}");
        assert!(
            batches.len() <= 8,
            "100 appends at once took {} transactions",
            batches.len()
        );
        commits.close().await;
    }

    /// How long one append on its own takes to be answered (on the paused clock).
    async fn time_of_a_lone_append(commits: &GroupCommit) -> Duration {
        let start = tokio::time::Instant::now();
        commits
            .append(row(Uuid::new_v4(), 1))
            .await
            .expect("a lone append");
        start.elapsed()
    }

    /// With no delay (the default) a lone append is written at once, and what comes in while
    /// a batch is written is the next batch.
    #[tokio::test(start_paused = true)]
    async fn without_a_delay_the_writer_commits_as_soon_as_it_is_free() {
        let writer = Arc::new(FakeWriter::default());
        let commits = GroupCommit::start(writer.clone(), 16, Duration::ZERO, false);
        assert_eq!(
            time_of_a_lone_append(&commits).await,
            Duration::from_millis(5),
            "only the writer's own 5 ms, no waiting for company"
        );

        writer.batches.lock().expect("lock").clear();
        let verdicts = append_many(&commits, 100).await;
        assert!(verdicts.iter().all(Result::is_ok));
        let batches = writer.batches.lock().expect("lock").clone();
        assert_eq!(batches.iter().sum::<usize>(), 100);
        assert!(
            batches.iter().all(|&n| n <= 16) && batches.len() <= 8,
            "100 appends at once: batches of what was queued, {batches:?}"
        );

        let with_delay = GroupCommit::start(writer.clone(), 16, Duration::from_millis(2), false);
        assert_eq!(
            time_of_a_lone_append(&with_delay).await,
            Duration::from_millis(7),
            "2 ms of waiting, then 5"
        );
        commits.close().await;
        with_delay.close().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_batch_is_retried_one_by_one_unless_the_database_is_unavailable() {
        let writer = Arc::new(FakeWriter::default());
        let commits = GroupCommit::start(writer.clone(), 16, Duration::from_millis(2), true);
        // One bad row in a batch: the others still succeed, each in its own transaction.
        let conv = Uuid::new_v4();
        let rows = [
            row(conv, 1),
            row(Uuid::new_v4(), 99),
            row(Uuid::new_v4(), 1),
        ];
        let verdicts = futures::future::join_all(rows.into_iter().map(|r| commits.append(r))).await;
        let kinds: Vec<_> = verdicts
            .iter()
            .map(|v| v.as_ref().err().and_then(|e| e.store_kind()))
            .collect();
        assert_eq!(kinds, vec![None, Some(StoreErrorKind::Invalid), None]);

        *writer.fail_batches_with.lock().expect("lock") = Some(StoreErrorKind::Unavailable);
        writer.batches.lock().expect("lock").clear();
        let verdicts = append_many(&commits, 5).await;
        assert!(verdicts
            .iter()
            .all(|v| v.as_ref().err().and_then(|e| e.store_kind())
                == Some(StoreErrorKind::Unavailable)));
        assert_eq!(
            writer.batches.lock().expect("lock").len(),
            1,
            "no retry when unavailable"
        );
        commits.close().await;
    }

    #[tokio::test(start_paused = true)]
    async fn close_commits_what_is_queued_and_refuses_the_rest() {
        let writer = Arc::new(FakeWriter::default());
        let commits = Arc::new(GroupCommit::start(
            writer.clone(),
            4,
            Duration::from_millis(2),
            false,
        ));
        let queued: Vec<_> = (1..=10)
            .map(|seq| {
                let commits = commits.clone();
                tokio::spawn(async move { commits.append(row(Uuid::new_v4(), seq)).await })
            })
            .collect();
        tokio::task::yield_now().await;
        commits.close().await;
        let mut ok = 0;
        for q in queued {
            match q.await.expect("task") {
                Ok(()) => ok += 1,
                Err(e) => assert_eq!(e.store_kind(), Some(StoreErrorKind::Unavailable)),
            }
        }
        assert_eq!(
            ok,
            writer.batches.lock().expect("lock").iter().sum::<usize>(),
            "every written append was answered Ok"
        );
        let late = commits.append(row(Uuid::new_v4(), 1)).await;
        assert_eq!(
            late.err().and_then(|e| e.store_kind()),
            Some(StoreErrorKind::Unavailable)
        );
    }

    #[test]
    fn judge_applies_the_sequence_rule_per_row_in_order() {
        let (a, b, unknown) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let rows = [
            row(a, 4),
            row(b, 1),
            row(a, 5),
            row(a, 5),
            row(unknown, 1),
            row(b, 3),
            row(a, 6),
        ];
        let (verdicts, accepted) = judge(&rows, HashMap::from([(a, 3), (b, 0)]));
        let kinds: Vec<Option<StoreErrorKind>> = verdicts
            .iter()
            .map(|v| v.as_ref().err().and_then(|e| e.store_kind()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                None,
                None,
                None,
                Some(StoreErrorKind::Conflict),
                Some(StoreErrorKind::NotFound),
                Some(StoreErrorKind::Conflict),
                None
            ]
        );
        assert_eq!(accepted, vec![0, 1, 2, 6]);
    }
}
