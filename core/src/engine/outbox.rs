//! Bounded event queues to participants, with the slow-consumer policy.
//!
//! Each connected participant has one bounded queue ([`DEFAULT_OUTBOX_CAPACITY`]). The
//! engine never waits on it: a push that finds it full *kicks* the consumer, whose
//! [`Events::next`] then ends, so the transport closes the connection and the participant
//! resumes from its last sequence number; nothing logged is lost because the log has it.
//!
//! [`DEFAULT_OUTBOX_CAPACITY`]: crate::config::DEFAULT_OUTBOX_CAPACITY

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::event::ServerEvent;

/// The engine's end of a participant's queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<ServerEvent>,
    kick: Arc<watch::Sender<bool>>,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// The consumer was too slow and has been disconnected.
    Kicked,
    /// The consumer is gone.
    Gone,
}

impl Outbox {
    /// Queues an event without waiting.
    pub(crate) fn push(&self, event: ServerEvent) -> Pushed {
        match self.tx.try_send(event) {
            Ok(()) => Pushed::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kick();
                Pushed::Kicked
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Pushed::Gone,
        }
    }

    /// Disconnects the consumer.
    pub(crate) fn kick(&self) {
        let _ = self.kick.send(true);
    }

    /// Completes when the consumer dropped its [`Events`].
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// The participant's end: the events the engine pushes, in order.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<ServerEvent>,
    kicked: watch::Receiver<bool>,
    kick_alive: bool,
    replay: VecDeque<ServerEvent>,
}

impl Events {
    /// The next event; `None` when the engine disconnected this participant (too slow, shut
    /// down, or replaced by a newer connection) or everything is over. After `None`, resume.
    pub async fn next(&mut self) -> Option<ServerEvent> {
        if let Some(e) = self.replay.pop_front() {
            return Some(e);
        }
        loop {
            if *self.kicked.borrow() {
                return None;
            }
            tokio::select! {
                biased;
                ev = self.rx.recv() => return ev,
                changed = self.kicked.changed(), if self.kick_alive => {
                    if changed.is_err() {
                        self.kick_alive = false;
                    }
                }
            }
        }
    }

    /// Whether the engine disconnected this participant (too slow, replaced by a newer
    /// connection, or the server shutting down), as opposed to the stream simply being over.
    /// After this, the participant should reconnect and resume.
    pub fn was_disconnected(&self) -> bool {
        *self.kicked.borrow()
    }

    /// An event already waiting, without waiting for one.
    pub fn try_next(&mut self) -> Option<ServerEvent> {
        if let Some(e) = self.replay.pop_front() {
            return Some(e);
        }
        if *self.kicked.borrow() {
            return None;
        }
        self.rx.try_recv().ok()
    }

    pub(crate) fn prepend(&mut self, events: impl IntoIterator<Item = ServerEvent>) {
        let mut v: VecDeque<ServerEvent> = events.into_iter().collect();
        v.extend(self.replay.drain(..));
        self.replay = v;
    }
}

/// A connected pair.
pub(crate) fn outbox(capacity: usize) -> (Outbox, Events) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let (kick, kicked) = watch::channel(false);
    (
        Outbox {
            tx,
            kick: Arc::new(kick),
        },
        Events {
            rx,
            kicked,
            kick_alive: true,
            replay: VecDeque::new(),
        },
    )
}
