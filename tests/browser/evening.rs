//! The national desk through a real evening (issue 14): what a counsellor who closed their
//! tab, a coordinator looking at the board and a student on a phone see when things go
//! wrong, in the real pages.

use clbchat_core::account::StaffRole;
use clbchat_core::event::{Discipline, EndReason};
use clbchat_core::ids::{ClientMsgId, DeskId};
use clbchat_core::store::ConversationFilter;
use fantoccini::Locator;
use serde_json::Value;

use crate::support::*;
use crate::{DESKTOP, PHONE};

/// The reference server with these staff accounts.
async fn server_with(
    tune: impl FnOnce(&mut clbchat_assembly::settings::Settings, &std::path::Path),
    accounts: &[(&str, StaffRole, Discipline)],
) -> Server {
    let server = Server::start(tune).await;
    for (id, role, discipline) in accounts {
        server.account(id, *role, *discipline).await;
    }
    server
}

/// A student opens the site and starts a chat.
async fn student_starts(b: &Browser, server: &Server) {
    b.open(&server.url("/")).await;
    b.click("client-student").await;
    b.click("start").await;
}

async fn log_in_page(b: &Browser, server: &Server, path: &str, user: &str) {
    b.log_in(server, path, user).await;
}

/// Whether an element with this test id is displayed now.
async fn displayed(b: &Browser, testid: &str) -> bool {
    match b
        .client
        .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
    {
        Ok(e) => e.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counsellor_who_closed_the_tab_before_registering_gets_the_form_back() {
    if !tools_present("registration after a closed tab") {
        return;
    }
    let server = server_with(
        |_, _| {},
        &[("sara", StaffRole::Counsellor, Discipline::Medical)],
    )
    .await;
    server
        .account(
            "kris",
            StaffRole::Coordinator,
            Discipline::PsychoPedagogical,
        )
        .await;
    let driver = Driver::start().await;
    let counsellor = driver.browser("counsellor-tab", DESKTOP.0, DESKTOP.1).await;
    log_in_page(&counsellor, &server, "/counsellor", "sara").await;
    counsellor.shown("view-desk").await;
    counsellor.click("go-online").await;

    // She looks at another window: a new chat must get her attention.
    counsellor
        .js("document.hasFocus = () => false; return true")
        .await;
    // A student is served and the chat ends; the form is there, and she closes the tab.
    let desk = DeskId::new(DESK);
    let student = server
        .shared
        .engine
        .arrive(
            &desk,
            clbchat_core::engine::Arrival {
                profile: clbchat_core::event::ClientProfile {
                    gender: Some(clbchat_core::registration::Gender::F),
                    age: Some(15),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    counsellor.shown("chat-pane").await;
    let title = counsellor.js("return document.title").await;
    assert!(
        title.as_str().unwrap().contains("Nieuw gesprek"),
        "the tab says a chat came in: {title}"
    );
    let body = counsellor.text_of_body().await;
    assert!(
        jargon(&body).is_empty(),
        "English on the Dutch page: {:?}",
        jargon(&body)
    );
    // Words, not codes, about who this is.
    let profile = counsellor
        .text_contains("client-profile", "meisje / vrouw")
        .await;
    assert!(
        profile.contains("leerling of een ouder") && !profile.contains("onbekend"),
        "{profile}"
    );
    // A long chat: the time left stays in view.
    for i in 0..40 {
        student
            .handle
            .send(
                ClientMsgId::new(format!("v{i}")),
                format!("Regel {i} van een lang verhaal over thuis en school."),
            )
            .await
            .unwrap();
    }
    counsellor.text_contains("messages", "Regel 39").await;
    counsellor
        .js("window.scrollTo(0, document.body.scrollHeight); return true")
        .await;
    assert!(
        in_view(&counsellor, "time-left").await,
        "the time left scrolled out of view"
    );
    counsellor.screenshot("counsellor-long-chat").await;
    student.handle.leave().await.unwrap();
    counsellor.shown("registration-form").await;
    counsellor.close().await;

    // The coordinator sees her as disconnected, with the registration open.
    let coordinator = driver
        .browser("coordinator-board", DESKTOP.0, DESKTOP.1)
        .await;
    log_in_page(&coordinator, &server, "/coordinator", "kris").await;
    coordinator.shown("board").await;
    coordinator
        .text_contains("board-counsellors", "verbinding weg")
        .await;
    coordinator.shown("pending-registrations").await;
    coordinator
        .shown(&format!("release-registration-{}", student.conversation))
        .await;
    coordinator
        .assert_accessible("board with a lost counsellor")
        .await;
    coordinator
        .js("document.querySelector('[data-testid=board-counsellors]').scrollIntoView(); return true")
        .await;
    coordinator.screenshot("coordinator-lost-counsellor").await;

    // She opens the page again and logs in: the form is back before anything else.
    let again = driver
        .browser("counsellor-back", DESKTOP.0, DESKTOP.1)
        .await;
    log_in_page(&again, &server, "/counsellor", "sara").await;
    again.shown("registration-form").await;
    again
        .assert_accessible("registration form after logging in again")
        .await;
    again
        .screenshot("counsellor-registration-after-login")
        .await;
    again
        .click_css(&[
            "[data-testid=\"reg-topic\"] input[value=\"olb.study_choice\"]",
            "[data-testid=\"reg-result\"] input[value=\"information_advice\"]",
        ])
        .await;
    again.click("register").await;
    again.shown("registered").await;
    let reg = server
        .shared
        .store
        .registration(student.conversation)
        .await
        .unwrap()
        .expect("registered after logging in again");
    assert_eq!(reg.counsellor.0, "sara");
    again.close().await;
    coordinator.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_exit_during_a_chat_leaves_nothing_in_any_storage() {
    if !tools_present("quick exit during a chat") {
        return;
    }
    let exit = crate::neutral_site().await;
    let exit_url = exit.clone();
    let server = server_with(
        move |s, _| s.server.quick_exit_url = exit_url,
        &[("sara", StaffRole::Counsellor, Discipline::PsychoPedagogical)],
    )
    .await;
    let mut sara = staff(&server, "sara").await;
    let desk = DeskId::new(DESK);
    sara.handle.go_online(&desk, None).await.unwrap();

    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-exit-chat", PHONE.0, PHONE.1).await;
    student_starts(&visitor, &server).await;
    let conversation = next_chat(&mut sara).await;
    sara.handle
        .send(conversation, ClientMsgId::new("s1"), "Hoi, ik ben Sara.")
        .await
        .unwrap();
    visitor.text_contains("messages", "ik ben Sara").await;
    visitor
        .type_into("message-input", "ik wil iets vragen")
        .await;
    visitor.click("send").await;
    let stored = visitor
        .js("return localStorage.length + sessionStorage.length")
        .await;
    assert!(
        stored.as_u64().unwrap() > 0,
        "a running chat keeps its session"
    );

    visitor.click("quick-exit").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while visitor.client.current_url().await.unwrap().as_str() != exit {
        assert!(tokio::time::Instant::now() < deadline, "did not leave");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The chat ends as left by the client, and only then is the origin looked at again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let chats = server
            .shared
            .store
            .conversations(&ConversationFilter::default())
            .await
            .unwrap();
        if chats[0].end_reason == Some(EndReason::ClientLeft) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the chat did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    visitor.open(&server.url("/healthz")).await;
    let left: Value = visitor
        .js(
            "return Promise.all([
               indexedDB.databases ? indexedDB.databases() : Promise.resolve([]),
               window.caches ? caches.keys() : Promise.resolve([]),
             ]).then(([dbs, cs]) => [localStorage.length, sessionStorage.length, document.cookie, dbs.length, cs.length]);",
        )
        .await;
    assert_eq!(
        left,
        serde_json::json!([0, 0, "", 0, 0]),
        "local, session, cookies, IndexedDB, caches after a quick exit mid-chat"
    );

    // Coming back to the site starts afresh: no rating of the chat that was left.
    visitor.open(&server.url("/")).await;
    visitor.shown("view-start").await;
    assert!(!displayed(&visitor, "view-rating").await);
    visitor.screenshot("visitor-after-quick-exit").await;
    visitor.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_whose_counsellor_is_lost_is_told_and_served_by_the_next_one() {
    if !tools_present("lost counsellor") {
        return;
    }
    let server = Server::start(|s, _| s.desk.staff_reconnect_grace_secs = 1).await;
    for id in ["sara", "els"] {
        server
            .account(id, StaffRole::Counsellor, Discipline::SocialWork)
            .await;
    }
    let desk = DeskId::new(DESK);
    let mut sara = staff(&server, "sara").await;
    sara.handle.go_online(&desk, None).await.unwrap();

    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-lost", PHONE.0, PHONE.1).await;
    student_starts(&visitor, &server).await;
    let conversation = next_chat(&mut sara).await;
    sara.handle
        .send(conversation, ClientMsgId::new("s1"), "Hoi, ik ben Sara.")
        .await
        .unwrap();
    visitor.text_contains("messages", "ik ben Sara").await;

    // Sara's laptop dies.
    drop(sara);
    visitor.shown("lost-note").await;
    visitor.text_contains("lost-note", "Sara").await;
    visitor.text_contains("queue-position", "volgende").await;
    visitor.assert_accessible("counsellor lost").await;
    visitor.screenshot("visitor-counsellor-lost").await;

    // Els comes online and takes over; the student sees the chat again, history and all.
    let mut els = staff(&server, "els").await;
    els.handle.go_online(&desk, None).await.unwrap();
    assert_eq!(next_chat(&mut els).await, conversation);
    visitor.shown("view-chat").await;
    visitor.text_contains("messages", "Els").await;
    visitor.text_contains("messages", "ik ben Sara").await;
    assert!(!displayed(&visitor, "lost-note").await);
    visitor.close().await;
    server.stop().await;
}

/// The student looks at another app (the page is not focused) while waiting: the counsellor
/// joining and writing changes the tab's title and icon and plays a soft sound, which can
/// be switched off; looking at the page again clears the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_student_notices_the_counsellor_without_watching_the_page() {
    if !tools_present("attention") {
        return;
    }
    let server = server_with(
        |_, _| {},
        &[("sara", StaffRole::Counsellor, Discipline::PsychoPedagogical)],
    )
    .await;
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-attention", PHONE.0, PHONE.1).await;
    student_starts(&visitor, &server).await;
    visitor.shown("view-waiting").await;
    visitor.shown("sound-toggle").await;
    visitor.text_contains("view-waiting", "zacht geluid").await;
    visitor.screenshot("visitor-waiting-attention").await;
    let calm_title = visitor.js("return document.title").await;
    let calm_icon = visitor
        .js("return document.querySelector('link[rel=icon]').href")
        .await;
    // The student switches to another app.
    visitor
        .js("document.hasFocus = () => false; return true")
        .await;

    let desk = DeskId::new(DESK);
    let mut sara = staff(&server, "sara").await;
    sara.handle.go_online(&desk, None).await.unwrap();
    let conversation = next_chat(&mut sara).await;
    visitor.shown("view-chat").await;
    let title = visitor.js("return document.title").await;
    assert!(
        title.as_str().unwrap().contains("Je gesprek begint"),
        "{title} (was {calm_title})"
    );
    let icon = visitor
        .js("return document.querySelector('link[rel=icon]').href")
        .await;
    assert_ne!(icon, calm_icon, "the tab's icon changes");
    let chimes = || async {
        visitor
            .js("return Number(document.documentElement.getAttribute('data-chimes') || 0)")
            .await
            .as_u64()
            .unwrap()
    };
    assert!(chimes().await >= 1, "a sound played");

    sara.handle
        .send(conversation, ClientMsgId::new("s1"), "Hoi, ik ben Sara.")
        .await
        .unwrap();
    visitor.text_contains("messages", "ik ben Sara").await;
    let title = visitor.js("return document.title").await;
    assert!(title.as_str().unwrap().starts_with("(2)"), "{title}");

    // Sound off: the next message changes the title but plays nothing.
    let before = chimes().await;
    visitor.click("sound-toggle-chat").await;
    assert_eq!(
        visitor
            .js("return document.querySelector('[data-testid=sound-toggle-chat]').getAttribute('aria-pressed')")
            .await,
        "false"
    );
    sara.handle
        .send(conversation, ClientMsgId::new("s2"), "Ben je er nog?")
        .await
        .unwrap();
    visitor.text_contains("messages", "Ben je er nog").await;
    assert_eq!(chimes().await, before);
    // Touching the page (the click on the toggle did) clears the signal.
    visitor.click("message-input").await;
    let title = visitor.js("return document.title").await;
    assert_eq!(title, calm_title);
    visitor.close().await;
    server.stop().await;
}

/// Whether the element's first line is on screen now and not covered (by a sticky bar).
async fn in_view(b: &Browser, testid: &str) -> bool {
    b.js(&format!(
        "const el = document.querySelector('[data-testid=\"{testid}\"]');
         const r = el.getBoundingClientRect();
         if (!(r.top >= 0 && r.top + 20 < window.innerHeight && r.height > 0)) return false;
         const hit = document.elementFromPoint(r.left + 24, r.top + 16);
         return !!hit && el.contains(hit);"
    ))
    .await
    .as_bool()
    .unwrap_or(false)
}

/// On a phone: when the counsellor ends, the reason and what to do next are where the
/// student looks, and what they were typing is still there; ending themselves asks first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_a_chat_is_in_view_on_a_phone_keeps_unsent_text_and_asks_first() {
    if !tools_present("end of chat") {
        return;
    }
    let server = server_with(
        |s, _| s.desk.chat_limit_minutes = 30,
        &[("sara", StaffRole::Counsellor, Discipline::PsychoPedagogical)],
    )
    .await;
    let desk = DeskId::new(DESK);
    let mut sara = staff(&server, "sara").await;
    sara.handle.go_online(&desk, None).await.unwrap();
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-end", PHONE.0, PHONE.1).await;
    visitor.open(&server.url("/")).await;
    // The limit in the words is the desk's, not a fixed 45.
    visitor.text_contains("view-start", "30 minuten").await;
    visitor.click("client-student").await;
    visitor.click("start").await;
    let first = next_chat(&mut sara).await;
    for i in 0..12 {
        sara.handle
            .send(
                first,
                ClientMsgId::new(format!("s{i}")),
                format!("Bericht {i}: vertel gerust wat er scheelt, ik lees mee."),
            )
            .await
            .unwrap();
    }
    visitor.text_contains("messages", "Bericht 11").await;
    visitor
        .type_into("message-input", "ik wou nog zeggen dat")
        .await;
    sara.handle.end(first).await.unwrap();
    visitor.shown("end-notice").await;
    visitor.text_contains("end-reason", "afgesloten").await;
    visitor.text_contains("end-notice", "1813").await;
    visitor
        .text_contains("unsent-text", "ik wou nog zeggen dat")
        .await;
    assert!(
        in_view(&visitor, "end-notice").await,
        "the reason is on screen"
    );
    visitor.assert_accessible("end of chat").await;
    visitor.screenshot("visitor-end-of-chat").await;

    // A second chat: ending asks first, and "no" keeps the chat going.
    visitor.click("rate-skip").await;
    visitor.click("new-chat").await;
    visitor.click("client-student").await;
    visitor.click("start").await;
    // The registration of the first chat comes first.
    sara.handle
        .register(
            first,
            clbchat_core::registration::RegistrationForm {
                client_type: clbchat_core::registration::ClientType::Student,
                age: None,
                gender: None,
                topics: vec!["olb.study_choice".into()],
                results: vec![clbchat_core::registration::ChatResult::EmotionalSupport],
                found_via: None,
                fake_call: false,
            },
        )
        .await
        .unwrap();
    let second = next_chat(&mut sara).await;
    visitor.shown("view-chat").await;
    visitor.shown("composer").await;
    visitor.click("leave-chat").await;
    visitor.shown("leave-confirm").await;
    visitor.screenshot("visitor-leave-confirm").await;
    visitor.click("leave-no").await;
    assert!(!displayed(&visitor, "leave-confirm").await);
    sara.handle
        .send(second, ClientMsgId::new("t1"), "Nog steeds hier.")
        .await
        .expect("the chat still runs after 'no'");
    visitor.click("leave-chat").await;
    visitor.click("leave-yes").await;
    visitor
        .text_contains("end-reason", "Je hebt het gesprek beëindigd")
        .await;
    visitor.close().await;
    server.stop().await;
}

/// The start page says who answers, about what and when (from the calendar in force), and
/// 112 and 1813 are on every screen, not only when the desk is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_page_says_who_what_and_when_and_crisis_numbers_are_always_there() {
    if !tools_present("start page") {
        return;
    }
    let calendar = "time_zone = \"Europe/Brussels\"\nmode = \"weekly\"\n".to_owned()
        + &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| format!("[[weekly]]\nday = \"{d}\"\nopen = \"00:00\"\nclose = \"24:00\"\n"))
            .collect::<String>()
        + "[[closures]]\nname = \"Later\"\nfrom = \"2099-12-25\"\nto = \"2099-12-26\"\n";
    let server = Server::start(move |s, dir| {
        let file = dir.join("calendar.toml");
        std::fs::write(&file, &calendar).unwrap();
        s.desk.calendar_file = Some(file);
    })
    .await;
    server
        .account("sara", StaffRole::Counsellor, Discipline::Medical)
        .await;
    let driver = Driver::start().await;
    for (name, (w, h)) in [("phone", PHONE), ("laptop", DESKTOP)] {
        let visitor = driver.browser(&format!("visitor-start-{name}"), w, h).await;
        visitor.open(&server.url("/")).await;
        visitor.shown("view-start").await;
        let about = visitor.text_contains("about", "geheim").await;
        assert!(
            about.contains("dokters") && about.contains("school"),
            "{about}"
        );
        visitor
            .text_contains("hours", "maandag: 00:00 tot 24:00")
            .await;
        let hours = visitor.text_contains("hours", "feestdagen").await;
        assert!(
            !hours.contains("andere uren"),
            "no holiday hours here: {hours}"
        );
        visitor.text_contains("crisis", "1813").await;
        visitor.text_contains("crisis", "112").await;
        visitor.assert_accessible("start page").await;
        visitor.screenshot(&format!("visitor-start-{name}")).await;
        visitor.close().await;
    }
    // In a chat the numbers are still there.
    let desk = DeskId::new(DESK);
    let mut sara = staff(&server, "sara").await;
    sara.handle.go_online(&desk, None).await.unwrap();
    let visitor = driver
        .browser("visitor-crisis-chat", PHONE.0, PHONE.1)
        .await;
    student_starts(&visitor, &server).await;
    next_chat(&mut sara).await;
    visitor.shown("view-chat").await;
    assert!(displayed(&visitor, "crisis").await);
    visitor.text_contains("crisis", "1813").await;
    visitor.close().await;
    server.stop().await;
}

/// English jargon a Flemish counsellor or student should not meet on a Dutch page.
fn jargon(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    [
        "whisper",
        "fake call",
        " desk",
        "live bord",
        "dashboard",
        "board",
    ]
    .into_iter()
    .filter(|w| lower.contains(w))
    .collect()
}

/// The coordinator's smaller things: a reviewed flag loses its buttons and the count
/// follows; reading a chat asks why and keeps the reason in the audit; a new account needs
/// a discipline chosen and saving says so; the Dutch pages speak Dutch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_reviews_a_flag_reads_with_a_reason_and_adds_an_account() {
    if !tools_present("coordinator review") {
        return;
    }
    let (server, mut sara) = kris_and_sara().await;
    let desk = DeskId::new(DESK);
    let prank = server
        .shared
        .engine
        .arrive(&desk, Default::default())
        .await
        .unwrap();
    let conversation = next_chat(&mut sara).await;
    prank
        .handle
        .send(ClientMsgId::new("p1"), "haha dit is een grap")
        .await
        .unwrap();
    prank.handle.leave().await.unwrap();
    sara.handle
        .register(
            conversation,
            clbchat_core::registration::RegistrationForm {
                client_type: clbchat_core::registration::ClientType::Student,
                age: None,
                gender: None,
                topics: vec!["olb.study_choice".into()],
                results: vec![clbchat_core::registration::ChatResult::InformationAdvice],
                found_via: None,
                fake_call: true,
            },
        )
        .await
        .unwrap();
    let flag = server
        .shared
        .store
        .flags_to_review(Some(&desk), chrono::Utc::now())
        .await
        .unwrap()
        .pop()
        .expect("the fake call raised a flag");

    let driver = Driver::start().await;
    let kris = driver
        .browser("coordinator-review", DESKTOP.0, DESKTOP.1)
        .await;
    log_in_page(&kris, &server, "/coordinator", "kris").await;
    kris.shown("board").await;
    kris.text_contains("flags-status", "1").await;
    let body = kris.text_of_body().await;
    assert!(
        jargon(&body).is_empty(),
        "English on the Dutch page: {:?}",
        jargon(&body)
    );

    // Reading asks why first, and the reason is what the audit keeps.
    kris.click(&format!("flag-transcript-{}", flag.id)).await;
    kris.click(&format!("transcript-open-{}", flag.id)).await;
    kris.text_contains("flag-list", "Geef eerst een reden")
        .await;
    kris.type_into(
        &format!("transcript-reason-{}", flag.id),
        "nakijken of het een grap was",
    )
    .await;
    kris.click(&format!("transcript-open-{}", flag.id)).await;
    kris.text_contains("transcript-log", "grap").await;
    let reads = server
        .shared
        .store
        .transcript_reads(conversation)
        .await
        .unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r.purpose.contains("nakijken of het een grap was")),
        "{reads:?}"
    );

    // Confirming: the buttons go and nothing is left to review.
    kris.click(&format!("flag-confirm-{}", flag.id)).await;
    kris.text_contains("flags-status", "geen signalen").await;
    assert!(!displayed(&kris, &format!("flag-confirm-{}", flag.id)).await);
    assert!(!displayed(&kris, &format!("flag-dismiss-{}", flag.id)).await);
    kris.screenshot("coordinator-flag-reviewed").await;

    // The read audit says who read which chat, when and why; and gives it as CSV.
    kris.click("audit-show").await;
    kris.text_contains(
        "audit-list",
        "melding nakijken: nakijken of het een grap was",
    )
    .await;
    kris.text_contains("audit-list", "Kris (kris)").await;
    kris.text_contains("audit-status", "1 keer gelezen").await;
    let csv = kris.download_text("audit-csv").await;
    assert!(
        csv.starts_with("at,reader,conversation,counsellor,purpose,note\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            ",kris,{conversation},sara,flag_review,nakijken of het een grap was\r\n"
        )),
        "{csv}"
    );
    kris.assert_accessible("the read audit").await;
    kris.js("document.getElementById('audit-section').scrollIntoView(); return true;")
        .await;
    kris.screenshot("coordinator-read-audit").await;
    kris.select("audit-purpose", "chat_scan").await;
    kris.click("audit-show").await;
    kris.text_contains("audit-status", "Niemand las").await;

    // A chat scan of Sara's chats: the one she had, read (audited as a scan) and downloaded
    // for intervision, masked, with what the masking cannot promise.
    kris.select("scan-counsellor", "sara").await;
    kris.click("scan-draw").await;
    kris.text_contains("scan-status", "maar 1").await;
    kris.text_contains("scan-picks", "Sara (sara)").await;
    kris.click("scan-read").await;
    kris.text_contains("scan-log", "haha dit is een grap").await;
    let file = kris.download_text("scan-export").await;
    assert!(file.contains("niet volledig"), "{file}");
    assert!(file.contains("] Cliënt: haha dit is een grap"), "{file}");
    kris.assert_accessible("a chat scan").await;
    kris.js("document.getElementById('scan-section').scrollIntoView(); return true;")
        .await;
    kris.screenshot("coordinator-chat-scan").await;
    let reads = server
        .shared
        .store
        .transcript_reads(conversation)
        .await
        .unwrap();
    let purposes: Vec<&str> = reads.iter().map(|r| r.purpose.as_str()).collect();
    assert!(
        purposes.contains(&"chat_scan") && purposes.contains(&"intervision"),
        "{purposes:?}"
    );

    // A new account: the discipline must be chosen, and saving says it was saved.
    kris.type_into("account-username", "lotte").await;
    kris.type_into("account-alias", "Lotte").await;
    kris.type_into("account-password", "een lang genoeg wachtwoord")
        .await;
    kris.click("account-save").await;
    kris.text_contains("account-error", "discipline").await;
    kris.select("account-discipline", "social_work").await;
    kris.click("account-save").await;
    kris.text_contains("account-result", "lotte").await;
    kris.assert_accessible("account saved").await;
    kris.screenshot("coordinator-account-saved").await;
    let lotte = server
        .shared
        .store
        .account("lotte")
        .await
        .unwrap()
        .expect("saved");
    assert_eq!(lotte.identity.discipline, Discipline::SocialWork);
    kris.close().await;
    server.stop().await;
}

