//! The HTTP surface: pages with their security headers and every asset they link, the API
//! the pages read, health and readiness, origins, and metrics that follow a chat.

use clbchat_core::account::StaffRole;
use clbchat_core::event::Discipline;
use clbchat_core::ids::ClientMsgId;
use clbchat_core::registration::TOPICS;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use clbchat_transport_ws::tokio_tungstenite::tungstenite;

use crate::support::*;

/// Every `/assets/...` a page links to.
fn linked_assets(html: &str) -> Vec<String> {
    html.split("\"/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|f| format!("/assets/{f}"))
        .collect()
}

#[tokio::test]
async fn pages_assets_api_and_health_answer_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    let http = reqwest::Client::new();
    for page in ["/", "/counsellor", "/coordinator", "/setup"] {
        let r = http.get(server.http(page)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{page}");
        let h = r.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
        let html = r.text().await.unwrap();
        assert!(html.contains("lang=\"nl\""), "{page} is Dutch first");
        let assets = linked_assets(&html);
        assert!(!assets.is_empty(), "{page} links its script and style");
        for a in assets {
            let r = http.get(server.http(&a)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{page} links {a}, which must exist");
            let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(
                (a.ends_with(".js") && kind.starts_with("text/javascript"))
                    || (a.ends_with(".css") && kind.starts_with("text/css")),
                "{a}: {kind}"
            );
        }
    }
    let info: serde_json::Value = http
        .get(server.http("/api/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["desk"]["id"], DESK);
    assert_eq!(info["topics"].as_array().unwrap().len(), TOPICS.len());
    assert_eq!(info["partners"][0]["id"], "nu-praat-ik-erover");
    assert_eq!(info["max_message_chars"], 4000);

    let get = |p: &str| http.get(server.http(p)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    assert_eq!(get("/assets/nothing.js").await.unwrap().status(), 404);
    assert_eq!(get("/wp-admin").await.unwrap().status(), 404);
    // A plain GET of the socket address gets a reason, not a hang.
    let r = get("/ws").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("WebSocket"));
    server.stop().await;
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_the_own_origin_is_let_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    for origin in [Some("https://evil.example"), Some("null")] {
        match Client::connect(&server.ws(), origin).await {
            Err(clbchat_transport_ws::Error::WebSocket(tungstenite::Error::Http(resp))) => {
                assert_eq!(resp.status(), 403, "{origin:?}");
                let body = String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default())
                    .into_owned();
                assert!(body.contains("origin"), "{body}");
            }
            other => panic!("{origin:?} must be refused, got {other:?}"),
        }
    }
    let c = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .expect("own origin");
    let a = c
        .request(ClientFrame::Availability { desk: desk() })
        .await
        .unwrap();
    assert!(matches!(a, ServerFrame::Availability { availability, .. } if availability.open));
    server.stop().await;
}

/// A native client (no browser, so no `Origin`) connects to `/ws` as `docs/protocol.md` §2
/// says; a deployment that wants browsers only turns that off.
#[tokio::test]
async fn a_native_client_without_origin_connects_unless_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    let c = Client::connect(&server.ws(), None)
        .await
        .expect("a native client is let in");
    let a = c
        .request(ClientFrame::Availability { desk: desk() })
        .await
        .unwrap();
    // Open around the clock (no calendar configured): no closing time a year ahead.
    assert!(
        matches!(&a, ServerFrame::Availability { availability, .. } if availability.open && availability.closes_at.is_none()),
        "{a:?}"
    );
    drop(c);
    server.stop().await;

    let mut settings = settings_in(dir.path());
    settings.server.accept_clients_without_origin = false;
    let strict = InProcess::start(settings).await;
    match Client::connect(&strict.ws(), None).await {
        Err(clbchat_transport_ws::Error::WebSocket(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status(), 403);
        }
        other => panic!("a missing origin must be refused when turned off, got {other:?}"),
    }
    strict.stop().await;
}

/// The value of one metric line (name with labels, exactly).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
}

#[tokio::test]
async fn metrics_follow_connections_waits_messages_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    server
        .account("ann", StaffRole::Counsellor, Discipline::Medical)
        .await;
    let mut ann = staff(&server.ws(), &server.origin(), "ann").await;
    ann.request(ClientFrame::Online {
        desk: desk(),
        shift_ends_at: None,
    })
    .await
    .unwrap();
    ann.request(ClientFrame::Available {
        desk: desk(),
        available: true,
    })
    .await
    .unwrap();
    let mut visitor = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let (conversation, _, _) = arrive(&visitor).await;
    wait_assigned(&mut ann).await;
    for (i, text) in ["hallo", "ik heb een vraag"].iter().enumerate() {
        let r = visitor
            .request(ClientFrame::Send {
                id: ClientMsgId::new(format!("v{i}")),
                conversation: None,
                text: (*text).into(),
            })
            .await
            .unwrap();
        assert!(matches!(r, ServerFrame::Ack { .. }), "{r:?}");
    }
    ann.request(ClientFrame::Send {
        id: ClientMsgId::new("a1"),
        conversation: Some(conversation),
        text: "vertel maar".into(),
    })
    .await
    .unwrap();
    // One malformed frame: an error frame, and the chat goes on.
    visitor
        .send_raw(tungstenite::Message::text("{not json"))
        .await
        .unwrap();
    loop {
        match visitor.next_frame().await {
            Some(ServerFrame::Error { code, .. }) => {
                assert_eq!(code, "malformed");
                break;
            }
            Some(_) => continue,
            None => panic!("the connection closed"),
        }
    }

    let text = reqwest::get(server.http("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(metric(&text, "clbchat_connections "), 2.0);
    assert_eq!(metric(&text, "clbchat_connections_opened_total "), 2.0);
    assert_eq!(
        metric(&text, "clbchat_queue_length{desk=\"clbchat\"} "),
        0.0
    );
    assert_eq!(
        metric(&text, "clbchat_running_chats{desk=\"clbchat\"} "),
        1.0
    );
    assert_eq!(
        metric(&text, "clbchat_wait_seconds_count{desk=\"clbchat\"} "),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "clbchat_messages_total{desk=\"clbchat\",from=\"client\"} "
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            "clbchat_messages_total{desk=\"clbchat\",from=\"counsellor\"} "
        ),
        1.0
    );
    assert_eq!(
        metric(&text, "clbchat_errors_total{code=\"malformed\"} "),
        1.0
    );
    // Metrics carry counts, never what was said.
    assert!(!text.contains("vraag") && !text.contains(&conversation.to_string()));

    ann.request(ClientFrame::End { conversation })
        .await
        .unwrap();
    let text = reqwest::get(server.http("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&text, "clbchat_running_chats{desk=\"clbchat\"} "),
        0.0
    );
    assert_eq!(
        metric(
            &text,
            "clbchat_chats_ended_total{desk=\"clbchat\",reason=\"counsellor_ended\"} "
        ),
        1.0
    );
    server.stop().await;
}

/// A counsellor logged in on a second page (the first is replaced, 4009) who then closes
/// that page leaves no ghost: `clbchat_staff_online` and the board go back to nobody.
#[tokio::test]
async fn a_replaced_staff_session_leaves_no_ghost_in_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    server
        .account("ann", StaffRole::Counsellor, Discipline::Medical)
        .await;
    let online = |text: &str| metric(text, "clbchat_staff_online{desk=\"clbchat\"} ");
    let scrape = || async {
        reqwest::get(server.http("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let mut first = staff(&server.ws(), &server.origin(), "ann").await;
    first
        .request(ClientFrame::Online {
            desk: desk(),
            shift_ends_at: None,
        })
        .await
        .unwrap();
    let second = staff(&server.ws(), &server.origin(), "ann").await;
    second
        .request(ClientFrame::Online {
            desk: desk(),
            shift_ends_at: None,
        })
        .await
        .unwrap();
    // The first page is told it was replaced and closed.
    while first.next_frame().await.is_some() {}
    assert_eq!(online(&scrape().await), 1.0);
    drop(second);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = scrape().await;
        if online(&text) == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a ghost stays online:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let board = server.shared.engine.board(&desk()).unwrap();
    assert!(board.counsellors.is_empty(), "{board:?}");
    server.stop().await;
}
