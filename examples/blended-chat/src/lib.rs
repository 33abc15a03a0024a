//! # blended-chat: planned chats between a counsellor and a known client
//!
//! The service the binary `blended-chat` runs over the shared assembly
//! ([`clbchat_assembly`]): a blended-chat desk (no queue: a client joins from the link of
//! their appointment and their counsellor gets the chat at once; not anonymous), its pages
//! (`/` a short welcome, `/join` the client's, `/counsellor` the counsellor's planning
//! page, `/coordinator` the assembly's coordinator page for the team's accounts) and its
//! defaults (port 8081, its data in `./data/blended-chat/`), so it runs beside `clbchat` on
//! one machine without a setting. See `docs/blended-chat.md`.
//!
//! The pages, the desk and the calendar file are the assembly's
//! ([`clbchat_assembly::blended`]), shared with a server of the whole sector that hosts
//! blended chat beside the national desk (`sector.host_blended`).

use clbchat_assembly::app::Desks;
use clbchat_assembly::blended;
use clbchat_assembly::http::{no_routes, Pages};
use clbchat_assembly::service::Service;
use clbchat_assembly::settings::{BlendedDeskSettings, Defaults, Settings};

/// Blended chat's pages, at the top of its own server.
pub const PAGES: Pages = Pages {
    pages: &[
        ("/", blended::INDEX_HTML),
        ("/join", blended::JOIN_HTML),
        ("/counsellor", blended::PLANNER_HTML),
        ("/coordinator", clbchat_assembly::http::COORDINATOR_HTML),
    ],
    assets: &[],
    routes: no_routes,
    brand: blended::BRAND,
};

/// Blended chat's defaults: the national desk's, with its own desk in `[desk]` (that of
/// [`BlendedDeskSettings`]: 60-minute sessions, no staffing minimum), port 8081 and data
/// folder, and no partner lines.
pub fn defaults() -> Settings {
    let mut s = Settings::default();
    s.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 8081));
    s.storage.url = "sqlite://data/blended-chat/blended-chat.db".into();
    s.pseudonyms.key_file = "data/blended-chat/pseudonym-keys.toml".into();
    s.desk = BlendedDeskSettings::default().desk_settings();
    s.partners = Vec::new();
    s
}

/// Blended chat's desks: its one blended-chat desk, from `[desk]`.
pub fn desks(settings: &Settings) -> clbchat_assembly::Result<Desks> {
    Ok(Desks::One(Box::new(blended::desk(&settings.desk, "desk")?)))
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
