//! Staff accounts as data: who a staff member is ([`StaffIdentity`]), the stored account
//! ([`Account`]), what a coordinator sees of it ([`AccountView`]) and changes
//! ([`AccountChange`]). The [`crate::store::Store`] keeps them and [`crate::auth`] checks
//! passwords against them; neither module needs the other.

use serde::{Deserialize, Serialize};

use crate::event::Discipline;
use crate::ids::{CentreId, DeskId, StaffId};

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Answers chats.
    Counsellor,
    /// Sees the desk, observes, whispers, takes over, reviews flags; may also answer chats.
    Coordinator,
    /// The sector's administrator (Chat-met-je-CLB): creates the centres and their
    /// coordinators' accounts, reads every desk's statistics. Answers no chat, sees no
    /// board, reads no transcript: a desk's chats stay with its own team.
    Administrator,
}

/// Default number of chats a counsellor handles at once.
pub const DEFAULT_CAPACITY: u32 = 1;

/// Who a staff member is, as the engine knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffIdentity {
    /// Account id.
    pub id: StaffId,
    /// The pseudonym shown to clients (counsellors are anonymous too).
    pub alias: String,
    /// Role.
    pub role: StaffRole,
    /// Discipline.
    pub discipline: Discipline,
    /// The desks whose team they belong to.
    pub desks: Vec<DeskId>,
    /// Concurrent chats (default [`DEFAULT_CAPACITY`]).
    pub capacity: u32,
    /// The centre they work for (blended chat: their trajectories belong to it). Accounts
    /// made before centres existed have none.
    #[serde(default)]
    pub centre: Option<CentreId>,
}

impl StaffIdentity {
    /// Whether they belong to the desk's team.
    pub fn serves(&self, desk: &DeskId) -> bool {
        self.desks.iter().any(|d| d == desk)
    }

    /// Whether they are a coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.role == StaffRole::Coordinator
    }

    /// Whether they are the sector's administrator.
    pub fn is_administrator(&self) -> bool {
        self.role == StaffRole::Administrator
    }

    /// Whether they manage accounts: a coordinator (those of their desks) or the
    /// administrator (every account).
    pub fn manages_accounts(&self) -> bool {
        self.is_coordinator() || self.is_administrator()
    }
}

/// A stored account: identity, login name and password hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in.
    pub active: bool,
    /// Identity.
    pub identity: StaffIdentity,
}

/// An account as a coordinator sees it: never the password hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    /// Login name.
    pub username: String,
    /// Whether the account may log in.
    pub active: bool,
    /// Who the account is.
    pub identity: StaffIdentity,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            username: a.username.clone(),
            active: a.active,
            identity: a.identity.clone(),
        }
    }
}

/// A coordinator's change to an account: a new account, or new details for an existing one.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountChange {
    /// Login name (the key).
    pub username: String,
    /// `true`: a new account; refused if the user name exists (so adding never overwrites
    /// a colleague's account). `false`: a change to an existing account.
    #[serde(default)]
    pub create: bool,
    /// A new password; `None` keeps the current one (required for a new account).
    #[serde(default)]
    pub password: Option<String>,
    /// Whether the account may log in.
    pub active: bool,
    /// Who the account is.
    pub identity: StaffIdentity,
}

impl std::fmt::Debug for AccountChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountChange")
            .field("username", &self.username)
            .field("create", &self.create)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("active", &self.active)
            .field("identity", &self.identity)
            .finish()
    }
}