/// All counsellors busy: the start page and the waiting room say the same thing about the
/// wait, in one wording, from the engine's estimate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_read_the_same_on_the_start_page_and_in_the_queue() {
    if !tools_present("wait wording") {
        return;
    }
    let server = server_with(
        |_, _| {},
        &[("sara", StaffRole::Counsellor, Discipline::SocialWork)],
    )
    .await;
    let desk = DeskId::new(DESK);
    let mut sara = staff(&server, "sara").await;
    sara.handle.go_online(&desk, None).await.unwrap();
    // Two chats fill her two places.
    let mut busy = Vec::new();
    for _ in 0..2 {
        busy.push(
            server
                .shared
                .engine
                .arrive(&desk, Default::default())
                .await
                .unwrap(),
        );
        next_chat(&mut sara).await;
    }
    let minutes = server
        .shared
        .engine
        .availability(&desk)
        .unwrap()
        .estimated_wait_minutes
        .expect("an estimate while she is there");
    assert!(minutes > 1);
    let driver = Driver::start().await;
    let visitor = driver.browser("visitor-waits", PHONE.0, PHONE.1).await;
    visitor.open(&server.url("/")).await;
    let start = visitor
        .text_contains("start-availability", "Er wacht nu niemand")
        .await;
    assert!(
        start.contains(&format!("ongeveer {minutes} minuten")) && start.contains("in gesprek"),
        "{start}"
    );
    visitor.click("client-student").await;
    visitor.click("start").await;
    visitor.text_contains("queue-position", "volgende").await;
    let wait = visitor
        .text_contains("wait-estimate", &format!("ongeveer {minutes} minuten"))
        .await;
    assert!(wait.contains("in gesprek"), "{wait}");
    visitor.screenshot("visitor-waiting-busy").await;
    visitor.close().await;
    drop(busy);
    server.stop().await;
}

