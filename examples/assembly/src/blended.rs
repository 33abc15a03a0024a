//! Blended chat (planned, non-anonymous chats between a counsellor and a known client) on
//! any server that hosts it: the `blended-chat` service, whose own desk it is (its pages at
//! `/`, `/join`, `/counsellor`), or a server of the whole sector with
//! `sector.host_blended`, beside the national desk (the same pages under `/blended/`, for
//! the desk of `[sector.blended_desk]`). The pages read their desk from the page
//! ([`crate::http::DESK_MARK`]; empty: the server's own) and write the client's link
//! relative to themselves, so one set of pages serves both.
//!
//! The calendar file (`.ics`) a counsellor sends with a client's link, and the client may
//! add to their own calendar: `POST /api/appointment.ics` with the link's token in a JSON
//! body (never in the URL, so never in a log). Whoever holds the token may have the file:
//! it says only what the link's page says (when, with whom, the link), never the client's
//! name or the counsellor's note. Written with the `icalendar` crate (RFC 5545 escaping and
//! line folding are easy to get wrong by hand).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clbchat_core::config::{Admission, DeskConfig};
use clbchat_core::ids::DeskId;
use clbchat_core::pseudonym::hash_secret;
use icalendar::{Calendar, Component, Event, EventLike};
use serde::Deserialize;

use crate::app::Shared;
use crate::error::Result;
use crate::http::{fill, page};
use crate::settings::DeskSettings;

/// Blended chat's name, as its pages show it.
pub const BRAND: &str = "CLB-chat";

/// Where a server of the sector serves blended chat's pages (`/blended/`, `/blended/join`,
/// `/blended/counsellor`).
pub const PREFIX: &str = "/blended";

/// A short welcome: what the link is for, and the way to the counsellor's planning.
pub const INDEX_HTML: &str = include_str!("../assets/blended/index.html");

/// The client's page, opened from the link of their appointment.
pub const JOIN_HTML: &str = include_str!("../assets/blended/join.html");

/// The counsellor's planning page: appointments, links, the chats.
pub const PLANNER_HTML: &str = include_str!("../assets/blended/planner.html");

/// The assets of blended chat's pages, under `/assets/`.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "blended-texts.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/blended/texts.js"),
    ),
    (
        "join.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/blended/join.js"),
    ),
    (
        "planner.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/blended/planner.js"),
    ),
];

/// A blended-chat desk with the limits of `section` (named `key` in errors).
pub fn desk(section: &DeskSettings, key: &str) -> Result<DeskConfig> {
    section.apply(
        key,
        DeskConfig::blended(section.id.clone(), section.name.clone()),
    )
}

/// The blended-chat desk this server hosts, if any: its own (the `blended-chat` service)
/// or the one beside it ([`Shared::blended`]).
pub fn hosted(shared: &Shared) -> Option<DeskId> {
    shared.blended.clone().or_else(|| {
        shared
            .desk
            .as_ref()
            .filter(|d| d.admission == Admission::Appointment)
            .map(|d| d.id.clone())
    })
}

/// Blended chat's routes on a server that hosts it: the calendar file, and, beside
/// another desk, its pages under [`PREFIX`].
pub fn routes(router: Router<Arc<Shared>>, shared: &Shared) -> Router<Arc<Shared>> {
    if hosted(shared).is_none() {
        return router;
    }
    let mut router = router.route("/api/appointment.ics", post(calendar_file));
    if let Some(desk) = &shared.blended {
        // The desk's id is a checked setting (letters, digits, `-`, `_`): no escaping.
        for (path, html) in [
            ("/blended/", INDEX_HTML),
            ("/blended/join", JOIN_HTML),
            ("/blended/counsellor", PLANNER_HTML),
        ] {
            let html = axum::body::Bytes::from(fill(html, BRAND, &desk.0));
            router = router.route(path, get(move || async move { page(html) }));
        }
        // The welcome page's relative links need the slash.
        router = router.route(PREFIX, get(|| async { Redirect::permanent("/blended/") }));
    }
    router
}

/// Where the client's page is on this server.
fn join_path(shared: &Shared) -> &'static str {
    if shared.blended.is_some() {
        "/blended/join"
    } else {
        "/join"
    }
}

/// What the planning page sends for a calendar file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarRequest {
    /// The join token from the link.
    pub token: String,
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// The origin the link is written with: the page's own (`Origin`), when the server lets
/// that origin in; else the address the request came to.
fn origin(shared: &Shared, headers: &HeaderMap) -> String {
    let allowed = |o: &str| match &shared.ws.config().origins {
        clbchat_transport_ws::OriginPolicy::AllowList(list) => list.iter().any(|a| a == o),
        _ => false,
    };
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if allowed(o) {
            return o.to_owned();
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

async fn calendar_file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(req): Json<CalendarRequest>,
) -> Response {
    let Some(desk) = hosted(&shared) else {
        return refused(
            StatusCode::NOT_FOUND,
            "unknown_desk",
            "this server plans no appointments",
        );
    };
    let link = match shared.engine.appointment_link(&desk, &req.token).await {
        Ok(link) => link,
        Err(e) if e.code() == "invalid" => {
            return refused(StatusCode::NOT_FOUND, "invalid", &e.to_string())
        }
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, e.code(), &e.to_string()),
    };
    let url = format!(
        "{}{}#token={}",
        origin(&shared, &headers),
        join_path(&shared),
        req.token
    );
    let who = link.counsellor.as_deref().unwrap_or("je CLB-begeleider");
    let uid: String = hash_secret(&req.token).chars().take(32).collect();
    let event = Event::new()
        .uid(&format!("{uid}@blended-chat"))
        .summary(&format!("Chat met {who} (CLB)"))
        .description(&format!(
            "Je chat met {who}. Open deze link vanaf 15 minuten voor het begin:\n{url}\n\n\
             Your chat with {who}. Open this link from 15 minutes before the start:\n{url}"
        ))
        .starts(link.starts_at)
        .ends(link.ends_at)
        .add_property("URL", &url)
        .done();
    let calendar = Calendar::new().name("CLB-chat").push(event).done();
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"chat-met-je-clb.ics\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        calendar.to_string(),
    )
        .into_response()
}
