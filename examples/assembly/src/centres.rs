//! The centres of Chat-met-je-CLB from a file: the sector's administrator imports the 61
//! centres (or a few) from TOML or from a spreadsheet saved as CSV, instead of typing them.
//!
//! TOML (`examples/chat-met-je-clb/config/centres.toml`):
//!
//! ```toml
//! [[centre]]
//! id = "clb-gent"
//! name = "CLB Gent"
//! origins = ["https://www.clbgent.be"]   # optional: websites that may embed the box
//! ```
//!
//! CSV, with a header line: `id,name,origins` (the `origins` column optional, its websites
//! separated by spaces).
//!
//! A file is checked whole before anything is stored ([`Centre::validate`] for every
//! centre, no id twice): one bad line stores nothing, and the error names the line. An
//! import adds new centres and updates the name and websites of known ones; it never
//! deletes a centre.

use std::path::Path;

use chrono::{DateTime, Utc};
use clbchat_core::centre::Centre;
use clbchat_core::ids::CentreId;
use clbchat_core::store::Store;
use serde::Deserialize;

use crate::error::{Error, Result};

/// One centre as written in a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlCentre {
    id: String,
    name: String,
    #[serde(default)]
    origins: Vec<String>,
}

/// A TOML file of centres.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    centre: Vec<TomlCentre>,
}

/// One CSV record.
#[derive(Debug, Deserialize)]
struct CsvCentre {
    id: String,
    name: String,
    #[serde(default)]
    origins: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    /// Centres that were not there.
    pub added: usize,
    /// Known centres whose name or websites changed.
    pub changed: usize,
    /// Known centres the file left as they were.
    pub unchanged: usize,
}

/// Reads and checks a file of centres (`.toml` or `.csv`, by its extension), stamped
/// `now` as their creation (an import keeps a known centre's own).
pub fn read_file(path: &Path, now: DateTime<Utc>) -> Result<Vec<Centre>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let shown = path.display();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let lines: Vec<(String, TomlCentre)> = match ext.as_deref() {
        Some("toml") => toml::from_str::<TomlFile>(&text)
            .map_err(|e| Error::Refused(format!("{shown}: {e}")))?
            .centre
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("{shown}: centre {}", i + 1), c))
            .collect(),
        Some("csv") => read_csv(&text, &shown.to_string())?,
        _ => {
            return Err(Error::Refused(format!(
                "{shown}: write the centres in a .toml or a .csv file"
            )))
        }
    };
    if lines.is_empty() {
        return Err(Error::Refused(format!("{shown}: there is no centre in it")));
    }
    let mut out: Vec<Centre> = Vec::with_capacity(lines.len());
    for (place, line) in lines {
        let mut centre = Centre {
            id: CentreId::new(line.id.trim()),
            name: line.name,
            origins: line.origins,
            created_at: now,
        };
        centre.validate().map_err(|e| {
            let said = match e {
                clbchat_core::Error::Invalid(m) => m,
                other => other.to_string(),
            };
            Error::Refused(format!("{place}: {said}"))
        })?;
        if out.iter().any(|c| c.id == centre.id) {
            return Err(Error::Refused(format!(
                "{place}: centre `{}` is in the file twice",
                centre.id
            )));
        }
        out.push(centre);
    }
    Ok(out)
}

fn read_csv(text: &str, shown: &str) -> Result<Vec<(String, TomlCentre)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.deserialize::<CsvCentre>() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            Error::Refused(format!(
                "{shown} line {line}: {e} (the first line names the columns: id,name,origins)"
            ))
        })?;
        let line = out.len() + 2;
        out.push((
            format!("{shown} line {line}"),
            TomlCentre {
                id: record.id,
                name: record.name,
                origins: record
                    .origins
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            },
        ));
    }
    Ok(out)
}

/// Stores checked centres: adds the new ones, updates the name and websites of known ones
/// (keeping when they were created).
pub async fn import(store: &dyn Store, centres: &[Centre]) -> Result<Imported> {
    let mut done = Imported::default();
    for centre in centres {
        match store.centre(&centre.id).await? {
            Some(known) if known.name == centre.name && known.origins == centre.origins => {
                done.unchanged += 1;
            }
            Some(known) => {
                store
                    .put_centre(&Centre {
                        created_at: known.created_at,
                        ..centre.clone()
                    })
                    .await?;
                done.changed += 1;
            }
            None => {
                store.put_centre(centre).await?;
                done.added += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn toml_and_csv_read_the_same_centres() {
        let dir = tempfile::tempdir().unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let toml = write(
            dir.path(),
            "c.toml",
            "[[centre]]\nid = \"clb-gent\"\nname = \"CLB Gent\"\norigins = [\"https://www.clbgent.be/\"]\n\n\
             [[centre]]\nid = \"clb-brugge\"\nname = \"CLB Brugge\"\n",
        );
        let csv = write(
            dir.path(),
            "c.csv",
            "id,name,origins\nclb-gent,CLB Gent,https://www.clbgent.be\nclb-brugge,\"CLB Brugge\",\n",
        );
        let a = read_file(&toml, now).unwrap();
        let b = read_file(&csv, now).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].origins, vec!["https://www.clbgent.be"]);
    }

    #[test]
    fn a_bad_line_stores_nothing_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        for (name, text, says) in [
            (
                "a.csv",
                "id,name\nclb-gent,CLB Gent\nCLB Brugge,CLB Brugge\n",
                "line 3: centre id `CLB Brugge`",
            ),
            (
                "b.csv",
                "id,name\nclb-gent,CLB Gent\nclb-gent,CLB Gent bis\n",
                "line 3: centre `clb-gent` is in the file twice",
            ),
            ("c.csv", "id,name\nclb-gent\n", "line 2"),
            (
                "d.toml",
                "[[centre]]\nid = \"clb-gent\"\nname = \"\"\n",
                "centre 1: centre `clb-gent`: a name is needed",
            ),
            (
                "e.toml",
                "[[centre]]\nid = \"clb-gent\"\n",
                "missing field `name`",
            ),
            ("f.txt", "clb-gent", ".toml or a .csv"),
            ("g.toml", "", "there is no centre in it"),
        ] {
            let e = read_file(&write(dir.path(), name, text), now)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{name}: {e}");
        }
    }
}
