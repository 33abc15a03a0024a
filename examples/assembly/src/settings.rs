//! The server's settings: a TOML file, then `CLBCHAT_SECTION__KEY` environment variables on
//! top, then the built-in defaults for whatever neither names.
//!
//! Every setting, its default and its meaning are listed in `examples/clbchat/config/clbchat.toml`;
//! a test keeps that file and [`Settings::default`] in step. Durations carry their unit in
//! the key (`_secs`, `_minutes`, `_days`), so a file never leaves a unit to guess.
//!
//! Loading uses `figment` (TOML and environment layered, with errors that name the key and
//! where its value came from) rather than hand-written merging. Unknown keys are errors, so
//! a misspelt setting is reported instead of silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clbchat_core::calendar::Calendar;
use clbchat_core::config::DeskConfig;
use clbchat_core::config::{
    DEFAULT_CHAT_LIMIT, DEFAULT_MAX_QUEUE, DEFAULT_MIN_COUNSELLORS, DEFAULT_RECONNECT_GRACE,
    DEFAULT_STAFF_RECONNECT_GRACE,
};
use clbchat_store_sql::{Durability, DEFAULT_CLIENT_FILE_MONTHS, DEFAULT_RETENTION_DAYS};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the server looks for its configuration when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "clbchat.toml";
/// The prefix of environment overrides: `CLBCHAT_SERVER__LISTEN=0.0.0.0:8080`.
pub const ENV_PREFIX: &str = "CLBCHAT_";

/// All settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The HTTP server.
    pub server: ServerSettings,
    /// The database.
    pub storage: StorageSettings,
    /// Pseudonym keys.
    pub pseudonyms: PseudonymSettings,
    /// The desk this server runs.
    pub desk: DeskSettings,
    /// Logging.
    pub log: LogSettings,
    /// Partner organisations' chat lines a counsellor may hand a chat to.
    pub partners: Vec<PartnerSettings>,
    /// Where a closed centre's chatbox sends its visitors: the national desk.
    pub national_desk: NationalDeskSettings,
    /// One server for the sector: what this server hosts besides its own desk.
    pub sector: SectorSettings,
}

/// `[sector]`: one server for the whole sector, if it wants. With `host_centres`, this
/// server also hosts every centre's chatbox (Chat-met-je-CLB: `/c/<centre>`, the list at
/// `/c`); with `host_blended`, blended chat (its pages under `/blended/`, its desk from
/// `[sector.blended_desk]`); both beside its own desk. A counsellor who serves the
/// national desk, their own centre's box and blended chat logs in once, on one page. Each
/// service's own binary stays the simple way in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SectorSettings {
    /// Also host the centres' chatboxes (the `chat-met-je-clb` server always does).
    pub host_centres: bool,
    /// Also host blended chat: the client's join page at `/blended/join`, the counsellor's
    /// planning at `/blended/counsellor` (the `blended-chat` server has them at `/join`
    /// and `/counsellor`, for its own desk).
    pub host_blended: bool,
    /// Blended chat's desk on a server that hosts it beside its own (`host_blended`).
    pub blended_desk: BlendedDeskSettings,
}

/// `[sector.blended_desk]`: blended chat's desk, and the `blended-chat` server's `[desk]`
/// by default. Planned chats have no queue, no staffing minimum and no medical warning,
/// so only these settings apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlendedDeskSettings {
    /// Stable id (in the protocol and the statistics); not the `[desk]`'s.
    pub id: String,
    /// Public name, as the counsellor page shows it beside each chat.
    pub name: String,
    /// The time limit of a planned chat.
    pub chat_limit_minutes: u64,
    /// How long a dropped client may take to come back.
    pub reconnect_grace_secs: u64,
    /// How long a counsellor whose page lost its connection may take to log in again.
    pub staff_reconnect_grace_secs: u64,
}

