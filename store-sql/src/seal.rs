//! Crypto-shredding: every conversation's text is sealed with a key of its own, and the
//! keys live apart from the text, in a key file of their own. The retention purge destroys
//! a conversation's key before it deletes its rows, so its text is unreadable in every copy
//! of the database too: a backup, a replica, a file copied off the server. Without that, a
//! purge deletes rows in the live database while every backup keeps every chat for as long
//! as backups are kept.
//!
//! - **What is sealed**: the body of every event that carries text (messages, whispers,
//!   transfer notes, the reason for a longer chat: [`EventBody::has_text`]) and a rating's
//!   free-text comment. The columns the statistics read (kind, times, desk, profile codes)
//!   stay plain: statistics and search never read text.
//! - **How**: XChaCha20-Poly1305 (the RustCrypto `chacha20poly1305` crate, audited and widely
//!   used) with a random 192-bit nonce per value, so random nonces never repeat in
//!   practice; the conversation's id and the event's number are bound in as associated data,
//!   so a sealed body cannot be moved to another row unnoticed. Stored as text:
//!   `~1:` and the base64 of nonce and ciphertext (JSON never starts with `~`).
//! - **The key file**: a SQLite file of its own (owner-only, `synchronous=FULL`,
//!   `secure_delete=ON`, its write-ahead log truncated after each destruction), one random
//!   256-bit key per conversation, created durably before the conversation's first sealed
//!   row is written. The database records which key file it belongs to (a random id in
//!   `store_meta`): a key file that is missing for a database that has one, or that belongs
//!   to another database, or that cannot be read, stops the store from opening, naming the
//!   file, instead of writing text nobody can read later.
//! - **What it cannot promise**: a copy of the key file taken before a purge can open the
//!   text of a copy of the database taken before it; keep the key file's backups no longer
//!   than the retention period (see `docs/storage.md`). A key still in memory or in a
//!   filesystem's freed blocks is beyond a database's reach.
//!
//! [`EventBody::has_text`]: clbchat_core::event::EventBody::has_text

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use uuid::Uuid;

use crate::error::{Context, Error, Result};

/// What a sealed value starts with (format 1).
const SEALED: &str = "~1:";
/// Bytes of a key.
const KEY_LEN: usize = 32;
/// Bytes of a nonce.
const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag.
const TAG_LEN: usize = 16;

/// One conversation's key.
type ConvKey = [u8; KEY_LEN];

/// Where the keys are kept ([`crate::SqlOptions::key_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyLocation {
    /// A key file.
    File(PathBuf),
    /// In memory, for a database in memory (both gone when the store is dropped).
    Memory,
}

/// The keys: the key file (or memory) and the keys in use, cached.
pub(crate) struct Keys {
    file: Option<(SqlitePool, PathBuf)>,
    /// The key file's id, which the database records.
    id: String,
    /// Known keys; in memory, the only copy.
    cache: Mutex<HashMap<Uuid, ConvKey>>,
    /// Makes creating a key one at a time, so two first rows of a conversation agree.
    creating: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("file", &self.file.as_ref().map(|(_, p)| p))
            .finish_non_exhaustive()
    }
}

fn key_file_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Keys(format!("the key file `{}` {what}", path.display()))
}

/// Creates a missing file readable by its owner only (it holds every conversation's key).
fn create_owner_only(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::File {
            context: format!("creating the folder of the key file `{}`", path.display()),
            source,
        })?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(|_| ()).map_err(|source| Error::File {
        context: format!("creating the key file `{}`", path.display()),
        source,
    })
}

