//! A partner line reached by a link: the client's page opens the partner's own chat.
//!
//! The partner organisations (in 2021-22 the children's rights line "Nu praat ik erover")
//! run their own chat; there is no shared API. So the hand-off is the consent question, the
//! summary the client read and agreed to, and a link to continue there. The summary is
//! shown to the client to take along; it is not sent anywhere, so nothing leaves the
//! sector without the client carrying it. An API hand-off would be another `PartnerLine`.

use async_trait::async_trait;
use clbchat_core::partner::{Handoff, HandoffTicket, PartnerLine};

use crate::settings::PartnerSettings;

/// A configured partner line.
#[derive(Debug, Clone)]
pub struct LinkPartner(PartnerSettings);

impl LinkPartner {
    /// From its settings.
    pub fn new(settings: PartnerSettings) -> Self {
        Self(settings)
    }
}

#[async_trait]
impl PartnerLine for LinkPartner {
    fn id(&self) -> &str {
        &self.0.id
    }

    fn name(&self) -> &str {
        &self.0.name
    }

    async fn hand_off(&self, _handoff: Handoff) -> clbchat_core::Result<HandoffTicket> {
        Ok(HandoffTicket {
            continue_at: self.0.continue_url.clone(),
        })
    }
}
