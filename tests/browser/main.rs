//! The pages in a real headless Chromium against the real server: a whole chat between a
//! visitor (on a phone-sized window) and a counsellor in two browser sessions, with rating
//! and registration; the closed desk; the quick exit; keyboard use; the coordinator's and
//! the setup pages. Every page state a user sees is checked with axe-core (no serious or
//! critical violation) and saved as a screenshot in `test-artifacts/screenshots/`.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod blended;
mod chatbox;
mod evening;
mod planning;
mod review;
mod support;

use chrono::{Duration as Days, Utc};
use clbchat_core::account::StaffRole;
use clbchat_core::calendar::{Calendar, EventWindow};
use clbchat_core::event::Discipline;
use clbchat_core::ids::DeskId;
use clbchat_core::registration::ChatResult;
use clbchat_core::store::ConversationFilter;
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::Value;

use support::*;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_and_a_counsellor_complete_a_whole_chat_with_rating_and_registration() {
    if !tools_present("whole chat") {
        return;
    }
    let server = Server::start(|_, _| {}).await;
    server
        .account("sara", StaffRole::Counsellor, Discipline::PsychoPedagogical)
        .await;
    let driver = Driver::start().await;
    let counsellor = driver.browser("counsellor", DESKTOP.0, DESKTOP.1).await;
    let visitor = driver.browser("visitor", PHONE.0, PHONE.1).await;

    // The counsellor logs in and goes online (available by default).
    counsellor.open(&server.url("/counsellor")).await;
    counsellor.shown("username").await;
    counsellor.assert_accessible("counsellor login").await;
    counsellor.screenshot("counsellor-1-login").await;
    counsellor.type_into("username", "sara").await;
    counsellor.type_into("password", PASSWORD).await;
    counsellor.click("login").await;
    counsellor.shown("view-desk").await;
    counsellor.shown("shift-end").await;
    counsellor.click("go-online").await;
    // Online and free: the waiting line says a newcomer is taken at once (not that nobody
    // can take a chat, as it did until the next round of polling).
    counsellor
        .text_contains("waiting-count", "is meteen aan de beurt")
        .await;
    counsellor.assert_accessible("counsellor online").await;
    counsellor.screenshot("counsellor-2-online").await;

    // The visitor starts, in Dutch.
    visitor.open(&server.url("/")).await;
    visitor.shown("view-start").await;
    let lang = visitor.js("return document.documentElement.lang").await;
    assert_eq!(lang, "nl");
    visitor.assert_accessible("visitor start").await;
    visitor.screenshot("visitor-1-start").await;
    visitor.click("client-student").await;
    visitor.type_into("nickname", "Mila").await;
    visitor.type_into("age", "15").await;
    visitor.click("start").await;

    // The counsellor gets the chat and writes first.
    counsellor.shown("chat-pane").await;
    counsellor.shown("history-banner").await;
    counsellor
        .type_into(
            "message-input",
            "Hoi Mila, ik ben Sara. Waarover wil je praten?",
        )
        .await;
    counsellor.click("send").await;

    visitor.shown("view-chat").await;
    visitor.text_contains("messages", "ik ben Sara").await;
    visitor
        .type_into(
            "message-input",
            "Thuis is er veel ruzie over mijn studiekeuze",
        )
        .await;
    visitor.click("send").await;
    counsellor
        .text_contains("messages", "veel ruzie over mijn studiekeuze")
        .await;
    // Each side's own message is confirmed (stored), not left "sending": by its ack alone,
    // since no echo of it comes back (docs/protocol.md, `send`).
    let sent = |text: &str| {
        format!(
            "return Array.from(document.querySelectorAll('[data-testid=\"message\"]'))\
             .some(e => e.dataset.status === 'sent' && e.dataset.seq && \
             e.textContent.includes('{text}'))"
        )
    };
    visitor
        .until_js(&sent("studiekeuze"), "showed its own message as sent")
        .await;
    counsellor
        .until_js(&sent("ik ben Sara"), "showed her own message as sent")
        .await;
    visitor.assert_accessible("visitor chat").await;
    visitor.screenshot("visitor-2-chat").await;
    counsellor.assert_accessible("counsellor chat").await;
    counsellor.screenshot("counsellor-3-chat").await;

    // The counsellor ends; the visitor rates; the counsellor registers.
    counsellor.click("end-chat").await;
    visitor.shown("view-rating").await;
    visitor.assert_accessible("visitor rating").await;
    visitor.screenshot("visitor-3-rating").await;
    visitor.choose("star-4").await;
    visitor
        .type_into("rating-comment", "Fijn dat iemand luisterde")
        .await;
    visitor.click("rate").await;
    visitor.shown("rating-thanks").await;
    visitor.screenshot("visitor-4-thanks").await;

    counsellor.shown("registration-form").await;
    counsellor.assert_accessible("registration form").await;
    counsellor
        .click_css(&[
            "[data-testid=\"reg-topic\"] input[value=\"psf.family\"]",
            "[data-testid=\"reg-topic\"] input[value=\"olb.study_choice\"]",
            "[data-testid=\"reg-result\"] input[value=\"emotional_support\"]",
            "[data-testid=\"reg-found-via\"] option[value=\"smartschool\"]",
        ])
        .await;
    counsellor.screenshot("counsellor-4-registration").await;
    counsellor.click("register").await;
    counsellor.shown("registered").await;

    // What the users did is in the store: one ended chat, its rating and registration.
    let store = &server.shared.store;
    let chats = store
        .conversations(&ConversationFilter {
            desk: Some(DeskId::new(DESK)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(chats.len(), 1);
    let id = chats[0].id;
    let rating = store.rating(id).await.unwrap().expect("rated");
    assert_eq!(rating.stars, 4);
    assert_eq!(rating.comment.as_deref(), Some("Fijn dat iemand luisterde"));
    let reg = store.registration(id).await.unwrap().expect("registered");
    assert!(reg.topics.iter().any(|t| t == "psf.family"));
    assert!(reg.topics.iter().any(|t| t == "olb.study_choice"));
    assert_eq!(reg.results, vec![ChatResult::EmotionalSupport]);

    visitor.close().await;
    counsellor.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_at_a_closed_desk_sees_when_it_opens() {
    if !tools_present("closed desk") {
        return;
    }
    // Open only for an info evening three days from now.
    let evening = (Utc::now() + Days::days(3))
        .with_timezone(&chrono_tz::Europe::Brussels)
        .date_naive();
    let calendar = Calendar::events_only(vec![EventWindow {
        name: "Infoavond".into(),
        welcome: None,
        start: evening.and_hms_opt(19, 0, 0).unwrap(),
        end: evening.and_hms_opt(21, 0, 0).unwrap(),
    }]);
    let server = Server::start(move |s, dir| {
        let file = dir.join("calendar.toml");
        std::fs::write(&file, toml::to_string(&calendar).unwrap()).unwrap();
        s.desk.calendar_file = Some(file);
    })
    .await;
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-closed", PHONE.0, PHONE.1).await;
    visitor.open(&server.url("/")).await;
    visitor.shown("view-closed").await;
    // The next opening, in Brussels time: 19:00 on that day.
    let text = visitor.text_contains("next-opening", "19:00").await;
    assert!(
        text.contains(&evening.format("%-d").to_string()),
        "names the day: {text}"
    );
    let start_form = visitor
        .client
        .find(Locator::Css("[data-testid=\"view-start\"]"))
        .await
        .unwrap();
    assert!(
        !start_form.is_displayed().await.unwrap(),
        "no start form while closed"
    );
    visitor.assert_accessible("closed page").await;
    visitor.screenshot("visitor-closed-nl").await;
    // The same in English.
    visitor.click("lang-en").await;
    assert_eq!(
        visitor.js("return document.documentElement.lang").await,
        "en"
    );
    visitor.shown("view-closed").await;
    visitor.assert_accessible("closed page, English").await;
    visitor.screenshot("visitor-closed-en").await;
    visitor.close().await;
    server.stop().await;
}

/// A neutral page for the quick exit to land on, on its own port.
async fn neutral_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let body =
                    "<!doctype html><html lang=\"nl\"><title>Weer</title><h1>Het weer</h1></html>";
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    format!("http://127.0.0.1:{}/weer", addr.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_exit_leaves_at_once_and_nothing_in_the_browser() {
    if !tools_present("quick exit") {
        return;
    }
    let exit = neutral_site().await;
    let exit_url = exit.clone();
    let server = Server::start(move |s, _| s.server.quick_exit_url = exit_url).await;
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-exit", PHONE.0, PHONE.1).await;
    visitor.open(&server.url("/")).await;
    visitor.click("client-parent").await;
    visitor.click("start").await;
    visitor.shown("view-waiting").await;
    visitor.text_contains("queue-position", "volgende").await;
    visitor.assert_accessible("waiting room").await;
    visitor.screenshot("visitor-waiting").await;
    let stored = visitor
        .js("return localStorage.length + sessionStorage.length")
        .await;
    assert!(
        stored.as_u64().unwrap() > 0,
        "a waiting visitor keeps its session"
    );

    visitor.click("quick-exit").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while visitor.client.current_url().await.unwrap().as_str() != exit {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the quick exit did not leave"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Back on the server's origin (a page without scripts): nothing is left.
    visitor.open(&server.url("/healthz")).await;
    let left: Value = visitor
        .js("return [localStorage.length, sessionStorage.length, document.cookie]")
        .await;
    assert_eq!(
        left,
        serde_json::json!([0, 0, ""]),
        "storage after the quick exit"
    );
    // The place in the queue was given up.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let a = server
            .shared
            .engine
            .availability(&DeskId::new(DESK))
            .unwrap();
        if a.queue_length == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still in the queue");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    visitor.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_page_works_by_keyboard_alone() {
    if !tools_present("keyboard") {
        return;
    }
    let server = Server::start(|_, _| {}).await;
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-keys", PHONE.0, PHONE.1).await;
    visitor.open(&server.url("/")).await;
    visitor.shown("view-start").await;
    // Tab to the student choice, select it with Space, Tab to Start, press Enter.
    let active_testid = || async {
        visitor
            .js("const a = document.activeElement; return a ? (a.dataset.testid || a.tagName) : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let press = |k: Key| {
        let b = &visitor;
        async move {
            let active = b.client.active_element().await.unwrap();
            active
                .send_keys(&String::from(char::from(k)))
                .await
                .unwrap();
        }
    };
    let mut seen = Vec::new();
    for _ in 0..30 {
        press(Key::Tab).await;
        let t = active_testid().await;
        seen.push(t.clone());
        if t == "client-student" || t == "client-parent" {
            break;
        }
    }
    assert!(
        seen.iter().any(|t| t.starts_with("client-")),
        "the client choice is reachable by Tab: {seen:?}"
    );
    press(Key::Space).await;
    for _ in 0..30 {
        if active_testid().await == "start" {
            break;
        }
        press(Key::Tab).await;
    }
    assert_eq!(active_testid().await, "start", "Start is reachable by Tab");
    press(Key::Enter).await;
    visitor.shown("view-waiting").await;
    // Every visible control has a visible focus style (outline or box-shadow).
    let unfocusable: Value = visitor
        .js(r#"const bad = [];
               for (const el of document.querySelectorAll('button, input, select, textarea, a[href]')) {
                 if (el.offsetParent === null || el.disabled) continue;
                 el.focus();
                 const s = getComputedStyle(el);
                 if (document.activeElement !== el) bad.push((el.dataset.testid || el.tagName) + ': not focusable');
                 else if (s.outlineStyle === 'none' && s.boxShadow === 'none') bad.push((el.dataset.testid || el.tagName) + ': no focus style');
               }
               return bad;"#)
        .await;
    assert_eq!(
        unfocusable,
        serde_json::json!([]),
        "focus is visible on every control"
    );
    visitor.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_and_coordinator_pages_work_and_are_accessible() {
    if !tools_present("coordinator") {
        return;
    }
    let server = Server::start(|_, _| {}).await;
    let link = server
        .setup_link
        .clone()
        .expect("a fresh server prints a setup link");
    let token = link.split("#token=").nth(1).unwrap().to_owned();
    let driver = Driver::start().await;
    let coordinator = driver.browser("coordinator", DESKTOP.0, DESKTOP.1).await;
    coordinator
        .open(&server.url(&format!("/setup#token={token}")))
        .await;
    coordinator.shown("setup-username").await;
    coordinator.assert_accessible("setup page").await;
    coordinator.screenshot("setup").await;
    coordinator.type_into("setup-username", "kris").await;
    coordinator.type_into("setup-alias", "Kris").await;
    coordinator.type_into("setup-password", PASSWORD).await;
    coordinator
        .type_into("setup-password-confirm", PASSWORD)
        .await;
    coordinator.click("setup-submit").await;
    coordinator.shown("setup-done").await;
    assert!(!server.shared.setup.is_armed(), "the link is used up");

    coordinator.open(&server.url("/coordinator")).await;
    coordinator.type_into("username", "kris").await;
    coordinator.type_into("password", PASSWORD).await;
    coordinator.click("login").await;
    coordinator.shown("board").await;
    coordinator.shown("coverage-warnings").await;
    coordinator.assert_accessible("coordinator board").await;
    coordinator.screenshot("coordinator-board").await;
    coordinator.shown("accounts").await;
    coordinator.text_contains("account-list", "kris").await;
    coordinator.shown("calendar").await;
    coordinator
        .assert_accessible("coordinator page, all panels")
        .await;
    coordinator.screenshot("coordinator-all").await;
    coordinator.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_reads_the_annual_report_on_the_page_and_downloads_it() {
    if !tools_present("report") {
        return;
    }
    // A small 2021-2022 year, played through the engine into the server's database.
    let server = Server::start(|settings, _| {
        let settings = settings.clone();
        std::thread::spawn(move || {
            clbchat_assembly::cli::demo_data(
                &settings,
                &clbchat_assembly::cli::DemoDataArgs {
                    school_year: 2021,
                    chats: 80,
                    seed: 3,
                    no_chatboxes: true,
                    alongside_existing_data: false,
                },
            )
        })
        .join()
        .expect("the demo thread")
        .expect("demo data");
    })
    .await;
    let query = clbchat_core::statistics::ReportQuery::school_year(
        Some(DeskId::new(DESK)),
        2021,
        Utc::now(),
    )
    .unwrap();
    let figures = server.shared.store.report(&query).await.unwrap();
    assert!(figures.totals.chats > 40, "{:?}", figures.totals);
    server
        .account("kris", StaffRole::Coordinator, Discipline::Medical)
        .await;

    let driver = Driver::start().await;
    let coordinator = driver.browser("coordinator", DESKTOP.0, DESKTOP.1).await;
    coordinator.open(&server.url("/coordinator")).await;
    coordinator.type_into("username", "kris").await;
    coordinator.type_into("password", PASSWORD).await;
    coordinator.click("login").await;
    coordinator.shown("report").await;
    coordinator.select("report-year", "2021").await;
    coordinator.click("report-show").await;
    coordinator
        .text_contains("report-view", "Jaarverslag 2021-2022")
        .await;
    let chats = clbchat_assembly::report::Lang::Nl.count(figures.totals.chats);
    coordinator
        .text_contains("report-status", &format!("{chats} chatgesprekken"))
        .await;
    let row = coordinator
        .js("return document.querySelector('#rpt-table-totals tr[data-key=chats] td').textContent")
        .await;
    assert_eq!(
        row,
        Value::String(chats.clone()),
        "the page shows the store's figure"
    );
    let charts = coordinator
        .js("return document.querySelectorAll('[data-testid=report-view] svg[role=img]').length")
        .await;
    assert!(charts.as_u64().unwrap_or(0) >= 4, "charts: {charts}");
    coordinator
        .assert_accessible("coordinator page, annual report")
        .await;
    coordinator.screenshot("coordinator-report").await;

    coordinator.click("report-download-csv").await;
    coordinator
        .text_contains("report-status", "rapport-clbchat-2021-09-01-2022-08-31.csv")
        .await;

    // In English, the shown report follows.
    coordinator.click("lang-en").await;
    coordinator
        .text_contains("report-view", "Annual report 2021-2022")
        .await;

    // A theme without topics is refused on the page, before anything is asked.
    coordinator.click("report-theme").await;
    coordinator.type_into("report-theme-name", "COVID-19").await;
    coordinator.click("report-show").await;
    coordinator
        .text_contains("report-error", "at least one topic")
        .await;
    coordinator.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_restart_the_visitor_page_resumes_by_itself() {
    if !tools_present("restart") {
        return;
    }
    let server = Server::start(|_, _| {}).await;
    server
        .account("sara", StaffRole::Counsellor, Discipline::Medical)
        .await;
    let driver = Driver::start().await;
    let counsellor = driver
        .browser("counsellor-restart", DESKTOP.0, DESKTOP.1)
        .await;
    let visitor = driver.browser("visitor-restart", PHONE.0, PHONE.1).await;
    counsellor.open(&server.url("/counsellor")).await;
    counsellor.type_into("username", "sara").await;
    counsellor.type_into("password", PASSWORD).await;
    counsellor.click("login").await;
    counsellor.click("go-online").await;
    visitor.open(&server.url("/")).await;
    visitor.click("client-student").await;
    visitor.click("start").await;
    counsellor.shown("chat-pane").await;
    counsellor
        .type_into("message-input", "Hallo, ik ben er")
        .await;
    counsellor.click("send").await;
    visitor.text_contains("messages", "Hallo, ik ben er").await;

    // Stop (clients hear 1012) and start again on the same port and data.
    let server = server.restart().await;

    // The visitor's page reconnects and resumes without a click; what it sends arrives.
    visitor.type_into("message-input", "Ben je er nog?").await;
    visitor.click("send").await;
    let conversation = {
        let chats = server
            .shared
            .store
            .conversations(&ConversationFilter::default())
            .await
            .unwrap();
        chats[0].id
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let log = server
            .shared
            .store
            .events_after(conversation, 0)
            .await
            .unwrap();
        let texts: Vec<String> = log
            .iter()
            .filter_map(|e| match &e.body {
                clbchat_core::event::EventBody::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        if texts.iter().any(|t| t == "Ben je er nog?") {
            assert_eq!(
                texts,
                ["Hallo, ik ben er", "Ben je er nog?"],
                "once each, in order"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the visitor's message never arrived after the restart; page:\n{}",
            visitor.text_of_body().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // On screen: the earlier message once, the new one confirmed.
    let texts = visitor
        .js("return [...document.querySelectorAll('[data-testid=\"messages\"] [data-testid=\"message\"]')].map(m => m.dataset.from + ':' + m.textContent)")
        .await;
    let texts: Vec<String> = serde_json::from_value(texts).unwrap();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("Hallo, ik ben er"))
            .count(),
        1,
        "{texts:?}"
    );
    visitor.screenshot("visitor-after-restart").await;
    visitor.close().await;
    counsellor.close().await;
    server.stop().await;
}