/// The evening's last shift: a counsellor whose shift ends when the desk closes is told, in
/// her last half hour, that chats still come until the desk stops letting visitors in (the
/// engine gives them: no next shift takes over), not that they stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_shift_of_the_evening_is_told_chats_still_come() {
    if !tools_present("last shift") {
        return;
    }
    // Open from an hour ago until 20 minutes from now (Brussels time, to the minute).
    use chrono::Timelike;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Brussels);
    let close = (now + chrono::Duration::minutes(20)).naive_local();
    let close = close
        .date()
        .and_hms_opt(close.hour(), close.minute(), 0)
        .unwrap();
    let calendar =
        clbchat_core::calendar::Calendar::events_only(vec![clbchat_core::calendar::EventWindow {
            name: "Avond".into(),
            welcome: None,
            start: close - chrono::Duration::hours(1),
            end: close,
        }]);
    let server = Server::start(move |s, dir| {
        let file = dir.join("calendar.toml");
        std::fs::write(&file, toml::to_string(&calendar).unwrap()).unwrap();
        s.desk.calendar_file = Some(file);
    })
    .await;
    server
        .account("sara", StaffRole::Counsellor, Discipline::SocialWork)
        .await;
    let driver = Driver::start().await;
    let sara = driver.browser("last-shift", PHONE.0, PHONE.1).await;
    sara.log_in(&server, "/counsellor", "sara").await;
    sara.shown("shift-end").await;
    let at = close.format("%H:%M").to_string();
    sara.js(&format!(
        "const e = document.querySelector('[data-testid=\"shift-end\"]'); e.value = '{at}'; \
         e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); return true;"
    ))
    .await;
    sara.click("go-online").await;
    sara.text_contains("shift-status", "als de chat sluit")
        .await;
    sara.text_contains("shift-status", "Je krijgt nog nieuwe chats")
        .await;
    // And the engine agrees: someone who came now would be served at once.
    sara.text_contains("waiting-count", "meteen aan de beurt")
        .await;
    sara.assert_accessible("the last shift").await;
    sara.screenshot("counsellor-last-shift").await;
    sara.close().await;
    server.stop().await;
}
