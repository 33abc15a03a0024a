//! The centres' chatboxes (Chat-met-je-CLB), on any server that hosts them
//! ([`crate::app::Shared::hosts_centres`]: the `chat-met-je-clb` service, or a server of
//! the whole sector with `sector.host_centres`): each centre's box at `/c/<centre>` (the
//! visitor's page for the centre's desk), the snippet that puts it on the centre's own
//! website (`/c/<centre>/embed.js`), the list of centres and which box is open (`/c`,
//! `/api/centres`), and a kind page for an address that names no centre.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clbchat_core::centre::{check_id, Centre};
use clbchat_core::ids::CentreId;
use serde_json::json;

use crate::app::Shared;
use crate::http::{fill, frameable_page, page, VISITOR_HTML};

/// The boxes' name, as their pages show it (whichever server hosts them).
pub const BRAND: &str = "Chat met je CLB";

/// The list of centres and which box is open (`/` of the `chat-met-je-clb` service, `/c`).
pub const INDEX_HTML: &str = include_str!("../assets/boxes/index.html");

/// The assets of the boxes' own pages, under `/assets/`.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "centres-texts.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/boxes/texts.js"),
    ),
    (
        "centres.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/boxes/centres.js"),
    ),
];

const NOT_FOUND_HTML: &str = include_str!("../assets/boxes/not-found.html");

/// The boxes' routes: each centre's chatbox (`/c/<centre>`), its snippet, the list of
/// centres (`/c`, and `/api/centres` for the pages). The router adds them on every server
/// that hosts the centres.
pub fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    let index = axum::body::Bytes::from(fill(INDEX_HTML, BRAND, ""));
    router
        .route("/c", get(move || async move { page(index) }))
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

const EMBED_JS: &str = include_str!("../assets/boxes/embed.js");

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
