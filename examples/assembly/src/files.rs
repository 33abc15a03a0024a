//! Files at rest: everything the server writes is for its own user only.
//!
//! The data folder holds the database (every transcript), the pseudonym keys and, until the
//! first coordinator exists, the setup link. Folders the server creates are `0700` and the
//! files `0600`, so another account on the machine reads none of them (SQLite's WAL and
//! shared-memory files take the database file's mode, see `clbchat_store_sql`). A folder
//! or file that already exists keeps the mode its owner gave it. On other systems than Unix
//! the platform's defaults apply.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::settings::Settings;

/// The file the setup link goes to when stdout is not a terminal, beside the key file.
pub const SETUP_LINK_FILE: &str = "setup-link.txt";

/// Creates `dir` and its missing parents, readable by this user only.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

/// Creates the folder a file goes in (see [`create_private_dir`]).
pub fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => create_private_dir(dir),
        None => Ok(()),
    }
}

/// Writes `text` to a file only its owner can read (created or replaced).
pub fn write_secret_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    create_parent(path)?;
    let _ = std::fs::remove_file(path);
    let mut f = secret_options()
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .map_err(|e| Error::io(path, e))
}

/// Options for writing a file only its owner can read.
pub fn secret_options() -> std::fs::OpenOptions {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Where the setup link is written when stdout is not a terminal.
pub fn setup_link_path(settings: &Settings) -> PathBuf {
    settings
        .pseudonyms
        .key_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join(SETUP_LINK_FILE)
}

/// Removes the setup link's file: it was used, or a coordinator exists. A file that is not
/// there is fine.
pub fn remove_setup_link(settings: &Settings) {
    let path = setup_link_path(settings);
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!("the used setup link's file was removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "could not remove the setup link's file"),
    }
}
