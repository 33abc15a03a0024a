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

use crate::event::{DisconnectKind, ServerEvent};

/// Why a consumer was disconnected, carried by the kick itself, so the transport knows it
/// even when the `disconnecting` event could not be read before the queue closed.
pub type Disconnect = (DisconnectKind, String);

/// Why a participant is disconnected when the server stops.
pub const RESTARTING: &str = "the server restarts";
/// Why a participant whose queue filled up is disconnected.
pub const TOO_SLOW: &str = "too slow to keep up; resume from your last sequence number";

/// The engine's end of a participant's queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    /// Boxed: a tokio channel allocates its slots 32 at a time when it is made, so an
    /// unboxed event (128 bytes) cost 4 KiB per participant before any event was sent; a box
    /// costs 256 bytes (issue 20, memory per idle connection).
    tx: mpsc::Sender<Box<ServerEvent>>,
    kick: Arc<watch::Sender<Option<Disconnect>>>,
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
        match self.tx.try_send(Box::new(event)) {
            Ok(()) => Pushed::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kick();
                Pushed::Kicked
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Pushed::Gone,
        }
    }

    /// Disconnects a consumer that does not keep up.
    pub(crate) fn kick(&self) {
        self.disconnect(DisconnectKind::TooSlow, TOO_SLOW.into());
    }

    /// Tells the consumer why (a `disconnecting` event, if there is room) and disconnects
    /// it; the reason also travels with the disconnection itself.
    pub(crate) fn disconnect(&self, kind: DisconnectKind, reason: String) {
        let _ = self.tx.try_send(Box::new(ServerEvent::Disconnecting {
            kind,
            reason: reason.clone(),
        }));
        // The first reason wins: a later "too slow" does not hide a "replaced".
        self.kick.send_if_modified(|k| {
            if k.is_none() {
                *k = Some((kind, reason));
                true
            } else {
                false
            }
        });
    }

    /// Completes when the consumer dropped its [`Events`].
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// The participant's end: the events the engine pushes, in order.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Box<ServerEvent>>,
    kicked: watch::Receiver<Option<Disconnect>>,
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
            if self.kicked.borrow().is_some() {
                return None;
            }
            tokio::select! {
                biased;
                ev = self.rx.recv() => return ev.map(|e| *e),
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
        self.kicked.borrow().is_some()
    }

    /// Why the engine disconnected this participant, if it did.
    pub fn disconnect_reason(&self) -> Option<Disconnect> {
        self.kicked.borrow().clone()
    }

    /// An event already waiting, without waiting for one.
    pub fn try_next(&mut self) -> Option<ServerEvent> {
        if let Some(e) = self.replay.pop_front() {
            return Some(e);
        }
        if self.kicked.borrow().is_some() {
            return None;
        }
        self.rx.try_recv().ok().map(|e| *e)
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
    let (kick, kicked) = watch::channel(None);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_reason_of_a_disconnection_is_known_even_when_its_event_was_not_read() {
        let (outbox, mut events) = outbox(4);
        outbox.disconnect(DisconnectKind::Replaced, "another window".into());
        // A later "too slow" (the queue filling up) does not hide why it was closed.
        outbox.kick();
        assert_eq!(
            events.next().await,
            None,
            "a disconnected consumer reads no more"
        );
        assert_eq!(
            events.disconnect_reason(),
            Some((DisconnectKind::Replaced, "another window".to_owned()))
        );
        let (outbox, events) = super::outbox(1);
        assert_eq!(
            outbox.push(ServerEvent::Disconnecting {
                kind: DisconnectKind::Restart,
                reason: "fills the queue".into(),
            }),
            Pushed::Queued
        );
        assert_eq!(
            outbox.push(ServerEvent::Disconnecting {
                kind: DisconnectKind::Restart,
                reason: "one too many".into(),
            }),
            Pushed::Kicked
        );
        assert_eq!(
            events.disconnect_reason(),
            Some((DisconnectKind::TooSlow, TOO_SLOW.to_owned()))
        );
    }
}
