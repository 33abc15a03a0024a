//! # chat-met-je-clb: every CLB centre's own chatbox, opened for an event
//!
//! The service the binary `chat-met-je-clb` runs over the shared assembly
//! ([`clbchat_assembly`]): one process hosts the chatbox of every centre in its database
//! ([`clbchat_assembly::app::Desks::Centres`]), each at its own address (`/c/<centre>`),
//! anonymous like the national desk and closed unless the centre opened it. Its pages:
//! `/` lists the centres and which box is open; `/c/<centre>` is the centre's box (the
//! national desk's visitor page, for that centre's desk); `/counsellor` and
//! `/coordinator` are the assembly's staff pages. Its defaults: port 8082, its data in
//! `./data/chat-met-je-clb/`, so it runs beside the other two services with no setting.
//!
//! On a fresh install nobody can log in: the one-time setup link makes the sector's
//! administrator, who adds the centres (or `chat-met-je-clb centres import FILE`).

use clbchat_assembly::boxes;
use clbchat_assembly::http::{no_routes, Pages};
use clbchat_assembly::service::Service;
use clbchat_assembly::settings::{Defaults, DeskSettings, Settings};

/// The service's name, as its pages show it.
pub const BRAND: &str = boxes::BRAND;

/// Chat-met-je-CLB's pages: the list of centres at `/` and the staff pages; each centre's
/// box and the list's API are the assembly's ([`boxes`]), served because this server hosts
/// the centres.
pub const PAGES: Pages = Pages {
    pages: &[
        ("/", boxes::INDEX_HTML),
        ("/counsellor", clbchat_assembly::http::COUNSELLOR_HTML),
        ("/coordinator", clbchat_assembly::http::COORDINATOR_HTML),
    ],
    assets: &[],
    routes: no_routes,
    brand: BRAND,
};

/// Chat-met-je-CLB's defaults: the national desk's, with port 8082, its own data folder, a
/// chatbox's limits in `[desk]` (at least one counsellor, no medical warning) and no
/// partner lines.
pub fn defaults() -> Settings {
    let mut s = Settings::default();
    s.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 8082));
    s.storage.url = "sqlite://data/chat-met-je-clb/chat-met-je-clb.db".into();
    s.pseudonyms.key_file = "data/chat-met-je-clb/pseudonym-keys.toml".into();
    s.desk = DeskSettings {
        id: "chatbox".into(),
        name: BRAND.into(),
        min_counsellors: 1,
        want_medical: false,
        ..DeskSettings::default()
    };
    s.partners = Vec::new();
    s
}

/// Chat-met-je-CLB as a service.
pub const SERVICE: Service = Service {
    name: "chat-met-je-clb",
    about: "chat-met-je-clb: every CLB centre's own chatbox, opened for an event.",
    long_about: "chat-met-je-clb: every CLB centre's own chatbox, opened for an event.\n\n\
        Without a command it serves: the list of centres at http://127.0.0.1:8082/, each \
        centre's chatbox at /c/<centre>, the counsellor page at /counsellor and the \
        coordinator page at /coordinator. With no configuration it keeps its data in \
        ./data/chat-met-je-clb (SQLite) and prints a one-time link to create the sector's \
        administrator. Add centres with `chat-met-je-clb centres import FILE` (example: \
        examples/chat-met-je-clb/config/centres.toml).",
    greeting: "(each centre's chatbox: /c/<centre>; counsellors: /counsellor)",
    pages: PAGES,
    desks: clbchat_assembly::app::centres_only,
    defaults: Defaults {
        settings: defaults,
        file: "chat-met-je-clb.toml",
        example: "examples/chat-met-je-clb/config/chat-met-je-clb.toml",
    },
};