impl Keys {
    /// Opens the keys at `location` for a database that records the key file `recorded`
    /// (`None`: a database that has none yet, which then takes this one's id).
    pub(crate) async fn load(location: &KeyLocation, recorded: Option<&str>) -> Result<Keys> {
        let path = match location {
            KeyLocation::Memory => {
                return Ok(Keys {
                    file: None,
                    id: Uuid::new_v4().to_string(),
                    cache: Mutex::new(HashMap::new()),
                    creating: tokio::sync::Mutex::new(()),
                })
            }
            KeyLocation::File(path) => path,
        };
        let exists = path.exists();
        if !exists {
            if recorded.is_some() {
                return Err(key_file_error(
                    path,
                    "is missing, but this database's chats are sealed with its keys: \
                     restore it from its backup (without it their text cannot be read), \
                     or point the store at the right file",
                ));
            }
            create_owner_only(path)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
            .busy_timeout(std::time::Duration::from_secs(5));
        let unreadable = |e: sqlx::Error| {
            key_file_error(
                path,
                format!("cannot be read ({e}); restore it from its backup"),
            )
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(unreadable)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS key_file (id TEXT NOT NULL, created_at TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .map_err(unreadable)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS conversation_keys \
             (conversation BLOB NOT NULL PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID",
        )
        .execute(&pool)
        .await
        .map_err(unreadable)?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM key_file LIMIT 1")
            .fetch_optional(&pool)
            .await
            .map_err(unreadable)?;
        let id = match id {
            Some(id) => id,
            None if exists && recorded.is_some() => {
                return Err(key_file_error(
                    path,
                    "holds no keys of this database (it is empty or another file); restore \
                     the right one from its backup",
                ))
            }
            None => {
                let id = Uuid::new_v4().to_string();
                sqlx::query("INSERT INTO key_file (id, created_at) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(chrono::Utc::now().to_rfc3339())
                    .execute(&pool)
                    .await
                    .map_err(unreadable)?;
                id
            }
        };
        if let Some(recorded) = recorded {
            if recorded != id {
                return Err(key_file_error(
                    path,
                    "belongs to another database; point the store at this database's key \
                     file",
                ));
            }
        }
        Ok(Keys {
            file: Some((pool, path.clone())),
            id,
            cache: Mutex::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
        })
    }

    /// The key file's id, which the database records.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn cached(&self, conversation: Uuid) -> Option<ConvKey> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&conversation)
            .copied()
    }

    async fn stored(&self, conversation: Uuid) -> Result<Option<ConvKey>> {
        let Some((pool, _)) = &self.file else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT key FROM conversation_keys WHERE conversation = $1")
            .bind(conversation)
            .fetch_optional(pool)
            .await
            .context("reading a conversation's key")?;
        let Some(row) = row else { return Ok(None) };
        let bytes: Vec<u8> = row.try_get("key").context("reading a conversation's key")?;
        let key = ConvKey::try_from(bytes.as_slice()).map_err(|_| {
            Error::Data(format!("the key of conversation {conversation} is damaged"))
        })?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conversation, key);
        Ok(Some(key))
    }

    /// The conversation's key, if it has one (none: never sealed, or destroyed).
    async fn key(&self, conversation: Uuid) -> Result<Option<ConvKey>> {
        match self.cached(conversation) {
            Some(k) => Ok(Some(k)),
            None => self.stored(conversation).await,
        }
    }

    /// The conversation's key, made (durably) if it has none yet.
    async fn key_to_seal(&self, conversation: Uuid) -> Result<ConvKey> {
        if let Some(k) = self.cached(conversation) {
            return Ok(k);
        }
        let _one_at_a_time = self.creating.lock().await;
        if let Some(k) = self.key(conversation).await? {
            return Ok(k);
        }
        let mut key = [0u8; KEY_LEN];
        rand::thread_rng().fill_bytes(&mut key);
        if let Some((pool, _)) = &self.file {
            sqlx::query("INSERT INTO conversation_keys (conversation, key) VALUES ($1, $2)")
                .bind(conversation)
                .bind(key.as_slice())
                .execute(pool)
                .await
                .context("storing a conversation's key")?;
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conversation, key);
        Ok(key)
    }

    /// Seals `text` of `conversation`; `place` says where it goes (bound in, so the sealed
    /// value opens only there).
    pub(crate) async fn seal(
        &self,
        conversation: Uuid,
        place: &Place,
        text: &str,
    ) -> Result<String> {
        let key = self.key_to_seal(conversation).await?;
        seal_with(&key, &place.aad(conversation), text)
    }

    /// Opens a stored value of `conversation` at `place`: a sealed one with its key, a
    /// plain one (written before sealing existed) as it is. `Ok(None)`: its key was
    /// destroyed (the text was purged).
    pub(crate) async fn open(
        &self,
        conversation: Uuid,
        place: &Place,
        stored: &str,
    ) -> Result<Option<String>> {
        let Some(encoded) = stored.strip_prefix(SEALED) else {
            return Ok(Some(stored.to_owned()));
        };
        let Some(key) = self.key(conversation).await? else {
            return Ok(None);
        };
        let damaged = || {
            Error::Data(format!(
                "a sealed text of conversation {conversation} is damaged"
            ))
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = place.aad(conversation);
        let text = XChaCha20Poly1305::new(Key::from_slice(&key))
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(text).map(Some).map_err(|_| damaged())
    }

    /// Destroys the keys of `conversations` (durably, overwritten on disk), so their sealed
    /// text can never be opened again, here or in any copy of the database.
    pub(crate) async fn destroy(&self, conversations: &[Uuid]) -> Result<()> {
        if conversations.is_empty() {
            return Ok(());
        }
        if let Some((pool, _)) = &self.file {
            let mut tx = pool.begin().await.context("starting to destroy keys")?;
            for c in conversations {
                sqlx::query("DELETE FROM conversation_keys WHERE conversation = $1")
                    .bind(*c)
                    .execute(&mut *tx)
                    .await
                    .context("destroying a conversation's key")?;
            }
            tx.commit().await.context("destroying keys")?;
            // The deleted pages are zeroed (secure_delete); copy them out of the log now.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .context("checkpointing the key file")?;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for c in conversations {
            cache.remove(c);
        }
        Ok(())
    }

    /// Closes the key file.
    pub(crate) async fn close(&self) {
        if let Some((pool, _)) = &self.file {
            pool.close().await;
        }
    }
}

/// Seals `text` under `key` with a fresh random nonce: `~1:` and the base64 of nonce,
/// ciphertext and tag. Encrypted in place in one buffer and encoded into one string (the
/// first version made four buffers per message: the ciphertext, nonce and ciphertext, the
/// base64, and the prefixed string).
fn seal_with(key: &ConvKey, aad: &[u8], text: &str) -> Result<String> {
    let mut buf = Vec::with_capacity(NONCE_LEN + text.len() + TAG_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(text.as_bytes());
    let tag = XChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), aad, &mut buf[NONCE_LEN..])
        .map_err(|_| Error::Data("a text could not be sealed".into()))?;
    buf.extend_from_slice(&tag);
    let engine = &base64::engine::general_purpose::STANDARD_NO_PAD;
    let encoded = base64::encoded_len(buf.len(), false).unwrap_or(0);
    let mut out = String::with_capacity(SEALED.len() + encoded);
    out.push_str(SEALED);
    engine.encode_string(&buf, &mut out);
    Ok(out)
}

/// Where a sealed value goes: bound into it, so it opens only there.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// The body of event `seq`.
    Event(i64),
    /// The comment of the conversation's rating.
    RatingComment,
    /// The counsellor's question in the feedback on the conversation.
    FeedbackQuestion,
    /// The coordinator's text in the feedback on the conversation.
    FeedbackText,
}

impl Place {
    fn aad(&self, conversation: Uuid) -> Vec<u8> {
        let mut aad = Vec::with_capacity(40);
        match self {
            Place::Event(seq) => {
                aad.extend_from_slice(b"event\0");
                aad.extend_from_slice(conversation.as_bytes());
                aad.extend_from_slice(&seq.to_be_bytes());
            }
            Place::RatingComment => {
                aad.extend_from_slice(b"rating\0");
                aad.extend_from_slice(conversation.as_bytes());
            }
            Place::FeedbackQuestion => {
                aad.extend_from_slice(b"feedback-question\0");
                aad.extend_from_slice(conversation.as_bytes());
            }
            Place::FeedbackText => {
                aad.extend_from_slice(b"feedback\0");
                aad.extend_from_slice(conversation.as_bytes());
            }
        }
        aad
    }
}

/// Whether a stored value is sealed.
#[cfg(test)]
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sealed_text_opens_only_with_its_key_at_its_place() {
        let keys = Keys::load(&KeyLocation::Memory, None).await.expect("keys");
        let c = Uuid::new_v4();
        let sealed = keys
            .seal(c, &Place::Event(3), "ik voel me niet goed")
            .await
            .expect("sealed");
        assert!(is_sealed(&sealed) && !sealed.contains("goed"), "{sealed}");
        let again = keys
            .seal(c, &Place::Event(3), "ik voel me niet goed")
            .await
            .expect("sealed");
        assert_ne!(sealed, again, "a fresh nonce each time");
        assert_eq!(
            keys.open(c, &Place::Event(3), &sealed).await.expect("open"),
            Some("ik voel me niet goed".to_owned())
        );
        // Moved to another row, it does not open.
        assert!(keys.open(c, &Place::Event(4), &sealed).await.is_err());
        // A plain value (from before sealing) is read as it is.
        assert_eq!(
            keys.open(c, &Place::Event(1), "{\"type\":\"ended\"}")
                .await
                .expect("open"),
            Some("{\"type\":\"ended\"}".to_owned())
        );
        keys.destroy(&[c]).await.expect("destroy");
        assert_eq!(
            keys.open(c, &Place::Event(3), &sealed).await.expect("open"),
            None
        );
    }

