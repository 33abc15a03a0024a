//! The HTTP surface, on one port: the pages, their assets (compiled into the binary), a
//! small JSON API for the pages, the WebSocket, health, readiness and metrics.
//!
//! | path | what |
//! |---|---|
//! | the service's pages ([`Pages`]) | e.g. `/` (visitor), `/counsellor`, `/coordinator` |
//! | the service's routes ([`Pages::routes`]) | e.g. blended chat's `POST /api/appointment.ics` |
//! | `/setup` | the one-time creation of the first coordinator |
//! | `/assets/{file}` | CSS and JavaScript |
//! | `/api/info` | desk, partner lines, topic taxonomy, quick-exit address |
//! | `POST /api/setup` | completes the one-time setup |
//! | `/ws` | the WebSocket (`clbchat.v1`) |
//! | `/healthz` | 200 while the process runs |
//! | `/readyz` | 200 when the store answers and the server is not stopping, else 503 |
//! | `/metrics` | Prometheus / OpenMetrics text |
//!
//! Pages are sent with a strict Content-Security-Policy (scripts and styles from this origin
//! only, no inline code, no framing), `Referrer-Policy: no-referrer` and `no-store`, so a
//! shared family computer keeps no copy of a chat page. No handler logs a request's address.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clbchat_core::ids::DeskId;
use clbchat_core::registration::{ChatResult, FoundVia, TOPICS};
use serde_json::json;

use crate::app::Shared;
use crate::bootstrap::SetupRequest;
use crate::error::Error;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// A page that the websites `origins` may show in a frame (a centre's chatbox on the
/// centre's own site): [`CSP`] with those origins as its `frame-ancestors`, and without
/// `X-Frame-Options` (which cannot name origins). The origins must be checked ones
/// ([`clbchat_core::centre::normalise_origin`]); with none, the page is framed nowhere.
pub fn frameable_page(html: axum::body::Bytes, origins: &[String]) -> Response {
    let mut r = page(html);
    if origins.is_empty() {
        return r;
    }
    let ancestors = format!("frame-ancestors 'self' {}", origins.join(" "));
    let csp = CSP.replace("frame-ancestors 'none'", &ancestors);
    match HeaderValue::from_str(&csp) {
        Ok(v) => {
            let h = r.headers_mut();
            h.insert(header::CONTENT_SECURITY_POLICY, v);
            h.remove(header::X_FRAME_OPTIONS);
        }
        Err(_) => {
            tracing::warn!("a centre's websites do not fit in a header; the box stays unframed")
        }
    }
    r
}

/// A service's pages and assets, compiled into its binary; the assembly serves them beside
/// its own ([`SHARED_ASSETS`] and the setup page).
#[derive(Debug, Clone, Copy)]
pub struct Pages {
    /// Pages: (path, HTML), e.g. `("/", VISITOR_HTML)`.
    pub pages: &'static [(&'static str, &'static str)],
    /// Assets under `/assets/`: (file name, content type, content).
    pub assets: &'static [(&'static str, &'static str, &'static str)],
    /// The service's own routes (an API its pages use), added to the assembly's.
    pub routes: fn(Router<Arc<Shared>>) -> Router<Arc<Shared>>,
    /// The service's name as its pages show it (e.g. `CLBch@t`): the shared pages (the
    /// coordinator's, the setup page) show it where they say [`BRAND_MARK`].
    pub brand: &'static str,
}

/// Where a page shows the service's name ([`Pages::brand`]); the server fills it in.
pub const BRAND_MARK: &str = "{{brand}}";

/// Where a page names the desk it is for (`data-desk` on its `html` element): a centre's
/// chatbox fills in the centre's desk; elsewhere it is left empty (the service's own desk).
pub const DESK_MARK: &str = "{{desk}}";

impl Pages {
    /// No pages: the socket, the API, health and metrics only (an embedding program with
    /// pages of its own elsewhere).
    pub const NONE: Pages = Pages {
        pages: &[],
        assets: &[],
        routes: no_routes,
        brand: "CLBch@t",
    };
}

/// No routes of a service's own ([`Pages::routes`]).
pub fn no_routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
}

/// The assets every service's pages use: (file name, content type, content).
pub const SHARED_ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        crate::report::REPORT_CSS,
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/i18n.js"),
    ),
    (
        "proto.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/proto.js"),
    ),
    (
        "attention.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/attention.js"),
    ),
    (
        "staff.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/staff.js"),
    ),
    (
        "coordinator.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/coordinator.js"),
    ),
    (
        "setup.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/setup.js"),
    ),
    (
        "visitor.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/visitor.js"),
    ),
    (
        "counsellor.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/counsellor.js"),
    ),
];