impl Default for BlendedDeskSettings {
    fn default() -> Self {
        Self {
            id: "blended".into(),
            name: "Blended chat".into(),
            chat_limit_minutes: 60,
            reconnect_grace_secs: DEFAULT_RECONNECT_GRACE.as_secs(),
            staff_reconnect_grace_secs: DEFAULT_STAFF_RECONNECT_GRACE.as_secs(),
        }
    }
}

impl BlendedDeskSettings {
    /// The same as a `[desk]` section (the `blended-chat` server's own desk).
    pub fn desk_settings(&self) -> DeskSettings {
        DeskSettings {
            id: self.id.clone(),
            name: self.name.clone(),
            min_counsellors: 0,
            want_medical: false,
            chat_limit_minutes: self.chat_limit_minutes,
            reconnect_grace_secs: self.reconnect_grace_secs,
            staff_reconnect_grace_secs: self.staff_reconnect_grace_secs,
            ..DeskSettings::default()
        }
    }
}

/// `[national_desk]`: what a closed chatbox (Chat-met-je-CLB) says about the national
/// desk, CLBch@t, which is open every school week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NationalDeskSettings {
    /// Its name.
    pub name: String,
    /// Its address.
    pub url: String,
    /// Its hours on school days, as the page shows them.
    pub hours: Vec<clbchat_core::calendar::WeeklyHours>,
}

