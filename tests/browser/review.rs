//! Quality review and privacy in the real pages (issue 18): a counsellor asks for feedback
//! on a chat of hers, her coordinator reads it (audited) and answers, she reads the answer;
//! a young person asked that everything about them be erased, and the counsellor does it
//! from her page; the coordinator's audit shows who erased and when, nothing of what.

use clbchat_core::engine::Arrival;
use clbchat_core::event::ClientProfile;
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};

use crate::support::*;
use crate::{DESKTOP, PHONE};

/// A visitor (with `token`, or a new one) says `text` to Sara, who is online and free, and
/// leaves; Sara registers the chat. Returns the chat and the visitor's token.
async fn chat_with_sara(
    server: &Server,
    sara: &mut clbchat_core::engine::StaffSession,
    token: Option<String>,
    text: &str,
) -> (ConversationId, String) {
    let desk = DeskId::new(DESK);
    let visitor = server
        .shared
        .engine
        .arrive(
            &desk,
            Arrival {
                visitor_token: token.clone(),
                profile: ClientProfile {
                    client_type: Some(ClientType::Student),
                    nickname: Some("Vlinder".into()),
                    age: Some(15),
                    ..ClientProfile::default()
                },
                appointment: None,
            },
        )
        .await
        .unwrap();
    let token = token.or(visitor.visitor_token.clone()).expect("a token");
    let conversation = next_chat(sara).await;
    assert_eq!(conversation, visitor.conversation);
    visitor
        .handle
        .send(ClientMsgId::new("v1"), text)
        .await
        .unwrap();
    visitor.handle.leave().await.unwrap();
    sara.handle
        .register(
            conversation,
            RegistrationForm {
                client_type: ClientType::Student,
                age: Some(15),
                gender: None,
                topics: vec!["psf.family".into()],
                results: vec![ChatResult::EmotionalSupport],
                found_via: None,
                fake_call: false,
            },
        )
        .await
        .unwrap();
    (conversation, token)
}

