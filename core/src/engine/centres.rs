//! Centres as tenants (Chat-met-je-CLB): an engine built with
//! [`EngineBuilder::centres`](super::EngineBuilder::centres) hosts a chatbox desk for every
//! centre in the store. The sector's administrator adds and changes centres
//! ([`StaffHandle::save_centre`]); a centre added another way while the server runs (the
//! `centres import` command) is hosted when one of its staff logs in, or by the server at
//! its box's first visit ([`Engine::host_centre`]).
//!
//! A centre's desk takes the template's limits and the centre's id and name, with an
//! events-only calendar: the box is closed until its coordinator opens it (a calendar saved
//! for the desk replaces it, as for every desk).

use super::session::StaffHandle;
use super::Engine;
use crate::account::StaffIdentity;
use crate::calendar::Calendar;
use crate::centre::Centre;
use crate::config::DeskConfig;
use crate::error::{Error, Result};
use crate::ids::CentreId;

impl Engine {
    /// Whether the engine hosts the centres' chatboxes.
    pub fn hosts_centres(&self) -> bool {
        self.shared.centre_desk.is_some()
    }

    /// The desk of `centre`'s chatbox, as this engine makes it.
    pub fn centre_desk(&self, centre: &Centre) -> Result<DeskConfig> {
        let Some(template) = &self.shared.centre_desk else {
            return Err(Error::Invalid(format!(
                "this server hosts no centre's chatbox (`{}`)",
                centre.id
            )));
        };
        let mut desk = template.clone();
        desk.id = centre.desk();
        desk.name = centre.name.clone();
        desk.calendar = Calendar::events_only(Vec::new());
        Ok(desk)
    }

    /// Makes sure the engine hosts `centre`'s chatbox; a centre hosted already keeps its
    /// desk, under the centre's name as stored now. Returns whether it was added.
    pub async fn host_centre(&self, centre: &Centre) -> Result<bool> {
        if self.hosts_centres() {
            if let Ok(desk) = self.shared.desk(&centre.desk()) {
                // Every visit of a box comes here: write only when the name changed.
                let renamed =
                    desk.config.read().unwrap_or_else(|p| p.into_inner()).name != centre.name;
                if renamed {
                    desk.config.write().unwrap_or_else(|p| p.into_inner()).name =
                        centre.name.clone();
                }
                return Ok(false);
            }
        }
        let config = self.centre_desk(centre)?;
        match self.add_desk(config).await {
            Ok(()) => {
                tracing::info!(centre = %centre.id, "a centre's chatbox is here");
                Ok(true)
            }
            // Two at once (a first visitor and a login): the other one added it.
            Err(_) if self.shared.desk(&centre.desk()).is_ok() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Hosts the centres among a staff member's desks that the engine does not host yet
    /// (added to the store while the server runs).
    pub(crate) async fn host_centres_of(&self, identity: &StaffIdentity) -> Result<()> {
        if !self.hosts_centres() {
            return Ok(());
        }
        for desk in &identity.desks {
            if self.shared.desk(desk).is_ok() {
                continue;
            }
            if let Some(centre) = self.shared.store.centre(&CentreId::new(&desk.0)).await? {
                self.host_centre(&centre).await?;
            }
        }
        Ok(())
    }
}

impl StaffHandle {
    /// The sector's administrator adds a centre (`create`) or changes one's name and
    /// websites; its chatbox is hosted at once. Returns the centre as stored.
    pub async fn save_centre(&self, mut centre: Centre, create: bool) -> Result<Centre> {
        let engine = Engine {
            shared: self.shared.clone(),
        };
        if !self.identity().is_administrator() {
            return Err(Error::Forbidden(
                "only the sector's administrator adds or changes centres".into(),
            ));
        }
        if !engine.hosts_centres() {
            return Err(Error::Invalid(
                "this server hosts no centre's chatbox; centres are added on the server of \
                 Chat-met-je-CLB"
                    .into(),
            ));
        }
        centre.validate()?;
        let store = &self.shared.store;
        match (store.centre(&centre.id).await?, create) {
            (Some(_), true) => {
                return Err(Error::Invalid(format!(
                    "id: a centre `{}` exists already; choose another id or change that one",
                    centre.id
                )))
            }
            (None, false) => {
                return Err(Error::Invalid(format!(
                    "id: there is no centre `{}`; reload the list",
                    centre.id
                )))
            }
            (Some(old), false) => centre.created_at = old.created_at,
            (None, true) => centre.created_at = self.shared.clock.now(),
        }
        store.put_centre(&centre).await?;
        engine.host_centre(&centre).await?;
        tracing::info!(staff = %self.identity().id, centre = %centre.id, created = create, "centre saved");
        Ok(centre)
    }
}