impl Default for NationalDeskSettings {
    fn default() -> Self {
        use chrono::{NaiveTime, Weekday};
        let at = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        let hours = |day, open| clbchat_core::calendar::WeeklyHours {
            day,
            open: at(open),
            close: at(21),
        };
        Self {
            name: "CLBch@t".into(),
            url: "https://www.clbchat.be/".into(),
            hours: vec![
                hours(Weekday::Mon, 17),
                hours(Weekday::Tue, 17),
                hours(Weekday::Wed, 14),
                hours(Weekday::Thu, 17),
            ],
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Browser origins allowed to open the WebSocket, e.g. `https://chat.clb.be`. Empty: the
    /// server's own address (`http://127.0.0.1:PORT` and `http://localhost:PORT`).
    pub allowed_origins: Vec<String>,
    /// Whether clients that are not browsers (a partner's app, a load tester) may connect
    /// without an `Origin` header. Browsers always send one, and it must be in
    /// `allowed_origins`; `Origin: null` is always refused.
    pub accept_clients_without_origin: bool,
    /// On SIGTERM or Ctrl-C: how long to wait for connections to close and the store to
    /// flush before exiting anyway.
    pub shutdown_deadline_secs: u64,
    /// Where the quick-exit button sends a visitor.
    pub quick_exit_url: String,
    /// Most WebSocket connections at once; more get 503.
    pub max_connections: usize,
    /// Most connections that have not sent a request yet; when full, the oldest of them is
    /// closed to make room (see `clbchat_assembly::edge`).
    pub max_pending_connections: usize,
    /// How long a client may take to send a request's head before its connection is
    /// closed.
    pub request_head_timeout_secs: u64,
    /// Frames one connection may send per second, on average; more are answered
    /// `rate_limited` and dropped (the connection stays).
    pub frames_per_second: u32,
    /// Frames one connection may send at once above that rate.
    pub frame_burst: u32,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`; `memory:` keeps
    /// everything in the server's memory and loses it at the stop (trials, benchmarks).
    pub url: String,
    /// SQLite: `full` (an acknowledged message survives a power cut) or `normal` (faster;
    /// survives a crash of the server, not of the machine).
    pub durability: DurabilitySetting,
    /// SQLite: append to a second file beside the database (its name with `.appends`
    /// added) and copy into the chat log a few times a second, so that a message waits
    /// for less disk work before it is acknowledged (`docs/storage.md`). Off by default
    /// while it is measured; an appends file left by an earlier run is copied in at start
    /// either way.
    pub appends_file: bool,
    /// Transcripts older than this are deleted; registrations and ratings are kept. Chats
    /// held for an appointment (blended chat) follow `client_file_months` instead.
    pub retention_days: u32,
    /// Blended chat: a trajectory's transcripts, the client's name and the counsellor's
    /// notes are deleted this many months after its last appointment.
    pub client_file_months: u32,
    /// How often the retention purge runs.
    pub purge_interval_minutes: u64,
    /// The key file: each conversation's key, which seals its text in the database; the
    /// purge destroys the key, so the text is unreadable in every backup too. Keep it on
    /// this machine and back it up apart from the database, for no longer than
    /// `retention_days`. Default (unset): beside a SQLite database, its name with `.keys`
    /// added (`data/clbchat.db.keys`); PostgreSQL needs one set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

/// The durability setting as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurabilitySetting {
    /// `synchronous=FULL`.
    Full,
    /// `synchronous=NORMAL`.
    Normal,
}

impl From<DurabilitySetting> for Durability {
    fn from(d: DurabilitySetting) -> Self {
        match d {
            DurabilitySetting::Full => Durability::Full,
            DurabilitySetting::Normal => Durability::Normal,
        }
    }
}

/// `[pseudonyms]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PseudonymSettings {
    /// The key file (created with a fresh key on first start, readable by the owner only).
    /// Keep it: with a new key, returning visitors are not recognised and their flags lapse.
    pub key_file: PathBuf,
    /// How long a visitor's visits are remembered under their pseudonym (to recognise a
    /// returning visitor, which looks back 30 days); older chats forget it. Flags expire on
    /// their own.
    pub history_days: u32,
}

/// `[desk]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskSettings {
    /// Stable id (used in URLs of the protocol and in the statistics).
    pub id: String,
    /// Public name.
    pub name: String,
    /// A calendar file (TOML, see `examples/clbchat/config/calendar.toml`). Empty: open around the
    /// clock, so a first try works at any hour. A calendar a coordinator saved in the
    /// pages replaces this one.
    pub calendar_file: Option<PathBuf>,
    /// Fewest counsellors wanted online; fewer shows a coverage warning.
    pub min_counsellors: u32,
    /// Warn when no medical counsellor is online.
    pub want_medical: bool,
    /// Most clients waiting; more are refused with an honest message.
    pub max_queue: usize,
    /// The time limit of a chat.
    pub chat_limit_minutes: u64,
    /// How long a dropped visitor may take to come back before the chat ends as broken off.
    pub reconnect_grace_secs: u64,
    /// How long a counsellor whose page lost its connection may take to log in again before
    /// they are taken offline and their running chats go back to the head of the queue.
    pub staff_reconnect_grace_secs: u64,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter: `info`, `debug`, `clbchat_assembly=debug,info`… (`RUST_LOG` wins).
    pub level: String,
    /// `text` for people, `json` for a log collector.
    pub format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// One `[[partners]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSettings {
    /// Stable id, e.g. `nu-praat-ik-erover`.
    pub id: String,
    /// Public name shown to the client.
    pub name: String,
    /// Where the client continues (the partner's own chat page).
    pub continue_url: String,
}

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default of `server.shutdown_deadline_secs`.
pub const DEFAULT_SHUTDOWN_DEADLINE_SECS: u64 = 10;
/// Default of `server.quick_exit_url`: a neutral page.
pub const DEFAULT_QUICK_EXIT_URL: &str = "https://www.google.be/";
/// Default of `storage.url`.
pub const DEFAULT_STORAGE_URL: &str = "sqlite://data/clbchat.db";
/// Default of `storage.purge_interval_minutes`.
pub const DEFAULT_PURGE_INTERVAL_MINUTES: u64 = 60;
/// Default of `pseudonyms.history_days`: as long as a flag counts.
pub const DEFAULT_HISTORY_DAYS: u32 = 90;
/// Default of `pseudonyms.key_file`.
pub const DEFAULT_KEY_FILE: &str = "data/pseudonym-keys.toml";

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080))),
            allowed_origins: Vec::new(),
            accept_clients_without_origin: true,
            shutdown_deadline_secs: DEFAULT_SHUTDOWN_DEADLINE_SECS,
            quick_exit_url: DEFAULT_QUICK_EXIT_URL.into(),
            max_connections: clbchat_transport_ws::config::DEFAULT_MAX_CONNECTIONS,
            max_pending_connections: crate::edge::DEFAULT_MAX_PENDING,
            request_head_timeout_secs: crate::edge::DEFAULT_REQUEST_HEAD_TIMEOUT.as_secs(),
            frames_per_second: clbchat_transport_ws::config::DEFAULT_RATE_PER_SEC,
            frame_burst: clbchat_transport_ws::config::DEFAULT_RATE_BURST,
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            url: DEFAULT_STORAGE_URL.into(),
            durability: DurabilitySetting::Full,
            appends_file: clbchat_store_sql::DEFAULT_SQLITE_APPENDS_FILE,
            retention_days: DEFAULT_RETENTION_DAYS,
            client_file_months: DEFAULT_CLIENT_FILE_MONTHS,
            purge_interval_minutes: DEFAULT_PURGE_INTERVAL_MINUTES,
            key_file: None,
        }
    }
}

