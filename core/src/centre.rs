//! Centres: the 61 CLBs as tenants of Chat-met-je-CLB.
//!
//! A sector administrator creates the centres (by hand or from a file). Each [`Centre`] has
//! its own chatbox, a desk of kind [`crate::config::DeskConfig::chatbox`] whose id is the
//! centre's ([`Centre::desk`]), opened only in the event windows its coordinator plans; its
//! own team (staff whose `desks` hold the chatbox's desk, a counsellor may serve several);
//! and the websites allowed to embed the box ([`Centre::origins`]).
//!
//! The rules a centre must meet are here ([`Centre::validate`]), so every store, file import
//! and page refuse the same things: an id that would not read well in an address, an empty
//! name, a website that is not an origin.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{CentreId, DeskId};

/// The longest centre id, in characters.
pub const MAX_ID_CHARS: usize = 40;
/// The longest centre name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// The most websites one centre may embed its box on.
pub const MAX_ORIGINS: usize = 10;

/// One centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Centre {
    /// Its id, as in its chatbox's address (`/c/clb-gent`): lowercase letters, digits and
    /// dashes.
    pub id: CentreId,
    /// Its name, as visitors read it ("CLB Gent").
    pub name: String,
    /// The websites that may embed its chatbox (`https://www.clbgent.be`): origins only, no
    /// path.
    #[serde(default)]
    pub origins: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Centre {
    /// The id of its chatbox's desk (the centre's own id).
    pub fn desk(&self) -> DeskId {
        DeskId::new(self.id.0.clone())
    }

    /// Checks the centre and puts its websites in their one written form (lowercase, no
    /// trailing slash, no repeats). The error says what is wrong, naming the centre.
    pub fn validate(&mut self) -> Result<()> {
        check_id(&self.id)?;
        let bad = |m: String| Err(Error::Invalid(format!("centre `{}`: {m}", self.id)));
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            return bad("a name is needed".into());
        }
        if self.name.chars().count() > MAX_NAME_CHARS {
            return bad(format!(
                "the name is longer than {MAX_NAME_CHARS} characters"
            ));
        }
        let mut origins: Vec<String> = Vec::with_capacity(self.origins.len());
        for o in &self.origins {
            let o = normalise_origin(o)
                .map_err(|m| Error::Invalid(format!("centre `{}`: website `{o}`: {m}", self.id)))?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        if origins.len() > MAX_ORIGINS {
            return bad(format!("at most {MAX_ORIGINS} websites"));
        }
        self.origins = origins;
        Ok(())
    }
}

/// Checks a centre id: 2 to [`MAX_ID_CHARS`] lowercase letters, digits and dashes, starting
/// and ending with a letter or digit.
pub fn check_id(id: &CentreId) -> Result<()> {
    let s = id.0.as_str();
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let n = s.chars().count();
    if !(2..=MAX_ID_CHARS).contains(&n)
        || !s.chars().all(ok_char)
        || s.starts_with('-')
        || s.ends_with('-')
    {
        return Err(Error::Invalid(format!(
            "centre id `{s}`: use 2 to {MAX_ID_CHARS} lowercase letters, digits and dashes, \
             e.g. clb-gent"
        )));
    }
    Ok(())
}

/// An origin (`https://www.clbgent.be`, `http://localhost:8080`) in its one written form, or
/// what is wrong with it.
pub fn normalise_origin(raw: &str) -> std::result::Result<String, &'static str> {
    let s = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("write it with https:// (or http://) in front")?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    if !host_ok {
        return Err("only the site's address, without a path, e.g. https://www.clbgent.be");
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err("the port after `:` must be a number from 1 to 65535");
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centre(id: &str, name: &str, origins: &[&str]) -> Centre {
        Centre {
            id: CentreId::new(id),
            name: name.into(),
            origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_good_centre_is_kept_in_one_written_form() {
        let mut c = centre(
            "clb-gent",
            "  CLB Gent ",
            &["https://www.CLBgent.be/", "https://www.clbgent.be"],
        );
        c.validate().expect("valid");
        assert_eq!(c.name, "CLB Gent");
        assert_eq!(c.origins, vec!["https://www.clbgent.be"]);
        assert_eq!(c.desk(), DeskId::new("clb-gent"));
    }

    #[test]
    fn bad_centres_are_refused_saying_what_is_wrong() {
        for (id, name, origins, says) in [
            ("CLB Gent", "CLB Gent", &[][..], "lowercase letters"),
            ("c", "CLB Gent", &[], "2 to 40"),
            ("-gent", "CLB Gent", &[], "dashes"),
            ("clb-gent", "  ", &[], "a name is needed"),
            ("clb-gent", "CLB Gent", &["www.clbgent.be"], "https://"),
            (
                "clb-gent",
                "CLB Gent",
                &["https://www.clbgent.be/chat"],
                "without a path",
            ),
            (
                "clb-gent",
                "CLB Gent",
                &["https://www.clbgent.be:99999"],
                "port",
            ),
        ] {
            let e = centre(id, name, origins)
                .validate()
                .expect_err("refused")
                .to_string();
            assert!(e.contains(says), "{id}/{name}/{origins:?}: {e}");
        }
    }
}