/// The CSS of an element with `testid` in the past chat `c` on the counsellor's page.
fn in_past(c: ConversationId, testid: &str) -> String {
    format!("[data-testid=\"past-chat\"][data-conversation=\"{c}\"] [data-testid=\"{testid}\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_asked_answered_and_read_and_a_visitor_erased_on_request() {
    if !tools_present("feedback and erasure") {
        return;
    }
    let (server, mut sara_engine) = kris_and_sara().await;
    let desk = DeskId::new(DESK);
    // Noor chats twice and asks, the second time, that everything be erased; Lien once.
    let (noor_first, noor) = chat_with_sara(
        &server,
        &mut sara_engine,
        None,
        "Noor-1: thuis is het moeilijk",
    )
    .await;
    let (noor_second, _) = chat_with_sara(
        &server,
        &mut sara_engine,
        Some(noor),
        "Noor-2: wil je alles van mij wissen?",
    )
    .await;
    let (lien, _) = chat_with_sara(
        &server,
        &mut sara_engine,
        None,
        "Lien: ik twijfel over mijn studie",
    )
    .await;
    sara_engine.handle.go_offline(&desk).await.unwrap();
    drop(sara_engine);

    let driver = Driver::start().await;
    // Sara, on her phone: her past chats, newest first; she asks for feedback on Lien's.
    let sara = driver.browser("review-counsellor", PHONE.0, PHONE.1).await;
    sara.log_in(&server, "/counsellor", "sara").await;
    sara.text_contains("past-status", "3 gesprekken").await;
    sara.until_js(
        &format!(
            "return document.querySelector('[data-testid=\"past-chat\"]').getAttribute('data-conversation') === '{lien}'"
        ),
        "listed Lien's chat first",
    )
    .await;
    sara.click("past-ask").await;
    sara.type_into("past-question", "Hoe kon ik het gesprek beter afronden?")
        .await;
    sara.click("past-ask-send").await;
    sara.text_contains("past-item-status", "verstuurd").await;
    sara.text_contains("past-feedback", "Hoe kon ik het gesprek beter afronden?")
        .await;
    sara.assert_accessible("feedback asked").await;
    sara.js("document.getElementById('past-section').scrollIntoView(); return true;")
        .await;
    sara.screenshot("review-1-counsellor-asks-feedback").await;

    // Kris, at her laptop: the question, the chat (read for feedback, audited), her answer.
    let kris = driver
        .browser("review-coordinator", DESKTOP.0, DESKTOP.1)
        .await;
    kris.log_in(&server, "/coordinator", "kris").await;
    kris.text_contains("feedback-list", "Sara (sara)").await;
    kris.text_contains("feedback-list", "Hoe kon ik het gesprek beter afronden?")
        .await;
    kris.text_contains("feedback-list", "Nog niet beantwoord")
        .await;
    kris.click("feedback-read").await;
    kris.text_contains("scan-log", "Lien: ik twijfel over mijn studie")
        .await;
    kris.text_contains("scan-feedback-label", "Feedback voor Sara (sara)")
        .await;
    kris.click("scan-feedback-save").await;
    kris.text_contains("scan-feedback-error", "Schrijf eerst")
        .await;
    kris.type_into(
        "scan-feedback",
        "Mooi hoe je doorvroeg. Vat op het einde samen wat ze gaat doen.",
    )
    .await;
    kris.click("scan-feedback-save").await;
    kris.text_contains("scan-feedback-status", "Sara (sara) ziet ze nu")
        .await;
    kris.text_contains("feedback-list", "Beantwoord door Kris (kris)")
        .await;
    kris.assert_accessible("feedback written").await;
    kris.until_js(
        "document.getElementById('scan-feedback-save').scrollIntoView({block: 'center'}); \
         const r = document.getElementById('scan-feedback-save').getBoundingClientRect(); \
         return r.top > 0 && r.bottom < window.innerHeight",
        "scrolled to the feedback form",
    )
    .await;
    kris.screenshot("review-2-coordinator-writes-feedback")
        .await;
    let reads = server.shared.store.transcript_reads(lien).await.unwrap();
    assert_eq!(
        reads.iter().map(|r| r.purpose.as_str()).collect::<Vec<_>>(),
        ["feedback"],
        "the coordinator's read is audited as one for feedback"
    );

    // Sara refreshes and reads the feedback.
    sara.click("past-refresh").await;
    sara.text_contains("past-feedback", "Mooi hoe je doorvroeg")
        .await;
    sara.text_contains("past-feedback", "Feedback van kris")
        .await;
    sara.screenshot("review-3-counsellor-reads-feedback").await;

    // Noor's request: Sara erases from Noor's second chat; both of Noor's chats go, Lien's
    // stays, with its feedback.
    sara.click_css(&[&in_past(noor_second, "past-erase")]).await;
    sara.until_js(
        &format!(
            "const b = document.querySelector('{}'); return !!b && !b.hidden",
            in_past(noor_second, "past-erase-confirm").replace('\'', "\\'")
        ),
        "asked before erasing",
    )
    .await;
    sara.text_contains("past-list", "kan je niet ongedaan maken")
        .await;
    sara.assert_accessible("erase asked").await;
    sara.screenshot("review-4-counsellor-confirms-erasure")
        .await;
    sara.click_css(&[&in_past(noor_second, "past-erase-yes")])
        .await;
    sara.text_contains("past-status", "Gewist").await;
    let left = sara
        .until_js(
            "const l = document.querySelectorAll('[data-testid=\"past-chat\"]'); return l.length === 1 && l[0].getAttribute('data-conversation')",
            "listed only Lien's chat",
        )
        .await;
    assert_eq!(left.as_str(), Some(lien.to_string().as_str()));
    sara.text_contains("past-feedback", "Mooi hoe je doorvroeg")
        .await;
    sara.screenshot("review-5-counsellor-erased").await;
    sara.close().await;
    // The same page at a laptop: the past chats under the live ones, the whole width.
    let laptop = driver
        .browser("review-counsellor-laptop", DESKTOP.0, DESKTOP.1)
        .await;
    laptop.log_in(&server, "/counsellor", "sara").await;
    laptop.text_contains("past-status", "1 gesprek.").await;
    laptop
        .text_contains("past-feedback", "Mooi hoe je doorvroeg")
        .await;
    laptop.assert_accessible("past chats on a laptop").await;
    laptop
        .js("document.getElementById('past-section').scrollIntoView(); return true;")
        .await;
    laptop.screenshot("review-5b-counsellor-laptop").await;
    laptop.close().await;
    for c in [noor_first, noor_second] {
        assert!(
            server
                .shared
                .store
                .events_after(c, 0)
                .await
                .unwrap()
                .is_empty(),
            "Noor's chats have no text left"
        );
    }

    // Kris's audit: the erasure, by whom and when; nothing of what.
    kris.click("audit-show").await;
    kris.text_contains("erasures", "gewist door Sara (sara)")
        .await;
    let csv = kris.download_text("audit-csv").await;
    assert!(csv.contains(",sara,,,erased_on_request,"), "{csv}");
    assert!(!csv.contains(&noor_second.to_string()), "{csv}");
    kris.assert_accessible("the audit with an erasure").await;
    kris.js("document.getElementById('audit-section').scrollIntoView(); return true;")
        .await;
    kris.screenshot("review-6-coordinator-audit-erasure").await;

    kris.close().await;
    server.stop().await;
}
