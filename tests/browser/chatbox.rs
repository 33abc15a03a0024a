//! Chat-met-je-CLB in the real pages (issue 17): a centre's box, closed, points to the
//! national desk with its hours; its coordinator opens it after an incident with a title
//! and a welcome, which the visitor reads on a phone; a teacher starts a chat and the
//! centre's counsellor answers on the shared counsellor page; the coordinator closes it.

use chrono::{Duration as Days, Utc};
use clbchat_core::account::StaffRole;
use clbchat_core::centre::Centre;
use clbchat_core::ids::{CentreId, ConversationId, DeskId, StaffId};

use crate::support::*;
use crate::{DESKTOP, PHONE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centres_box_closed_then_opened_after_an_incident_and_a_teachers_chat() {
    if !tools_present("chatbox") {
        return;
    }
    let server = Server::start_service(&chat_met_je_clb::SERVICE, |_, _| {}).await;
    let hasselt = Centre {
        id: CentreId::new("clb-hasselt"),
        name: "CLB Hasselt".into(),
        origins: Vec::new(),
        created_at: Utc::now(),
    };
    server.shared.store.put_centre(&hasselt).await.unwrap();
    server
        .account_on("ines", StaffRole::Counsellor, &["clb-hasselt"])
        .await;
    server
        .account_on("greet", StaffRole::Coordinator, &["clb-hasselt"])
        .await;
    let driver = Driver::start().await;
    let visitor = driver.browser("chatbox-visitor", PHONE.0, PHONE.1).await;
    let counsellor = driver
        .browser("chatbox-counsellor", DESKTOP.0, DESKTOP.1)
        .await;

    // Closed: it says whose box it is, and where to go every school week.
    visitor.open(&server.url("/c/clb-hasselt")).await;
    visitor.shown("view-closed").await;
    visitor
        .text_contains("view-closed", "De chat van CLB Hasselt is nu gesloten")
        .await;
    visitor.shown("closed-national").await;
    visitor.text_contains("closed-national", "woensdag").await;
    let href = visitor
        .js("return document.querySelector('[data-testid=national-link]').href")
        .await;
    assert_eq!(href, "https://www.clbchat.be/");
    visitor.assert_accessible("a closed centre's box").await;
    visitor.screenshot("chatbox-1-closed").await;

    // The centre's coordinator opens it after an incident at school, on the coordinator
    // page: a title, a welcome, open now until the time the form proposes (two hours).
    let coordinator = driver
        .browser("chatbox-coordinator", DESKTOP.0, DESKTOP.1)
        .await;
    coordinator.log_in(&server, "/coordinator", "greet").await;
    coordinator.shown("events").await;
    coordinator.text_contains("events-now", "Nu gesloten").await;
    coordinator.shown("embed-box").await;
    let snippet = coordinator
        .js("return document.querySelector('[data-testid=embed-snippet]').value")
        .await;
    assert_eq!(
        snippet.as_str().unwrap(),
        format!(
            "<script src=\"{}\" async></script>",
            server.url("/c/clb-hasselt/embed.js")
        )
    );
    coordinator.click("event-open").await;
    coordinator
        .text_contains("event-error", "Geef het moment een titel")
        .await;
    coordinator
        .type_into("event-title-input", "Na het ongeval met de schoolbus")
        .await;
    coordinator
        .type_into(
            "event-welcome-input",
            "Wil je praten over wat er gebeurd is? Medewerkers van CLB Hasselt zijn er voor \
             je, ook voor leerkrachten.",
        )
        .await;
    coordinator.click("event-open").await;
    coordinator
        .text_contains(
            "events-now",
            "Nu open voor “Na het ongeval met de schoolbus”",
        )
        .await;
    coordinator.shown("event-close").await;
    coordinator
        .text_contains("events-planned", "Na het ongeval met de schoolbus")
        .await;
    let cancel_buttons = coordinator
        .js("return document.querySelectorAll('[data-testid=event-cancel]').length")
        .await;
    assert_eq!(
        cancel_buttons, 0,
        "an event that has begun is closed, not called off"
    );
    coordinator
        .assert_accessible("the coordinator opens the box")
        .await;
    coordinator.screenshot("chatbox-0-coordinator-opened").await;

    // The counsellor goes online at the centre's box.
    counsellor.log_in(&server, "/counsellor", "ines").await;
    counsellor.shown("view-desk").await;
    counsellor.shown("shift-end").await;
    counsellor.click("go-online").await;
    counsellor.text_contains("waiting-count", "0").await;

    // The visitor (reloading) reads why it is open, and starts as a teacher.
    visitor.open(&server.url("/c/clb-hasselt")).await;
    visitor.shown("view-start").await;
    visitor
        .text_contains("event-title", "Na het ongeval met de schoolbus")
        .await;
    visitor
        .text_contains("event-welcome", "ook voor leerkrachten")
        .await;
    visitor
        .text_contains("view-start", "Chat met een medewerker van CLB Hasselt")
        .await;
    visitor.shown("client-teacher").await;
    visitor.assert_accessible("an open centre's box").await;
    visitor.screenshot("chatbox-2-open").await;
    visitor.click("client-teacher").await;
    visitor.click("start").await;

    counsellor.shown("chat-pane").await;
    counsellor
        .say("Dag, ik ben Ines van het CLB. Hoe gaat het met je klas?")
        .await;
    visitor.shown("view-chat").await;
    visitor.text_contains("messages", "ik ben Ines").await;
    visitor.say("Mijn leerlingen zijn erg aangeslagen.").await;
    counsellor
        .text_contains("messages", "erg aangeslagen")
        .await;
    visitor.assert_accessible("a chat in a centre's box").await;
    visitor.screenshot("chatbox-3-chat").await;
    counsellor.screenshot("chatbox-4-counsellor").await;

    // The chat is the box's, its client a teacher, in the store.
    let chats = server
        .shared
        .store
        .conversations(&clbchat_core::store::ConversationFilter {
            desk: Some(DeskId::new("clb-hasselt")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(
        chats[0].profile.client_type,
        Some(clbchat_core::registration::ClientType::Teacher)
    );

    // Closing early, on the page: the running chat goes on; the next visitor finds it
    // closed.
    coordinator.click("event-close").await;
    coordinator.text_contains("events-now", "Nu gesloten").await;
    let late = driver.browser("chatbox-late", DESKTOP.0, DESKTOP.1).await;
    late.open(&server.url("/c/clb-hasselt")).await;
    late.shown("view-closed").await;
    late.shown("national-link").await;
    late.screenshot("chatbox-5-closed-laptop").await;
    visitor.say("Bedankt, dit helpt.").await;
    counsellor.text_contains("messages", "dit helpt").await;
    late.close().await;
    coordinator.close().await;
    visitor.close().await;
    counsellor.close().await;
}

/// A page of the centre's own website, on another origin, serving `html`.
async fn website(html: String) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    (origin, task)
}

/// The centre puts its box on its own website with the snippet: the page, served from
/// another origin, shows the box in a frame, which works there as on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centre_puts_its_box_on_its_own_website_with_the_snippet() {
    if !tools_present("chatbox embedded") {
        return;
    }
    let server = Server::start_service(&chat_met_je_clb::SERVICE, |_, _| {}).await;
    let snippet = format!(
        "<script src=\"{}\" async></script>",
        server.url("/c/clb-hasselt/embed.js")
    );
    let (site, site_task) = website(format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <title>CLB Hasselt</title></head><body><h1>Welkom bij CLB Hasselt</h1>\
         <p>Chat hieronder met ons.</p>{snippet}</body></html>"
    ))
    .await;
    let hasselt = Centre {
        id: CentreId::new("clb-hasselt"),
        name: "CLB Hasselt".into(),
        origins: vec![site.clone()],
        created_at: Utc::now(),
    };
    server.shared.store.put_centre(&hasselt).await.unwrap();
    let driver = Driver::start().await;
    let visitor = driver
        .browser("chatbox-embedded", DESKTOP.0, DESKTOP.1)
        .await;
    visitor.open(&format!("{site}/")).await;
    let frame = visitor
        .client
        .wait()
        .for_element(fantoccini::Locator::Css(
            "iframe[data-clbchat-box=\"clb-hasselt\"]",
        ))
        .await
        .expect("the snippet puts the box on the page");
    let title = frame.attr("title").await.unwrap();
    assert_eq!(title.as_deref(), Some("Chat met je CLB – CLB Hasselt"));
    frame.enter_frame().await.unwrap();
    visitor.shown("view-closed").await;
    visitor
        .text_contains("view-closed", "De chat van CLB Hasselt is nu gesloten")
        .await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("chatbox-6-on-the-centres-website").await;
    visitor.close().await;
    site_task.abort();
}

/// The sector's page: the administrator logs in on the coordinator page and gets the
/// sector's parts only (centres, every account, every centre's report), adds a centre by
/// hand with its website, gives it a coordinator, and reads the report of all centres;
/// the new centre's coordinator then finds their box to open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sector_adds_a_centre_gives_it_a_coordinator_and_reads_every_centre() {
    if !tools_present("chatbox") {
        return;
    }
    let server = Server::start_service(&chat_met_je_clb::SERVICE, |_, _| {}).await;
    let aalst = Centre {
        id: CentreId::new("clb-aalst"),
        name: "CLB Aalst".into(),
        origins: Vec::new(),
        created_at: Utc::now(),
    };
    server.shared.store.put_centre(&aalst).await.unwrap();
    server
        .account_on("sector", StaffRole::Administrator, &[])
        .await;
    let driver = Driver::start().await;
    let admin = driver.browser("sector", DESKTOP.0, DESKTOP.1).await;
    admin.log_in(&server, "/coordinator", "sector").await;
    admin.shown("centres").await;
    admin
        .text_contains("centres-status", "Aantal centra: 1")
        .await;
    // No desk's live parts: no board, no presence, no events, no calendar.
    let hidden = admin
        .js(
            "return ['board-section','events-section','calendar-section','flags-section']\
             .every((id) => document.getElementById(id).closest('[hidden]') !== null)",
        )
        .await;
    assert_eq!(
        hidden,
        serde_json::json!(true),
        "the desk's parts are hidden"
    );
    admin.text_contains("me", "beheerder van de sector").await;

    // A centre without a name is refused on the page, before anything is sent.
    admin.click("centre-save").await;
    admin
        .text_contains("centre-error", "Geef het centrum een naam")
        .await;
    // The address follows the name until it is typed.
    admin.type_into("centre-name", "CLB Genk").await;
    let id = admin
        .js("return document.querySelector('[data-testid=centre-id]').value")
        .await;
    assert_eq!(id, serde_json::json!("clb-genk"));
    admin
        .type_into("centre-origins", "https://www.clbgenk.be/")
        .await;
    admin.click("centre-save").await;
    admin
        .text_contains("centre-result", "CLB Genk is opgeslagen")
        .await;
    admin.text_contains("centre-list", "/c/clb-genk").await;
    admin
        .text_contains("centre-list", "https://www.clbgenk.be")
        .await;
    admin
        .text_contains("centres-status", "Aantal centra: 2")
        .await;
    // The same address twice: the server says it exists.
    admin.type_into("centre-name", "CLB Genk").await;
    admin.click("centre-save").await;
    admin.text_contains("centre-error", "exists already").await;
    admin.click("centre-cancel").await;

    // A coordinator for CLB Genk.
    admin.type_into("account-username", "gert").await;
    admin.type_into("account-alias", "Gert").await;
    admin.select("account-role", "coordinator").await;
    admin
        .select("account-discipline", "psycho_pedagogical")
        .await;
    admin.click("account-save").await;
    admin
        .text_contains("account-error", "Kies het centrum")
        .await;
    admin.select("account-desk", "clb-genk").await;
    admin.type_into("account-password", PASSWORD).await;
    admin.click("account-save").await;
    admin.text_contains("account-result", "gert").await;
    admin.text_contains("account-list", "CLB Genk").await;
    let gert = server.shared.store.account("gert").await.unwrap().unwrap();
    assert_eq!(gert.identity.desks, [DeskId::new("clb-genk")]);
    assert_eq!(gert.identity.centre, Some(CentreId::new("clb-genk")));
    admin.assert_accessible("the sector's page").await;
    admin.screenshot("sector-1-centres-and-accounts").await;

    // The report of every centre together.
    admin.select("report-desk", "").await;
    admin.click("report-show").await;
    admin
        .text_contains("report-view", "Alle chatdiensten en chatboxen")
        .await;
    admin.text_contains("report-view", "Kerncijfers").await;
    admin.assert_accessible("the sector's report").await;
    admin.screenshot("sector-2-report-of-every-centre").await;

    // Who read which chat at a centre: the sector oversees every centre's read audit.
    let chat = clbchat_core::store::ConversationMeta {
        id: ConversationId::random(),
        desk: DeskId::new("clb-aalst"),
        pseudonym: None,
        profile: Default::default(),
        state: clbchat_core::store::ConversationState::Ended,
        counsellor: Some(StaffId::new("ines")),
        arrived_at: Utc::now() - Days::hours(2),
        started_at: Some(Utc::now() - Days::hours(2)),
        ended_at: Some(Utc::now() - Days::hours(1)),
        end_reason: None,
        resume_token_hash: "h".into(),
    };
    server.shared.store.put_conversation(&chat).await.unwrap();
    server
        .shared
        .store
        .read_transcript(&clbchat_core::store::TranscriptRead {
            conversation: chat.id,
            reader: StaffId::new("greet"),
            at: Utc::now() - Days::minutes(30),
            purpose: "chat_scan: nieuwe collega".into(),
        })
        .await
        .unwrap();
    admin.click("audit-show").await;
    admin
        .text_contains("audit-error", "Kies eerst welke chat")
        .await;
    admin.select("audit-desk", "clb-aalst").await;
    admin.click("audit-show").await;
    admin.text_contains("audit-status", "1 keer gelezen").await;
    admin
        .text_contains("audit-list", "chatscan: nieuwe collega")
        .await;
    admin.assert_accessible("the sector's read audit").await;
    admin
        .js("document.getElementById('audit-section').scrollIntoView(); return true;")
        .await;
    admin.screenshot("sector-2b-read-audit-of-a-centre").await;
    admin.close().await;

    // On a phone: the same page, readable.
    let phone = driver.browser("sector-phone", PHONE.0, PHONE.1).await;
    phone.log_in(&server, "/coordinator", "sector").await;
    phone.text_contains("centre-list", "CLB Genk").await;
    phone
        .assert_accessible("the sector's page on a phone")
        .await;
    phone.screenshot("sector-3-phone").await;
    phone.close().await;

    // Gert finds his centre's box to open, with its snippet.
    let coordinator = driver.browser("sector-gert", DESKTOP.0, DESKTOP.1).await;
    coordinator.log_in(&server, "/coordinator", "gert").await;
    coordinator.shown("events").await;
    coordinator.text_contains("events-now", "Nu gesloten").await;
    let snippet = coordinator
        .js("return document.querySelector('[data-testid=embed-snippet]').value")
        .await;
    assert!(
        snippet.as_str().unwrap().contains("/c/clb-genk/embed.js"),
        "{snippet}"
    );
    coordinator.close().await;
}

