//! Blended chat in the real pages (issue 16): a counsellor plans a session on the planning
//! page and copies the link; the client opens it on a phone, waits in the waiting room,
//! and the counsellor gets the chat at once; they talk, the same link on a laptop takes the
//! chat over, the counsellor ends it. A link for
//! tomorrow says "too early", a cancelled one says so, a mistyped one too.
//!
//! And on one server for the sector (`sector.host_blended`, issue 17): the same pages under
//! `/blended/`, the link written for them, the planned chat answered on the counsellor
//! page beside the national desk's chats, each marked; the coordinator of both desks gives
//! a new account both.

use clbchat_core::account::StaffRole;
use clbchat_core::event::Discipline;

use crate::support::*;
use crate::{DESKTOP, PHONE};

/// Sets the planning form's day and time to `minutes` from now, on the browser's clock.
async fn plan_in(b: &Browser, minutes: i64, client: &str) -> String {
    b.type_into("client-name", client).await;
    b.js(&format!(
        "const d = new Date(Date.now() + {minutes} * 60000);
         const pad = (n) => String(n).padStart(2, '0');
         document.getElementById('start-date').value =
           d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
         document.getElementById('start-time').value = pad(d.getHours()) + ':' + pad(d.getMinutes());
         return true;"
    ))
    .await;
    // The link shown before (a session planned earlier), to wait for the new one: the
    // box is already open, and the answer to this plan may still be on its way.
    let before = b
        .js("const l = document.getElementById('link'); return l ? l.value : ''")
        .await;
    b.click("plan").await;
    b.shown("link-box").await;
    let link = b
        .until_js(
            &format!(
                "const v = document.getElementById('link').value; return v !== {before} ? v : null"
            ),
            "showed the new session's link",
        )
        .await;
    let link = link.as_str().expect("the link").to_owned();
    assert!(link.contains("/join#token="), "{link}");
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_for_the_sector_a_planned_chat_comes_to_the_counsellor_page_too() {
    if !tools_present("blended chat on the sector's server") {
        return;
    }
    let server = Server::start_service(&clbchat::SERVICE, |s, _| {
        s.sector.host_blended = true;
    })
    .await;
    server
        .account_in(
            "sara",
            StaffRole::Counsellor,
            &["clbchat", "blended"],
            Some("clb-gent"),
        )
        .await;
    server
        .account_on("kim", StaffRole::Coordinator, &["clbchat", "blended"])
        .await;
    let driver = Driver::start().await;

    // Sara plans a chat on blended chat's page of this server: the link is under /blended/.
    let sara = driver
        .browser("sector-blended-sara", DESKTOP.0, DESKTOP.1)
        .await;
    sara.log_in(&server, "/blended/counsellor", "sara").await;
    sara.shown("plan-form").await;
    let link = plan_in(&sara, 5, "Lotte Peeters").await;
    assert!(
        link.starts_with(&server.url("/blended/join#token=")),
        "{link}"
    );
    sara.text_contains("to-desk", "Naar de pagina voor hulpverleners")
        .await;
    sara.screenshot("sector-5-planning-under-blended").await;

    // On the counsellor page: both desks named, the way to the planning while offline.
    sara.log_in(&server, "/counsellor", "sara").await;
    sara.text_contains("desk-names", "CLBch@t, Blended chat")
        .await;
    sara.text_contains("planner-link", "Naar je afspraken")
        .await;
    sara.shown("shift-end").await;
    sara.click("go-online").await;
    sara.shown("go-offline").await;
    let link_shown = sara
        .js("return !document.getElementById('planner-link').hidden")
        .await;
    assert_eq!(link_shown, serde_json::json!(false), "hidden while online");

    // The client from the link, a student at the national desk: both on Sara's one page.
    let client = driver
        .browser("sector-blended-client", PHONE.0, PHONE.1)
        .await;
    client.open(&link).await;
    client.shown("view-chat").await;
    let student = driver
        .browser("sector-blended-student", PHONE.0, PHONE.1)
        .await;
    student.open(&server.url("/")).await;
    student.shown("view-start").await;
    student.click("start").await;
    student.shown("view-chat").await;
    sara.text_contains("chat-tabs", "Lotte Peeters · Blended chat")
        .await;
    sara.text_contains("chat-tabs", "CLBch@t").await;
    // Planned chats have no waiting line: only the national desk's is counted.
    let waiting = sara.text_contains("waiting-count", "Wachtenden").await;
    assert!(!waiting.contains("Blended chat"), "{waiting}");
    client.text_contains("chat-notice", "Sara").await;
    client.type_into("message-input", "Hallo, ik ben er.").await;
    client.click("send").await;
    sara.text_contains("chat-panes", "Hallo, ik ben er.").await;
    // A known client: no anonymous self-report, no returning-visitor line in its pane.
    let pane = sara
        .js(
            "const tab = Array.from(document.querySelectorAll('[data-testid=chat-tab]'))
               .find((t) => t.textContent.includes('Lotte'));
             tab.click();
             const p = Array.from(document.querySelectorAll('[data-testid=chat-pane]'))
               .find((p) => !p.hidden);
             return [p.querySelector('[data-testid=client-profile]').textContent,
                     p.querySelector('[data-testid=history-banner]').hidden]",
        )
        .await;
    assert_eq!(pane, serde_json::json!(["", true]), "{pane}");
    sara.assert_accessible("the counsellor page with a planned chat beside the desk's")
        .await;
    sara.screenshot("sector-6-counsellor-with-a-planned-chat")
        .await;

    // Kim coordinates both desks: a new account works for the ones she ticks.
    let kim = driver.browser("sector-blended-kim", PHONE.0, PHONE.1).await;
    kim.log_in(&server, "/coordinator", "kim").await;
    kim.shown("account-desks").await;
    kim.type_into("account-username", "jonas").await;
    kim.type_into("account-alias", "Jonas").await;
    kim.select("account-discipline", "social_work").await;
    kim.type_into("account-password", PASSWORD).await;
    // Unticked, the page's own desk too: refused in words.
    kim.js(
        "document.querySelectorAll('[data-testid=account-desk-choice]')
              .forEach((c) => { c.checked = false; }); return true;",
    )
    .await;
    kim.click("account-save").await;
    kim.text_contains("account-error", "minstens één").await;
    kim.js(
        "document.querySelectorAll('[data-testid=account-desk-choice]')
              .forEach((c) => { c.checked = true; }); return true;",
    )
    .await;
    kim.click("account-save").await;
    kim.text_contains("account-result", "jonas").await;
    kim.text_contains("account-list", "CLBch@t, Blended chat")
        .await;
    kim.assert_accessible("the account form of a coordinator of two desks")
        .await;
    let wide = kim
        .js(
            "document.getElementById('account-desks').scrollIntoView({ block: 'center' });
             return [document.documentElement.scrollWidth, window.innerWidth]",
        )
        .await;
    let culprits = kim
        .js("return Array.from(document.querySelectorAll('body *'))
               .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
                 && !e.closest('.table-wrap') && e.offsetParent !== null)
               .slice(0, 12)
               .map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width))")
        .await;
    assert!(
        wide[0].as_u64() <= wide[1].as_u64(),
        "the page scrolls sideways: {wide} {culprits}"
    );
    kim.screenshot("sector-7-account-of-two-desks").await;
    let jonas = server.shared.store.account("jonas").await.unwrap().unwrap();
    let desks: Vec<_> = jonas.identity.desks.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(desks, ["clbchat", "blended"]);
    for b in [sara, client, student, kim] {
        b.close().await;
    }
}