impl Default for PseudonymSettings {
    fn default() -> Self {
        Self {
            key_file: DEFAULT_KEY_FILE.into(),
            history_days: DEFAULT_HISTORY_DAYS,
        }
    }
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            id: "clbchat".into(),
            name: "CLBch@t".into(),
            calendar_file: None,
            min_counsellors: DEFAULT_MIN_COUNSELLORS,
            want_medical: true,
            max_queue: DEFAULT_MAX_QUEUE,
            chat_limit_minutes: DEFAULT_CHAT_LIMIT.as_secs() / 60,
            reconnect_grace_secs: DEFAULT_RECONNECT_GRACE.as_secs(),
            staff_reconnect_grace_secs: DEFAULT_STAFF_RECONNECT_GRACE.as_secs(),
        }
    }
}

impl DeskSettings {
    /// Checks what types alone cannot; an error names the setting under `key` (`desk`,
    /// `sector.blended_desk`).
    pub fn check(&self, key: &str) -> Result<()> {
        let bad = |field: &str, what: &str| Err(Error::Config(format!("{key}.{field}: {what}")));
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("id", "letters, digits, `-` and `_` only, e.g. \"clbchat\"");
        }
        if self.chat_limit_minutes < 15 {
            return bad(
                "chat_limit_minutes",
                "at least 15 minutes (the warnings come 10 and 5 minutes before the end)",
            );
        }
        if self.max_queue == 0 {
            return bad("max_queue", "at least 1");
        }
        Ok(())
    }

    /// `desk` (a service's kind of desk) with this section's name and limits, checked; an
    /// error names the setting under `key`.
    pub fn apply(&self, key: &str, mut desk: DeskConfig) -> Result<DeskConfig> {
        desk.id = clbchat_core::ids::DeskId::new(self.id.clone());
        desk.name = self.name.clone();
        desk.min_counsellors = self.min_counsellors;
        desk.want_medical = self.want_medical;
        desk.limits.max_queue = self.max_queue;
        desk.limits.chat_limit = Duration::from_secs(self.chat_limit_minutes * 60);
        desk.limits.reconnect_grace = Duration::from_secs(self.reconnect_grace_secs);
        desk.limits.staff_reconnect_grace = Duration::from_secs(self.staff_reconnect_grace_secs);
        desk.validate().map_err(|e| {
            let why = match e {
                clbchat_core::Error::Invalid(m) => m,
                other => other.to_string(),
            };
            let field = if why.contains("chat") {
                format!("{key}.chat_limit_minutes")
            } else {
                key.to_owned()
            };
            Error::Config(format!("{field}: {why}"))
        })?;
        Ok(desk)
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::default(),
            storage: StorageSettings::default(),
            pseudonyms: PseudonymSettings::default(),
            desk: DeskSettings::default(),
            log: LogSettings::default(),
            partners: vec![PartnerSettings {
                id: "nu-praat-ik-erover".into(),
                name: "Nu praat ik erover".into(),
                continue_url: "https://www.nupraatikerover.be/".into(),
            }],
            national_desk: NationalDeskSettings::default(),
            sector: SectorSettings::default(),
        }
    }
}

