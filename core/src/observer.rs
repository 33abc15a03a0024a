//! The `Observer` port: what the engine reports for operations dashboards.
//!
//! A deployment turns these calls into metrics (the reference server exports Prometheus
//! counters and a wait-time histogram). The calls carry only the desk, durations and
//! reasons: never message text, tokens, pseudonyms or anything that identifies a visitor.
//! They are made on the engine's own tasks, so an implementation must be quick and must not
//! block (atomic counters, not I/O).

use std::time::Duration;

use crate::event::{EndReason, Role};
use crate::ids::DeskId;

/// Receives the engine's operational facts. Every method has a do-nothing default.
pub trait Observer: Send + Sync + 'static {
    /// A counsellor took a waiting client; `waited` is the time from arrival.
    fn chat_started(&self, desk: &DeskId, waited: Duration) {
        let _ = (desk, waited);
    }

    /// A conversation ended (`was_active`: a counsellor had taken it; otherwise it ended in
    /// the queue or was refused at the door).
    fn chat_ended(&self, desk: &DeskId, reason: EndReason, was_active: bool) {
        let _ = (desk, reason, was_active);
    }

    /// A chat message was stored and acknowledged.
    fn message_stored(&self, desk: &DeskId, from: Role) {
        let _ = (desk, from);
    }
}

/// The default observer: ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}
