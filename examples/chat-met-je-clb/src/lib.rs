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

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clbchat_assembly::app::Shared;
use clbchat_assembly::http::{fill, frameable_page, page, Pages, VISITOR_HTML};
use clbchat_assembly::service::Service;
use clbchat_assembly::settings::{Defaults, DeskSettings, Settings};
use clbchat_core::centre::{check_id, Centre};
use clbchat_core::ids::CentreId;
use serde_json::json;

/// The service's name, as its pages show it.
pub const BRAND: &str = "Chat met je CLB";

/// Chat-met-je-CLB's pages.
pub const PAGES: Pages = Pages {
    pages: &[
        ("/", include_str!("../pages/index.html")),
        ("/counsellor", clbchat_assembly::http::COUNSELLOR_HTML),
        ("/coordinator", clbchat_assembly::http::COORDINATOR_HTML),
    ],
    assets: &[
        (
            "centres-texts.js",
            "text/javascript; charset=utf-8",
            include_str!("../pages/texts.js"),
        ),
        (
            "centres.js",
            "text/javascript; charset=utf-8",
            include_str!("../pages/centres.js"),
        ),
    ],
    routes,
    brand: BRAND,
};

const NOT_FOUND_HTML: &str = include_str!("../pages/not-found.html");

/// The routes of its own: each centre's chatbox and the list of centres.
pub fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/c/{centre}", get(chatbox))
        .route("/c/{centre}/embed.js", get(embed))
        .route("/api/centres", get(centres))
}

/// A centre's chatbox: the visitor's page for the centre's desk, or a page that says the
/// address names no centre.
async fn chatbox(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let id = CentreId::new(id);
    if check_id(&id).is_err() {
        return not_found();
    }
    let centre = match shared.store.centre(&id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e.to_string()),
    };
    if let Err(e) = shared.host_centre(&centre).await {
        return unavailable(&e.to_string());
    }
    // The centre's own websites may show the box in a frame (see `embed`).
    frameable_page(
        fill(VISITOR_HTML, BRAND, &centre.id.0).into(),
        &centre.origins,
    )
}

/// The snippet a centre puts on its website, `<script src=".../c/<centre>/embed.js"
/// async></script>`: it puts the box in a frame right after itself. The frame is allowed
/// only on the centre's websites (`frame-ancestors`, [`Centre::origins`]).
async fn embed(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let id = CentreId::new(id);
    if check_id(&id).is_err() {
        return (StatusCode::NOT_FOUND, "no such centre\n").into_response();
    }
    match shared.store.centre(&id).await {
        Ok(Some(c)) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/javascript; charset=utf-8",
                ),
                (axum::http::header::CACHE_CONTROL, "no-cache"),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            EMBED_JS
                .replace("{{desk}}", &c.id.0)
                .replace("{{title}}", &js_string(&format!("{BRAND} – {}", c.name))),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such centre\n").into_response(),
        Err(e) => unavailable(&e.to_string()),
    }
}

const EMBED_JS: &str = include_str!("../pages/embed.js");

/// A JavaScript string literal of `s` (JSON's escaping, and `<` escaped so it cannot
/// close a script element).
fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
}

fn not_found() -> Response {
    let mut r = page(fill(NOT_FOUND_HTML, BRAND, "").into());
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn unavailable(why: &str) -> Response {
    tracing::warn!(error = why, "a chatbox could not be served");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the chat cannot be reached just now; try again in a minute\n",
    )
        .into_response()
}

/// Every centre: its id, name, address, and whether its box is open now.
async fn centres(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<Centre> = match shared.store.centres().await {
        Ok(l) => l,
        Err(e) => return unavailable(&e.to_string()),
    };
    let out: Vec<_> = list
        .iter()
        .map(|c| {
            let open = shared.engine.availability(&c.desk()).is_ok_and(|a| a.open);
            json!({ "id": c.id, "name": c.name, "url": format!("/c/{}", c.id), "origins": c.origins,
                "open": open })
        })
        .collect();
    Json(json!({ "centres": out })).into_response()
}

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
