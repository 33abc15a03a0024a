//! The calendar file (`.ics`) a counsellor sends with a client's link, and the client may
//! add to their own calendar: `POST /api/appointment.ics` with the link's token in a JSON
//! body (never in the URL, so never in a log). Whoever holds the token may have the file:
//! it says only what the link's page says (when, with whom, the link), never the client's
//! name or the counsellor's note. Written with the `icalendar` crate (RFC 5545 escaping and
//! line folding are easy to get wrong by hand).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use clbchat_assembly::app::Shared;
use clbchat_core::pseudonym::hash_secret;
use icalendar::{Calendar, Component, Event, EventLike};
use serde::Deserialize;

/// What the page sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarRequest {
    /// The join token from the link.
    pub token: String,
}

/// Blended chat's own routes.
pub fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router.route("/api/appointment.ics", post(calendar_file))
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
    // The server's appointment desk (also when it hosts other desks beside it).
    let Some(desk) = shared
        .engine
        .desks()
        .into_iter()
        .find(|d| d.admission == clbchat_core::config::Admission::Appointment)
    else {
        return refused(
            StatusCode::NOT_FOUND,
            "unknown_desk",
            "this server plans no appointments",
        );
    };
    let link = match shared.engine.appointment_link(&desk.id, &req.token).await {
        Ok(link) => link,
        Err(e) if e.code() == "invalid" => {
            return refused(StatusCode::NOT_FOUND, "invalid", &e.to_string())
        }
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, e.code(), &e.to_string()),
    };
    let url = format!("{}/join#token={}", origin(&shared, &headers), req.token);
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
