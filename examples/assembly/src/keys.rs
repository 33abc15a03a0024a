//! The pseudonym key file: created with a fresh random key on first start, readable by its
//! owner only, and read on every start after, so a returning visitor keeps the same
//! pseudonym (and their flags) across restarts.
//!
//! The file lists keys newest first; the first makes new pseudonyms, the others are kept for
//! rotation (a visitor known under an old key is recognised and moved to the new one).
//! To rotate: `clbchat keys rotate` writes a new key in front.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clbchat_core::pseudonym::{random_token, PseudonymKey, Pseudonymizer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    secret: String,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEntry({}, <secret>)", self.id)
    }
}

const HEADER: &str = "# clbchat pseudonym keys, newest first. Keep this file secret and keep it:\n\
# without it returning visitors are not recognised. Never edit a secret by hand.\n";

fn fresh(id: &str) -> KeyEntry {
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    KeyEntry {
        id: id.to_owned(),
        secret: STANDARD.encode(secret),
    }
}

fn write(path: &Path, file: &KeyFile) -> Result<()> {
    crate::files::create_parent(path)?;
    let text = toml::to_string(file)
        .map_err(|e| Error::Refused(format!("cannot write the key file: {e}")))?;
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = crate::files::secret_options()
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(HEADER.as_bytes())
            .and_then(|()| f.write_all(text.as_bytes()))
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    // Make the rename itself durable.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<KeyFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // The parser's message quotes the offending line, which may hold a secret: not shown.
    let file: KeyFile = toml::from_str(&text).map_err(|_| {
        Error::Config(format!(
            "pseudonyms.key_file: {} is not a key file (expected [[keys]] entries with id and \
             secret; the parse error is not shown because the file holds secrets)",
            path.display()
        ))
    })?;
    if file.keys.is_empty() {
        return Err(Error::Config(format!(
            "pseudonyms.key_file: {} lists no keys",
            path.display()
        )));
    }
    Ok(file)
}

/// Loads the keys, creating the file with one fresh key if it does not exist. Returns the
/// pseudonymizer and whether the file was created now.
pub fn load_or_create(path: &Path) -> Result<(Pseudonymizer, bool)> {
    let created = !path.exists();
    if created {
        write(
            path,
            &KeyFile {
                keys: vec![fresh("k1")],
            },
        )?;
    }
    let file = read(path)?;
    let mut keys = Vec::with_capacity(file.keys.len());
    for k in &file.keys {
        let secret = STANDARD.decode(&k.secret).map_err(|e| {
            Error::Config(format!(
                "pseudonyms.key_file: key `{}` in {}: the secret is not base64: {e}",
                k.id,
                path.display()
            ))
        })?;
        keys.push(
            PseudonymKey::new(k.id.clone(), secret).map_err(|e| {
                Error::Config(format!("pseudonyms.key_file: {}: {e}", path.display()))
            })?,
        );
    }
    let current = keys.remove(0);
    Ok((Pseudonymizer::with_previous(current, keys), created))
}

/// Puts a fresh key in front (the old ones stay for recognising returning visitors).
/// Returns the new key's id.
pub fn rotate(path: &Path) -> Result<String> {
    let mut file = read(path)?;
    let n = file.keys.len() + 1;
    let mut id = format!("k{n}");
    while file.keys.iter().any(|k| k.id == id) {
        id = format!("k{}", random_token(3));
    }
    file.keys.insert(0, fresh(&id));
    write(path, &file)?;
    Ok(id)
}
