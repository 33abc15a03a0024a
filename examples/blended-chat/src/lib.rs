//! # blended-chat: planned chats between a counsellor and a known client
//!
//! The service the binary `blended-chat` runs over the shared assembly
//! ([`clbchat_assembly`]): a blended-chat desk (no queue: a client joins from the link of
//! their appointment and their counsellor gets the chat at once; not anonymous), its pages
//! (`/` a short welcome, `/join` the client's, `/counsellor` the counsellor's planning
//! page, `/coordinator` the assembly's coordinator page for the team's accounts) and its defaults (port 8081, its data in `./data/blended-chat/`), so it runs
//! beside `clbchat` on one machine without a setting. See `docs/blended-chat.md`.

pub mod calendar_file;

use clbchat_assembly::app::Desks;
use clbchat_assembly::http::Pages;
use clbchat_assembly::service::Service;
use clbchat_assembly::settings::{Defaults, DeskSettings, Settings};
use clbchat_core::config::DeskConfig;

/// The desk's id by default.
pub const DESK: &str = "blended";

/// Blended chat's pages.
pub const PAGES: Pages = Pages {
    pages: &[
        ("/", include_str!("../pages/index.html")),
        ("/join", include_str!("../pages/join.html")),
        ("/counsellor", include_str!("../pages/counsellor.html")),
        ("/coordinator", clbchat_assembly::http::COORDINATOR_HTML),
    ],
    assets: &[
        (
            "blended-texts.js",
            "text/javascript; charset=utf-8",
            include_str!("../pages/texts.js"),
        ),
        (
            "join.js",
            "text/javascript; charset=utf-8",
            include_str!("../pages/join.js"),
        ),
        (
            "planner.js",
            "text/javascript; charset=utf-8",
            include_str!("../pages/planner.js"),
        ),
    ],
    routes: calendar_file::routes,
    brand: "CLB-chat",
};

/// Blended chat's defaults: the national desk's, with its own desk (60-minute sessions, no
/// staffing minimum, no partner lines), port 8081 and data folder.
pub fn defaults() -> Settings {
    let mut s = Settings::default();
    s.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 8081));
    s.storage.url = "sqlite://data/blended-chat/blended-chat.db".into();
    s.pseudonyms.key_file = "data/blended-chat/pseudonym-keys.toml".into();
    s.desk = DeskSettings {
        id: DESK.into(),
        name: "Blended chat".into(),
        min_counsellors: 0,
        want_medical: false,
        chat_limit_minutes: 60,
        ..DeskSettings::default()
    };
    s.partners = Vec::new();
    s
}

/// The blended-chat desk of these settings.
pub fn desk(settings: &Settings) -> clbchat_assembly::Result<DeskConfig> {
    settings.apply_desk(DeskConfig::blended(
        settings.desk.id.clone(),
        settings.desk.name.clone(),
    ))
}

/// Blended chat's desks: its one blended-chat desk.
pub fn desks(settings: &Settings) -> clbchat_assembly::Result<Desks> {
    Ok(Desks::One(Box::new(desk(settings)?)))
}

/// Blended chat as a service.
pub const SERVICE: Service = Service {
    name: "blended-chat",
    about: "blended-chat: planned chats between a CLB counsellor and a known client.",
    long_about: "blended-chat: planned chats between a CLB counsellor and a known client.\n\n\
        Without a command it serves: a short welcome at http://127.0.0.1:8081/, the \
        client's join page at /join (opened from the link of an appointment) and the \
        counsellor's planning page at /counsellor. With no configuration it keeps its data \
        in ./data/blended-chat (SQLite) and prints a one-time link to create the first \
        coordinator.",
    greeting: "(counsellors: /counsellor; clients join from their link)",
    pages: PAGES,
    desks,
    defaults: Defaults {
        settings: defaults,
        file: "blended-chat.toml",
        example: "examples/blended-chat/config/blended-chat.toml",
    },
};