/// Where a service's settings start: its defaults, the configuration file it reads when
/// `--config` is not given, and the example file that lists every setting.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The defaults.
    pub settings: fn() -> Settings,
    /// The file read from the working folder when present (e.g. `clbchat.toml`).
    pub file: &'static str,
    /// The example file, named in messages.
    pub example: &'static str,
}

impl Defaults {
    /// The national desk's: [`Settings::default`], `clbchat.toml`.
    pub const CLBCHAT: Defaults = Defaults {
        settings: Settings::default,
        file: DEFAULT_CONFIG_FILE,
        example: "examples/clbchat/config/clbchat.toml",
    };
}

impl Settings {
    /// Loads clbchat's defaults, then `file` (if given, it must exist; if not given,
    /// [`DEFAULT_CONFIG_FILE`] is read when present), then the `CLBCHAT_SECTION__KEY`
    /// environment variables. See [`Settings::load_for`] for another service.
    pub fn load(file: Option<&Path>) -> Result<Settings> {
        Self::load_for(file, &Defaults::CLBCHAT)
    }

    /// As [`Settings::load`], starting from a service's [`Defaults`] and reading its own
    /// configuration file when none is given.
    pub fn load_for(file: Option<&Path>, defaults: &Defaults) -> Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults((defaults.settings)()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(Error::Config(format!(
                        "the configuration file {} does not exist (write one from \
                         {}, or leave out --config to run on defaults)",
                        path.display(),
                        defaults.example
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                if Path::new(defaults.file).exists() {
                    figment = figment.merge(Toml::file_exact(defaults.file));
                }
            }
        }
        // Only `CLBCHAT_SECTION__KEY` names are settings; other `CLBCHAT_*` variables (the
        // test suite's, say) are not ours to refuse.
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .split("__")
                .filter(|k| k.as_str().contains('.')),
        );
        let settings: Settings = figment.extract().map_err(|e| {
            Error::Config(
                e.into_iter()
                    .map(|e| explain(&e))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, what: &str| Err(Error::Config(format!("{key}: {what}")));
        if !(self.storage.url.starts_with("sqlite:")
            || self.storage.url.starts_with("postgres")
            || self.storage.url == crate::app::MEMORY_STORAGE_URL)
        {
            return bad(
                "storage.url",
                "write sqlite://PATH (e.g. sqlite://data/clbchat.db), postgres://USER@HOST/DB \
                 or memory: (nothing kept)",
            );
        }
        if self.storage.retention_days == 0 {
            return bad("storage.retention_days", "at least 1 day");
        }
        if !(self.national_desk.url.starts_with("https://")
            || self.national_desk.url.starts_with("http://"))
        {
            return bad(
                "national_desk.url",
                "write the national desk's address with https:// in front",
            );
        }
        if self.pseudonyms.history_days < 30 {
            return bad(
                "pseudonyms.history_days",
                "at least 30 days: a returning visitor is recognised by their visits of the \
                 last 30 days",
            );
        }
        if self.storage.client_file_months == 0 {
            return bad("storage.client_file_months", "at least 1 month");
        }
        if self.storage.purge_interval_minutes == 0 {
            return bad("storage.purge_interval_minutes", "at least 1 minute");
        }
        self.desk.check("desk")?;
        if self.sector.host_blended {
            let blended = self.sector.blended_desk.desk_settings();
            blended.check("sector.blended_desk")?;
            if blended.id == self.desk.id {
                return bad(
                    "sector.blended_desk.id",
                    &format!(
                        "`{}` is the [desk]'s id too. On the blended-chat server, leave \
                         sector.host_blended false: its own desk is blended chat already. \
                         Elsewhere, give blended chat an id of its own, e.g. \"blended\"",
                        blended.id
                    ),
                );
            }
        }
        if self.server.max_connections == 0 {
            return bad("server.max_connections", "at least 1");
        }
        if self.server.max_pending_connections == 0 {
            return bad("server.max_pending_connections", "at least 1");
        }
        if self.server.request_head_timeout_secs == 0 {
            return bad("server.request_head_timeout_secs", "at least 1 second");
        }
        if self.server.frames_per_second == 0 || self.server.frame_burst == 0 {
            return bad(
                "server.frames_per_second",
                "frames_per_second and frame_burst: at least 1",
            );
        }
        for o in &self.server.allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                return bad(
                    "server.allowed_origins",
                    &format!("`{o}` is not an origin; write scheme and host without a path, e.g. \"https://chat.clb.be\""),
                );
            }
        }
        if !(self.server.quick_exit_url.starts_with("https://")
            || self.server.quick_exit_url.starts_with("http://"))
        {
            return bad("server.quick_exit_url", "an http(s) address");
        }
        self.desk_with(Calendar::always_open())?;
        for (i, p) in self.partners.iter().enumerate() {
            if p.id.is_empty() || p.name.is_empty() || !p.continue_url.starts_with("http") {
                return bad(
                    &format!("partners[{i}]"),
                    "give id, name and an http(s) continue_url",
                );
            }
        }
        Ok(())
    }

    /// The national desk these settings describe, with `calendar`; checked, with errors that
    /// name the `desk.*` setting.
    pub fn desk_with(&self, calendar: Calendar) -> Result<DeskConfig> {
        self.apply_desk(DeskConfig::national(self.desk.id.clone(), calendar))
    }

    /// `desk` (a service's kind of desk) with the `[desk]` section's name and limits,
    /// checked; an error names the setting.
    pub fn apply_desk(&self, desk: DeskConfig) -> Result<DeskConfig> {
        self.desk.apply("desk", desk)
    }

    /// The calendar: the file's, or open around the clock when none is configured.
    pub fn calendar(&self) -> Result<Calendar> {
        let Some(path) = &self.desk.calendar_file else {
            return Ok(Calendar::always_open());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "desk.calendar_file: cannot read {}: {e}",
                path.display()
            ))
        })?;
        let cal: Calendar = toml::from_str(&text).map_err(|e| {
            Error::Config(format!(
                "desk.calendar_file: {} is not a valid calendar: {e}",
                path.display()
            ))
        })?;
        cal.validate()
            .map_err(|e| Error::Config(format!("desk.calendar_file: {}: {e}", path.display())))?;
        Ok(cal)
    }
}

/// A database URL with any password replaced by `***`, for printing.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// One figment error as a sentence naming the key, where the value came from, and what to
/// write instead.
fn explain(e: &figment::Error) -> String {
    let key = if e.path.is_empty() {
        "(top level)".to_owned()
    } else {
        e.path.join(".")
    };
    let source = match &e.metadata {
        Some(m) if m.name.contains("environment") => format!(
            " (from the environment variable {ENV_PREFIX}{})",
            e.path.join("__").to_ascii_uppercase()
        ),
        Some(m) => match &m.source {
            Some(src) => format!(" (in {src})"),
            None => format!(" (from {})", m.name),
        },
        None => String::new(),
    };
    format!("{key}: {}{source}", e.kind)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_in_database_urls_are_hidden() {
        assert_eq!(
            redact_url("postgres://clb:geheim@db:5432/clbchat"),
            "postgres://clb:***@db:5432/clbchat"
        );
        assert_eq!(
            redact_url("postgres://clb@db/clbchat"),
            "postgres://clb@db/clbchat"
        );
        assert_eq!(
            redact_url("sqlite://data/clbchat.db"),
            "sqlite://data/clbchat.db"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@db/x"),
            "postgres://u:***@db/x",
            "an @ in the password"
        );
    }
}