/// One server for the sector (`sector.host_centres`): Sara serves the national desk and
/// her centre's box. She logs in once on the counsellor page, which says both, goes online
/// at both, and answers a student of each; each chat says where it comes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_for_the_sector_a_counsellor_answers_the_national_desk_and_her_box() {
    if !tools_present("chatbox") {
        return;
    }
    let server = Server::start_service(&clbchat::SERVICE, |s, _| {
        s.sector.host_centres = true;
    })
    .await;
    let gent = Centre {
        id: CentreId::new("clb-gent"),
        name: "CLB Gent".into(),
        origins: Vec::new(),
        created_at: Utc::now(),
    };
    server.shared.store.put_centre(&gent).await.unwrap();
    server.shared.host_centre(&gent).await.unwrap();
    server
        .account_on("sara", StaffRole::Counsellor, &["clbchat", "clb-gent"])
        .await;
    server
        .account_on("greet", StaffRole::Coordinator, &["clb-gent"])
        .await;
    // Gent's coordinator opens the box (the coordinator page is tried elsewhere).
    let greet = server
        .shared
        .engine
        .login(&clbchat_core::auth::Credential::Password {
            username: "greet".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    greet
        .handle
        .open_event(
            &DeskId::new("clb-gent"),
            &clbchat_core::engine::events::EventRequest {
                title: "Infoavond".into(),
                welcome: None,
                starts_at: None,
                ends_at: Utc::now() + chrono::Duration::hours(2),
            },
        )
        .await
        .unwrap();

    let driver = Driver::start().await;
    let counsellor = driver.browser("sector-sara", DESKTOP.0, DESKTOP.1).await;
    counsellor.log_in(&server, "/counsellor", "sara").await;
    counsellor
        .text_contains("desk-names", "Je werkt hier voor CLBch@t, CLB Gent")
        .await;
    counsellor.shown("shift-end").await;
    counsellor.click("go-online").await;
    counsellor.shown("go-offline").await;

    // A student at the national desk, one at Gent's box.
    let national = driver.browser("sector-national", PHONE.0, PHONE.1).await;
    national.open(&server.url("/")).await;
    national.shown("view-start").await;
    national.click("start").await;
    national.shown("view-chat").await;
    let boxed = driver.browser("sector-box", PHONE.0, PHONE.1).await;
    boxed.open(&server.url("/c/clb-gent")).await;
    boxed.shown("view-start").await;
    boxed.click("start").await;
    boxed.shown("view-chat").await;

    counsellor.text_contains("chat-tabs", "CLB Gent").await;
    counsellor.text_contains("chat-tabs", "CLBch@t").await;
    // The waiting line counts each desk, by name.
    counsellor.text_contains("waiting-count", "CLB Gent:").await;
    counsellor.text_contains("waiting-count", "CLBch@t:").await;
    counsellor
        .assert_accessible("a counsellor of two desks on one server")
        .await;
    counsellor
        .screenshot("sector-4-counsellor-of-two-desks")
        .await;
    for b in [counsellor, national, boxed] {
        b.close().await;
    }
}
