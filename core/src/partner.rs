//! The `PartnerLine` port: another organisation's chat line a client can be handed to.
//!
//! With the client's explicit consent a counsellor hands the chat to a more specialised
//! line (in 2021-22: the children's rights line "Nu-praat-ik-erover"). What crosses over is
//! only what the counsellor writes in the hand-off summary and what the client agreed to;
//! the real network link is an adapter (it comes with the transport), and tests use a double.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::ConversationId;

/// What is handed to the partner line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// Our conversation (the partner may quote it back; it identifies no one).
    pub conversation: ConversationId,
    /// The counsellor's summary, written with the client's consent.
    pub summary: String,
}

/// The partner's answer: where the client continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffTicket {
    /// A link the client's page opens to continue with the partner.
    pub continue_at: String,
}

/// Another organisation's chat line.
#[async_trait]
pub trait PartnerLine: Send + Sync + 'static {
    /// Stable id, e.g. `nu-praat-ik-erover`.
    fn id(&self) -> &str;
    /// Public name shown to the client.
    fn name(&self) -> &str;
    /// Hands the chat over; the client continues at the ticket's link.
    async fn hand_off(&self, handoff: Handoff) -> Result<HandoffTicket>;
}

/// A partner line double for tests and demos: records hand-offs, can be told to refuse.
#[derive(Debug, Clone)]
pub struct RecordingPartner {
    id: String,
    name: String,
    continue_base: String,
    received: Arc<Mutex<Vec<Handoff>>>,
    refuse: Arc<Mutex<Option<String>>>,
}

impl RecordingPartner {
    /// A partner line with an id, a public name and the base of its continue links.
    pub fn new(id: &str, name: &str, continue_base: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            continue_base: continue_base.into(),
            received: Arc::default(),
            refuse: Arc::default(),
        }
    }

    /// The hand-offs received so far.
    pub fn received(&self) -> Vec<Handoff> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// From now on, refuse hand-offs with this reason (`None`: accept again).
    pub fn refuse_with(&self, reason: Option<&str>) {
        *self.refuse.lock().unwrap_or_else(|p| p.into_inner()) = reason.map(str::to_owned);
    }
}

#[async_trait]
impl PartnerLine for RecordingPartner {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn hand_off(&self, handoff: Handoff) -> Result<HandoffTicket> {
        if let Some(reason) = self
            .refuse
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(Error::Partner {
                partner: self.id.clone(),
                message: reason,
            });
        }
        let continue_at = format!("{}/{}", self.continue_base, handoff.conversation);
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handoff);
        Ok(HandoffTicket { continue_at })
    }
}