const SETUP_HTML: &str = include_str!("../assets/setup.html");

/// The coordinator's page (desk board, flags, calendar, accounts, the annual report), the
/// same for every service: a service lists it among its pages at `/coordinator`, where the
/// one-time setup page sends the first coordinator.
pub const COORDINATOR_HTML: &str = include_str!("../assets/coordinator.html");

/// The visitor's page of an anonymous desk (the national desk at `/`, a centre's chatbox
/// at `/c/<centre>`): hours, queue, the chat, rating. It reads its desk from
/// [`DESK_MARK`] (empty: the service's own).
pub const VISITOR_HTML: &str = include_str!("../assets/visitor.html");

/// The counsellor's page: online at their desks, the chats, registration.
pub const COUNSELLOR_HTML: &str = include_str!("../assets/counsellor.html");

/// The router over the shared state.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    let brand = shared.pages.brand;
    for &(path, html) in shared.pages.pages {
        let html = branded(html, brand);
        router = router.route(path, get(move || async move { page(html) }));
    }
    let setup_page = branded(SETUP_HTML, brand);
    if shared.hosts_centres {
        router = crate::boxes::routes(router);
    }
    router = crate::blended::routes(router, &shared);
    (shared.pages.routes)(router)
        .route("/setup", get(move || async move { page(setup_page) }))
        .route("/assets/{file}", get(asset))
        .route("/api/info", get(info))
        .route("/api/setup", post(setup))
        .route("/ws", get(socket))
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok\n") }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(|| async { text(StatusCode::NOT_FOUND, "not found\n") })
        .with_state(shared)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A page with its marks filled in, once, at start (its desk left to the page: the
/// service's own).
fn branded(html: &'static str, brand: &str) -> axum::body::Bytes {
    if html.contains("{{") {
        axum::body::Bytes::from(fill(html, brand, ""))
    } else {
        axum::body::Bytes::from_static(html.as_bytes())
    }
}

/// The pieces every page shares, by the mark a page puts where it wants them: the language
/// switch of every top bar, and the login form of every staff page (its test ids and the
/// ids `staff.js` reads).
const PARTIALS: &[(&str, &str)] = &[
    (
        "{{lang_switch}}",
        include_str!("../assets/partials/lang-switch.html"),
    ),
    (
        "{{staff_login}}",
        include_str!("../assets/partials/staff-login.html"),
    ),
];

/// A page with the shared pieces ([`PARTIALS`]), the service's name and a desk filled in.
/// Name and desk are plain text: `desk` must be an id that needs no escaping (a checked
/// centre id, see [`clbchat_core::centre::check_id`]); `brand` a name of the service's
/// own.
pub fn fill(html: &str, brand: &str, desk: &str) -> String {
    let mut out = html.to_owned();
    for (mark, part) in PARTIALS {
        if out.contains(mark) {
            out = out.replace(mark, part.trim_end());
        }
    }
    out.replace(BRAND_MARK, brand).replace(DESK_MARK, desk)
}

/// Serves a page with the headers every page gets (CSP, no referrer, no cache).
pub fn page(html: axum::body::Bytes) -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn asset(State(s): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    match SHARED_ASSETS
        .iter()
        .chain(crate::boxes::ASSETS)
        .chain(crate::blended::ASSETS)
        .chain(s.pages.assets)
        .find(|(name, _, _)| *name == file)
    {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => text(StatusCode::NOT_FOUND, "no such asset\n"),
    }
}

fn names<T: serde::Serialize>(values: &[T]) -> Vec<serde_json::Value> {
    values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect()
}

/// `/api/info`'s query: which desk (default: the service's own).
#[derive(Debug, serde::Deserialize)]
struct InfoQuery {
    desk: Option<String>,
}

async fn info(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<InfoQuery>,
) -> Response {
    let wanted = q
        .desk
        .map(DeskId::new)
        .or_else(|| s.desk.as_ref().map(|d| d.id.clone()));
    // The desk as it is in force now (a coordinator may have changed its hours since the
    // start); none on a server of centres asked without one (the staff pages).
    let desk = match wanted {
        Some(id) => match s.engine.desk(&id) {
            Some(desk) => Some(desk),
            None => {
                return json_error(
                    StatusCode::NOT_FOUND,
                    "unknown_desk",
                    "there is no such chat here; check the address".into(),
                )
            }
        },
        None => None,
    };
    let topics: Vec<_> = TOPICS
        .iter()
        .map(|t| {
            json!({
                "code": t.code,
                "domain": serde_json::to_value(t.domain).unwrap_or_default(),
                "nl": t.nl,
                "en": t.en,
            })
        })
        .collect();
    let partners: Vec<_> = s
        .settings
        .partners
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name }))
        .collect();
    let limits = desk
        .as_ref()
        .map_or_else(clbchat_core::config::Limits::default, |d| d.limits.clone());
    // A box that opens only for events sends its visitors to the national desk when closed.
    let national_desk = desk
        .as_ref()
        .filter(|d| d.calendar.mode == clbchat_core::calendar::CalendarMode::EventsOnly)
        .map(|_| {
            let n = &s.settings.national_desk;
            json!({ "name": n.name, "url": n.url, "hours": n.hours })
        });
    Json(json!({
        "national_desk": national_desk,
        "hours": desk.as_ref().map(|d| hours(&d.calendar)),
        "desk": desk.as_ref().map(|d| json!({ "id": d.id, "name": d.name,
            "by_appointment": d.admission == clbchat_core::config::Admission::Appointment })),
        "partners": partners,
        "topics": topics,
        "results": names(ChatResult::ALL),
        "found_via": names(FoundVia::ALL),
        "quick_exit_url": s.settings.server.quick_exit_url,
        "max_message_chars": limits.max_message_chars,
        "chat_limit_minutes": limits.chat_limit.as_secs() / 60,
        "max_nickname_chars": clbchat_core::config::MAX_NICKNAME_CHARS,
        "max_rating_comment_chars": clbchat_core::registration::MAX_RATING_COMMENT_CHARS,
        "retention_days": s.settings.storage.retention_days,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// A desk's hours, for the start page's "when are we open".
fn hours(calendar: &clbchat_core::calendar::Calendar) -> serde_json::Value {
    use clbchat_core::calendar::{Calendar, CalendarMode};
    let always_open = calendar.mode == CalendarMode::Weekly
        && calendar.closures.is_empty()
        && calendar.holiday_periods.is_empty()
        && calendar.weekly == Calendar::always_open().weekly;
    json!({
        "always_open": always_open,
        "events_only": calendar.mode == CalendarMode::EventsOnly,
        "weekly": serde_json::to_value(&calendar.weekly).unwrap_or_default(),
        "other_hours_in_holidays": !calendar.holiday_periods.is_empty(),
        "closed_on_holidays": !calendar.closures.is_empty(),
    })
}

fn json_error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn setup(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let req: SetupRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("expected {{token, username, alias, password}}: {e}"),
            )
        }
    };
    match s
        .setup
        .complete(s.store.as_ref(), &s.first_coordinator_desks(), req)
        .await
    {
        Ok(username) => {
            tracing::info!("the first coordinator account was created with the setup link");
            crate::files::remove_setup_link(&s.settings);
            (StatusCode::CREATED, Json(json!({ "username": username }))).into_response()
        }
        Err(Error::Refused(m)) => json_error(StatusCode::FORBIDDEN, "setup_link", m),
        Err(Error::Config(m)) => json_error(StatusCode::BAD_REQUEST, "invalid", m),
        Err(Error::Core(e)) => {
            let status = if e.code() == "invalid" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json_error(status, e.code(), e.public_message())
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn socket(State(s): State<Arc<Shared>>, req: Request) -> Response {
    if s.draining.load(Ordering::SeqCst) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is restarting; try again in a moment\n",
        );
    }
    clbchat_transport_ws::http::upgrade(s.ws.clone(), req).into_response()
}

async fn ready(State(s): State<Arc<Shared>>) -> Response {
    if s.draining.load(Ordering::SeqCst) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    // One cheap read: the store answers.
    let read = match &s.desk {
        Some(desk) => s.store.calendar(&desk.id).await.map(|_| ()),
        None => s.store.centres().await.map(|_| ()),
    };
    match read {
        Ok(()) => text(StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(
                error.code = e.code(),
                "not ready: the store does not answer"
            );
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer\n",
            )
        }
    }
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let body = s.metrics.render(&s.engine, &s.ws);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