    #[tokio::test]
    async fn a_key_file_that_is_missing_or_foreign_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keys.db");
        let keys = Keys::load(&KeyLocation::File(path.clone()), None)
            .await
            .expect("created");
        let id = keys.id().to_owned();
        let c = Uuid::new_v4();
        let sealed = keys
            .seal(c, &Place::RatingComment, "top")
            .await
            .expect("sealed");
        keys.close().await;
        // Opened again: the same keys.
        let keys = Keys::load(&KeyLocation::File(path.clone()), Some(&id))
            .await
            .expect("reopened");
        assert_eq!(
            keys.open(c, &Place::RatingComment, &sealed)
                .await
                .expect("open"),
            Some("top".to_owned())
        );
        keys.close().await;
        let e = Keys::load(&KeyLocation::File(path.clone()), Some("another"))
            .await
            .expect_err("foreign");
        assert!(e.to_string().contains("belongs to another database"), "{e}");
        let gone = dir.path().join("gone.db");
        let e = Keys::load(&KeyLocation::File(gone), Some(&id))
            .await
            .expect_err("missing");
        assert!(e.to_string().contains("gone.db` is missing"), "{e}");
        std::fs::write(&path, b"this is not a database at all, just bytes").expect("write");
        let _ = std::fs::remove_file(dir.path().join("keys.db-wal"));
        let _ = std::fs::remove_file(dir.path().join("keys.db-shm"));
        let e = Keys::load(&KeyLocation::File(path), Some(&id))
            .await
            .expect_err("corrupt");
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
