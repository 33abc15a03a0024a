//! Pseudonyms: how a returning visitor is recognised without being identified.
//!
//! The visitor's browser keeps a random token (at least 128 bits). The engine never stores
//! it: it keeps only `HMAC-SHA256(secret, token)`, the [`Pseudonym`], to which visit counts
//! and flags attach. Without the server secret a pseudonym cannot be linked back to a token,
//! and the token itself identifies nobody (it is not derived from a name, an IP address or a
//! device). Rotating the secret: the newest key makes new pseudonyms; older keys are kept for
//! a while so that a returning visitor's history can be found under its old pseudonym and
//! moved to the new one ([`crate::store::Store::rekey_pseudonym`]).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};

/// A keyed hash of a visitor token, hex-encoded, prefixed with the key id (`k1:ab12…`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(pub String);

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short form: enough to correlate log lines, too little to be worth anything else.
        let short: String = self.0.chars().take(12).collect();
        write!(f, "Pseudonym({short}…)")
    }
}

/// Shortest accepted visitor token, in characters of URL-safe base64 (22 chars = 128 bits).
pub const MIN_TOKEN_CHARS: usize = 22;
/// Longest accepted visitor token.
pub const MAX_TOKEN_CHARS: usize = 128;

/// A visitor token as the browser keeps it. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VisitorToken(String);

impl fmt::Debug for VisitorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VisitorToken(<redacted>)")
    }
}

impl VisitorToken {
    /// A fresh random token (256 bits) for a visitor whose browser has none yet.
    pub fn generate() -> Self {
        Self(random_token(32))
    }

    /// Accepts a token a browser sent, if it has the right form.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok_len = (MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "visitor token: expected {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} URL-safe base64 characters"
            )))
        }
    }

    /// The token, to hand back to the browser that keeps it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `bytes` random bytes from the OS generator, as URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret such as a resume token, hex-encoded: what is stored instead of it.
pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One pseudonym key.
#[derive(Clone)]
pub struct PseudonymKey {
    /// Short id written in front of every pseudonym made with this key.
    pub id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PseudonymKey({}, <secret>)", self.id)
    }
}

impl PseudonymKey {
    /// A key from its id and secret; the secret must be at least 32 bytes.
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self> {
        let id = id.into();
        let secret = secret.into();
        if secret.len() < 32 {
            return Err(Error::Invalid(format!(
                "pseudonym key `{id}`: the secret must be at least 32 bytes (got {})",
                secret.len()
            )));
        }
        if id.is_empty() || id.contains(':') {
            return Err(Error::Invalid(
                "pseudonym key: the id must be non-empty without `:`".into(),
            ));
        }
        Ok(Self { id, secret })
    }

    /// A fresh random key.
    pub fn generate(id: impl Into<String>) -> Self {
        let mut secret = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self {
            id: id.into(),
            secret,
        }
    }

    fn pseudonym(&self, token: &VisitorToken) -> Pseudonym {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(token.0.as_bytes());
        Pseudonym(format!("{}:{}", self.id, hex(&mac.finalize().into_bytes())))
    }
}

/// Makes pseudonyms with the current key and recognises those of earlier keys.
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    current: PseudonymKey,
    previous: Vec<PseudonymKey>,
}

impl Pseudonymizer {
    /// With one key.
    pub fn new(current: PseudonymKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// With a current key and older keys still recognised (newest first).
    pub fn with_previous(current: PseudonymKey, previous: Vec<PseudonymKey>) -> Self {
        Self { current, previous }
    }

    /// The pseudonym under the current key.
    pub fn pseudonym(&self, token: &VisitorToken) -> Pseudonym {
        self.current.pseudonym(token)
    }

    /// The pseudonyms of this token under the older keys, to find history made before a rotation.
    pub fn previous_pseudonyms(&self, token: &VisitorToken) -> Vec<Pseudonym> {
        self.previous.iter().map(|k| k.pseudonym(token)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_same_pseudonym_other_key_other_pseudonym() {
        let token = VisitorToken::generate();
        let a = Pseudonymizer::new(PseudonymKey::generate("k1"));
        let b = Pseudonymizer::new(PseudonymKey::generate("k1"));
        assert_eq!(a.pseudonym(&token), a.pseudonym(&token));
        assert_ne!(a.pseudonym(&token), b.pseudonym(&token));
        assert!(!a.pseudonym(&token).0.contains(token.expose()));
    }

    #[test]
    fn rotation_keeps_old_pseudonyms_recognisable() {
        let old = PseudonymKey::generate("k1");
        let token = VisitorToken::generate();
        let before = Pseudonymizer::new(old.clone()).pseudonym(&token);
        let after = Pseudonymizer::with_previous(PseudonymKey::generate("k2"), vec![old]);
        assert_ne!(after.pseudonym(&token), before);
        assert_eq!(after.previous_pseudonyms(&token), vec![before]);
    }

    #[test]
    fn tokens_are_checked_and_never_printed() {
        assert!(VisitorToken::parse("short").is_err());
        assert!(VisitorToken::parse("has spaces in it which are not allowed").is_err());
        let t = VisitorToken::generate();
        assert_eq!(VisitorToken::parse(t.expose()).unwrap(), t);
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(PseudonymKey::new("k", b"short".to_vec()).is_err());
    }
}
