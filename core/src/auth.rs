//! The `Authenticator` port: turns a credential into a staff identity.
//!
//! Built-in accounts come first: [`AccountAuthenticator`] checks a user name and password
//! against the accounts in a [`Store`], with passwords hashed by Argon2id (the
//! RustCrypto `argon2` crate, rather than a home-made scheme). OpenID Connect (the planning
//! tool's single sign-on) can come later as another implementation of the same trait.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::account::StaffIdentity;
use crate::error::{Error, Result};
use crate::store::Store;

/// What someone presents to log in.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// User name and password.
    Password {
        /// Login name.
        username: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Password { username, .. } => {
                write!(
                    f,
                    "Password {{ username: {username:?}, password: <redacted> }}"
                )
            }
        }
    }
}

/// Turns a credential into an identity.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The identity, or [`Error::BadCredentials`].
    async fn authenticate(&self, credential: &Credential) -> Result<StaffIdentity>;
}

/// Shortest password accepted for a new account.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(format!(
            "password: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("password: cannot hash: {e}")))
}

/// Most Argon2id computations at once (hashing or verifying a password), process-wide.
///
/// Each takes 19 MiB and tens of milliseconds of CPU. Without a bound, a burst of logins
/// runs one per blocking thread, and the allocator keeps every thread's memory afterwards
/// (measured: 15 → 546 MiB after 100 logins); with it, logins queue for a moment and the
/// other core stays free for chats. A process-wide limit for a process-wide resource, so
/// a `static`, not engine state.
pub const MAX_CONCURRENT_HASHES: usize = 2;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// Runs an Argon2id computation on the blocking pool, at most [`MAX_CONCURRENT_HASHES`] at a
/// time, so it neither stalls the async threads nor takes unbounded memory.
async fn with_hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = HASHING
        .acquire()
        .await
        .map_err(|_| Error::Invalid("password hashing is shut down".into()))?;
    // The permit goes with the work: a caller that stops waiting does not free its place
    // while the computation still runs.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| Error::Invalid(format!("password: cannot hash: {e}")))
}

/// [`hash_password`] for async code: on the blocking pool, bounded by
/// [`MAX_CONCURRENT_HASHES`].
pub async fn hash_password_async(password: String) -> Result<String> {
    with_hashing(move || hash_password(&password)).await?
}

fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks passwords against the accounts in a store.
#[derive(Clone)]
pub struct AccountAuthenticator {
    store: Arc<dyn Store>,
    // A hash to verify against when the user does not exist, so the answer takes as long
    // either way and does not reveal which user names exist.
    dummy_hash: String,
}

impl AccountAuthenticator {
    /// Over the accounts of `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let dummy_hash = hash_password("no-such-user-dummy-password").unwrap_or_default();
        Self { store, dummy_hash }
    }
}

#[async_trait]
impl Authenticator for AccountAuthenticator {
    async fn authenticate(&self, credential: &Credential) -> Result<StaffIdentity> {
        let Credential::Password { username, password } = credential;
        let account = self.store.account(username).await?;
        // Always one verification, against the dummy hash for unknown names, so the time
        // taken does not tell which names exist; off the async threads, since Argon2 takes
        // tens of milliseconds of CPU that chats would otherwise wait for.
        let phc = account
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |a| a.password_hash.clone());
        let password = password.clone();
        let verified = with_hashing(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        match account {
            Some(a) if a.active && verified => Ok(a.identity),
            _ => Err(Error::BadCredentials),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Account, StaffRole, DEFAULT_CAPACITY};
    use crate::event::Discipline;
    use crate::ids::{DeskId, StaffId};
    use crate::store::memory::MemoryStore;

    fn account(username: &str, password: &str, active: bool) -> Account {
        Account {
            username: username.into(),
            password_hash: hash_password(password).unwrap(),
            active,
            identity: StaffIdentity {
                id: StaffId::new(username),
                alias: "Medewerker A".into(),
                role: StaffRole::Counsellor,
                discipline: Discipline::Medical,
                desks: vec![DeskId::new("clbchat")],
                capacity: DEFAULT_CAPACITY,
                centre: None,
            },
        }
    }

    fn password(username: &str, password: &str) -> Credential {
        Credential::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    #[tokio::test]
    async fn built_in_accounts_log_in_with_the_right_password_only() {
        let store = Arc::new(MemoryStore::new());
        store
            .put_account(&account("an", "een lang wachtwoord", true))
            .await
            .unwrap();
        store
            .put_account(&account("oud", "een lang wachtwoord", false))
            .await
            .unwrap();
        let auth = AccountAuthenticator::new(store);
        let me = auth
            .authenticate(&password("an", "een lang wachtwoord"))
            .await
            .unwrap();
        assert_eq!(me.id, StaffId::new("an"));
        for (user, pw) in [
            ("an", "fout"),
            ("niemand", "een lang wachtwoord"),
            ("oud", "een lang wachtwoord"),
        ] {
            let err = auth.authenticate(&password(user, pw)).await.unwrap_err();
            // The same answer for a wrong password, an unknown user and a disabled account.
            assert_eq!(err.to_string(), "wrong user name or password", "{user}");
        }
    }

    #[test]
    fn short_passwords_are_refused_and_credentials_never_print_the_password() {
        assert!(hash_password("kort")
            .unwrap_err()
            .to_string()
            .contains("at least 10"));
        let shown = format!("{:?}", password("an", "geheim-wachtwoord"));
        assert!(!shown.contains("geheim"), "{shown}");
    }
}