/// How many messages on the page contain `text`.
async fn messages_with(b: &Browser, text: &str) -> u64 {
    b.js(&format!(
        "return Array.from(document.querySelectorAll('[data-testid=message]'))
           .filter((m) => m.textContent.includes({})).length",
        serde_json::to_string(text).expect("a string")
    ))
    .await
    .as_u64()
    .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_session_from_booking_to_the_end_of_the_chat() {
    if !tools_present("blended chat") {
        return;
    }
    let server = Server::start_service(&blended_chat::SERVICE, |_, _| {}).await;
    server
        .account_of(
            "ann",
            StaffRole::Counsellor,
            Discipline::PsychoPedagogical,
            Some("clb-gent"),
        )
        .await;
    let driver = Driver::start().await;
    let counsellor = driver
        .browser("blended-counsellor", DESKTOP.0, DESKTOP.1)
        .await;
    let client = driver.browser("blended-client", PHONE.0, PHONE.1).await;

    // The counsellor logs in: the planning page, online at once.
    counsellor.open(&server.url("/counsellor")).await;
    counsellor.shown("username").await;
    counsellor.type_into("username", "ann").await;
    counsellor.type_into("password", PASSWORD).await;
    counsellor.click("login").await;
    counsellor.shown("plan-form").await;
    counsellor.text_contains("desk-status", "online").await;
    let back = counsellor
        .js("return document.getElementById('to-desk').hidden")
        .await;
    assert_eq!(
        back,
        serde_json::json!(true),
        "no other counsellor page here"
    );
    counsellor.assert_accessible("planning page").await;
    counsellor.screenshot("blended-1-planning").await;

    // A bad booking is refused in words: a session in the past.
    counsellor.type_into("client-name", "Lotte Peeters").await;
    counsellor
        .js("document.getElementById('start-date').value = '2020-01-06';
             document.getElementById('start-time').value = '10:00'; return true;")
        .await;
    counsellor.click("plan").await;
    counsellor.text_contains("plan-error", "past").await;
    counsellor
        .js("document.getElementById('client-name').value = ''; return true;")
        .await;

    // Tomorrow's session for one client, and one in five minutes for another.
    let tomorrow = plan_in(&counsellor, 24 * 60, "Noah Janssens").await;
    let link = plan_in(&counsellor, 5, "Lotte Peeters").await;
    counsellor.text_contains("coming", "Lotte Peeters").await;
    counsellor.text_contains("coming", "Noah Janssens").await;
    counsellor.screenshot("blended-2-planned").await;

    // Tomorrow's link: too early, in plain words.
    client.open(&tomorrow).await;
    client.text_contains("status-title", "te vroeg").await;
    client.text_contains("status-text", "Ann").await;
    client.assert_accessible("join page, too early").await;
    client.screenshot("blended-3-too-early").await;

    // A mistyped link.
    client.open(&format!("{link}x")).await;
    client.text_contains("status-title", "werkt niet").await;

    // The real link: the waiting room, then the counsellor.
    client.open(&link).await;
    client.shown("view-chat").await;
    client.text_contains("chat-notice", "Ann").await;
    counsellor.shown("chat-pane").await;
    // A known client: their name, no anonymous self-report line, no partner lines.
    counsellor
        .text_contains("chat-panes", "Lotte Peeters")
        .await;
    let pane = counsellor
        .js(
            "return [document.querySelector('[data-testid=client-profile]').textContent,
                     document.querySelectorAll('[data-testid=tool-partner]').length]",
        )
        .await;
    assert_eq!(pane, serde_json::json!(["", 0]), "{pane}");
    client.text_contains("chat-notice", "Ann is er").await;
    client.assert_accessible("join page, in the chat").await;

    client.type_into("message-input", "Hallo, ik ben er.").await;
    client.click("send").await;
    counsellor
        .text_contains("chat-panes", "Hallo, ik ben er.")
        .await;
    counsellor
        .type_into("message-input", "Dag Lotte, fijn dat je er bent.")
        .await;
    counsellor.click("send").await;
    client
        .text_contains("messages", "fijn dat je er bent")
        .await;
    // Once on screen, not twice: the page's copy and the stored copy are one message (the
    // reply was stored after it, so the stored copy is in by now).
    assert_eq!(messages_with(&client, "Hallo, ik ben er.").await, 1);
    client.screenshot("blended-4-chat-phone").await;
    counsellor.screenshot("blended-5-chat-counsellor").await;

    // The same link on a second device: it takes the chat over, with the chat so far; the
    // first is told where the chat went.
    let laptop = driver
        .browser("blended-client-laptop", DESKTOP.0, DESKTOP.1)
        .await;
    laptop.open(&link).await;
    laptop
        .text_contains("messages", "fijn dat je er bent")
        .await;
    client.text_contains("chat-notice", "ander toestel").await;
    client.screenshot("blended-4b-taken-over").await;
    laptop
        .type_into("message-input", "Nu op mijn laptop.")
        .await;
    laptop.click("send").await;
    counsellor
        .text_contains("chat-panes", "Nu op mijn laptop.")
        .await;

    // The counsellor ends the session; the client reads it plainly.
    counsellor.click("end-chat").await;
    laptop.text_contains("chat-notice", "afgelopen").await;
    for text in [
        "Hallo, ik ben er.",
        "fijn dat je er bent",
        "Nu op mijn laptop.",
    ] {
        assert_eq!(messages_with(&laptop, text).await, 1, "{text}");
    }
    laptop.screenshot("blended-6-ended").await;
    laptop.close().await;

    // Before a next session: the chats with this client so far, read (and audited) and
    // saved for the client file as one HTML file.
    counsellor
        .click_css(&["[data-testid=coming] li:first-child [data-testid=read-trajectory]"])
        .await;
    counsellor
        .text_contains("trajectory-sessions", "Nu op mijn laptop.")
        .await;
    counsellor.assert_accessible("a trajectory read").await;
    counsellor.screenshot("blended-6b-trajectory").await;
    let reads = server
        .shared
        .store
        .conversations(&Default::default())
        .await
        .unwrap();
    let mut audited = 0;
    for c in reads {
        audited += server
            .shared
            .store
            .transcript_reads(c.id)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(audited, 1, "the read is in the audit");
    counsellor
        .js("window.exported = null;
             const make = URL.createObjectURL.bind(URL);
             URL.createObjectURL = (blob) => { window.exported = blob; return make(new Blob([''])); };
             return true;")
        .await;
    counsellor.click("trajectory-export").await;
    let html = counsellor
        .js("return window.exported ? window.exported.text() : ''")
        .await;
    let html = html.as_str().unwrap_or_default();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    for want in [
        "Lotte Peeters",
        "Hallo, ik ben er.",
        "Nu op mijn laptop.",
        "dossier",
    ] {
        assert!(html.contains(want), "the export lacks {want}:\n{html}");
    }
    assert!(!html.contains("<script"), "the export runs nothing");

    // Cancelling tomorrow's session: its link says so.
    counsellor
        .js("window.confirm = () => true; return true;")
        .await;
    counsellor
        .click_css(&["[data-testid=coming] li:last-child [data-testid=cancel]"])
        .await;
    counsellor.text_contains("past", "Noah Janssens").await;
    client.open(&tomorrow).await;
    client.text_contains("status-title", "gaat niet door").await;
    client.screenshot("blended-7-cancelled").await;

    // The team's accounts, on the same coordinator page as the national desk's: a new
    // colleague of the centre, who may then stand in.
    server
        .account_of(
            "kris",
            StaffRole::Coordinator,
            Discipline::PsychoPedagogical,
            Some("clb-gent"),
        )
        .await;
    let kris = driver
        .browser("blended-coordinator", DESKTOP.0, DESKTOP.1)
        .await;
    kris.open(&server.url("/coordinator")).await;
    kris.type_into("username", "kris").await;
    kris.type_into("password", PASSWORD).await;
    kris.click("login").await;
    kris.type_into("account-username", "bram").await;
    kris.type_into("account-alias", "Bram").await;
    kris.type_into("account-password", "een lang genoeg wachtwoord")
        .await;
    kris.select("account-discipline", "social_work").await;
    kris.type_into("account-centre", "clb-gent").await;
    kris.click("account-save").await;
    kris.text_contains("account-result", "bram").await;
    kris.screenshot("blended-8-coordinator-account").await;
    let bram = server
        .shared
        .store
        .account("bram")
        .await
        .unwrap()
        .expect("saved");
    assert_eq!(
        bram.identity.centre.map(|c| c.0).as_deref(),
        Some("clb-gent")
    );
    assert_eq!(bram.identity.desks[0].0, "blended");

    kris.close().await;
    counsellor.close().await;
    client.close().await;
    server.stop().await;
}
