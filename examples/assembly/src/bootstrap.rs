//! The first coordinator (on a server of centres only, the sector's administrator): on a
//! fresh install no one can log in, so the server prints a one-time link on its console. Whoever opens it chooses the first coordinator's user name
//! and password; the link then stops working. While no active coordinator exists, every
//! start prints a new link (the old one dies with the process).
//!
//! The secret sits in the link's fragment (`/setup#token=…`), which browsers never send to
//! a server or put in a `Referer`, so it cannot end up in access logs. Only its SHA-256 is
//! kept in memory, and it is compared in constant time.

use std::sync::Mutex;

use clbchat_core::account::{Account, StaffIdentity, StaffRole, DEFAULT_CAPACITY};
use clbchat_core::auth::hash_password_async;
use clbchat_core::event::Discipline;
use clbchat_core::ids::{DeskId, StaffId};
use clbchat_core::pseudonym::{hash_secret, random_token};
use clbchat_core::store::Store;

use crate::error::{Error, Result};

/// Whether nobody can manage the server yet (so someone must be created): no active
/// coordinator of `desk`, or, for a server of centres only (`None`), no active sector
/// administrator.
pub async fn needs_first_coordinator(store: &dyn Store, desk: Option<&DeskId>) -> Result<bool> {
    Ok(!store.accounts().await?.iter().any(|a| {
        a.active
            && match desk {
                Some(desk) => a.identity.is_coordinator() && a.identity.serves(desk),
                None => a.identity.is_administrator(),
            }
    }))
}

/// The armed one-time token, if any.
#[derive(Debug, Default)]
pub struct Setup {
    armed: Mutex<Option<String>>,
}

/// What the setup page sends.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The token from the link.
    pub token: String,
    /// Login name.
    pub username: String,
    /// The name clients and colleagues see.
    pub alias: String,
    /// The password (at least 10 characters).
    pub password: String,
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Setup {
    /// Arms a new token and returns it (to print once).
    pub fn arm(&self) -> String {
        let token = random_token(32);
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some(hash_secret(&token));
        token
    }

    /// Whether a token is armed.
    pub fn is_armed(&self) -> bool {
        self.armed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Creates the first coordinator of `desks` (the server's own, see
    /// [`crate::app::Shared::first_coordinator_desks`]; for a server of centres only, none: the sector's
    /// administrator) if the token is the armed one, and disarms it.
    pub async fn complete(
        &self,
        store: &dyn Store,
        desks: &[DeskId],
        req: SetupRequest,
    ) -> Result<String> {
        {
            let armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
            match armed.as_deref() {
                Some(h) if same(h, &hash_secret(&req.token)) => {}
                Some(_) => {
                    return Err(Error::Refused(
                        "this setup link is not valid; use the newest link the server printed"
                            .into(),
                    ))
                }
                None => {
                    return Err(Error::Refused(
                        "this setup link was used already; log in on the coordinator page".into(),
                    ))
                }
            }
        }
        let username = req.username.trim().to_owned();
        if username.is_empty() || username.chars().count() > 64 {
            return Err(Error::Config("username: 1 to 64 characters".into()));
        }
        let alias = req.alias.trim().to_owned();
        if alias.is_empty() {
            return Err(Error::Config("alias: give the name colleagues see".into()));
        }
        let password = req.password.clone();
        let password_hash = hash_password_async(password).await?;
        if store.account(&username).await?.is_some() {
            return Err(Error::Config(format!(
                "username: `{username}` exists already"
            )));
        }
        // Disarm before writing, so two tabs racing cannot both create a coordinator.
        {
            let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
            match armed.as_deref() {
                Some(h) if same(h, &hash_secret(&req.token)) => *armed = None,
                _ => {
                    return Err(Error::Refused(
                        "this setup link was used already; log in on the coordinator page".into(),
                    ))
                }
            }
        }
        let account = Account {
            username: username.clone(),
            password_hash,
            active: true,
            identity: StaffIdentity {
                id: StaffId::new(username.clone()),
                alias,
                role: if !desks.is_empty() {
                    StaffRole::Coordinator
                } else {
                    StaffRole::Administrator
                },
                discipline: Discipline::PsychoPedagogical,
                desks: desks.to_vec(),
                capacity: DEFAULT_CAPACITY,
                centre: None,
            },
        };
        if let Err(e) = store.put_account(&account).await {
            // Not created: let the same link try again.
            *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some(hash_secret(&req.token));
            return Err(e.into());
        }
        Ok(username)
    }
}
