//! The coordinator page's planning view (issue 19, item 5): from the desk's own history,
//! the fewest counsellors per hour that meet the coordinator's target, with the
//! simulation's chart and the schedule to download; tried at a laptop and on a phone.

use chrono::{Datelike, TimeZone, Utc};
use clbchat_core::account::StaffRole;
use clbchat_core::event::{ClientProfile, Discipline, EndReason};
use clbchat_core::ids::{ConversationId, DeskId};
use clbchat_core::store::{ConversationMeta, ConversationState};

use crate::support::*;
use crate::{DESKTOP, PHONE};

/// Eight Wednesdays of history at 15:00 (Brussels time): seven visitors an hour, six
/// chats of twenty minutes and one who left after three.
async fn history(server: &Server) {
    let now = Utc::now().with_timezone(&chrono_tz::Europe::Brussels);
    let back = i64::from((now.weekday().num_days_from_monday() + 7 - 2) % 7 + 7);
    for week in 0..8i64 {
        let day = (now - chrono::Duration::days(back + 7 * week)).date_naive();
        let hour = chrono_tz::Europe::Brussels
            .from_local_datetime(&day.and_hms_opt(15, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        for i in 0..7i64 {
            let arrived = hour + chrono::Duration::minutes(8 * i);
            let left = i == 6;
            server
                .shared
                .store
                .put_conversation(&ConversationMeta {
                    id: ConversationId::random(),
                    desk: DeskId::new(DESK),
                    pseudonym: None,
                    profile: ClientProfile::default(),
                    state: ConversationState::Ended,
                    counsellor: None,
                    arrived_at: arrived,
                    started_at: (!left).then(|| arrived + chrono::Duration::minutes(1)),
                    ended_at: Some(arrived + chrono::Duration::minutes(if left { 3 } else { 21 })),
                    end_reason: Some(if left {
                        EndReason::AbandonedInQueue
                    } else {
                        EndReason::ClientLeft
                    }),
                    resume_token_hash: "h".into(),
                })
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_plans_next_weeks_staffing_from_the_history() {
    if !tools_present("planning") {
        return;
    }
    let server = Server::start(|_, _| {}).await;
    server
        .account(
            "kris",
            StaffRole::Coordinator,
            Discipline::PsychoPedagogical,
        )
        .await;
    let driver = Driver::start().await;
    let kris = driver.browser("planning", DESKTOP.0, DESKTOP.1).await;
    kris.log_in(&server, "/coordinator", "kris").await;
    kris.shown("plan").await;

    // No history yet: it says so.
    kris.click("plan-make").await;
    kris.text_contains("plan-error", "has no visitors").await;

    // A wrong target is caught on the page.
    kris.type_into("plan-left", "150").await;
    kris.click("plan-make").await;
    kris.text_contains("plan-error", "percentage van 0 tot 100")
        .await;

    history(&server).await;
    kris.type_into("plan-wait", "3").await;
    kris.type_into("plan-left", "20").await;
    kris.click("plan-make").await;
    kris.text_contains("plan-status", "Klaar").await;
    kris.text_contains("plan-view", "Aanbevolen bezetting")
        .await;
    kris.text_contains("plan-view", "wo 15-16 u").await;
    kris.text_contains("plan-view", "Erlang A").await;
    let svg = kris
        .js("return document.querySelectorAll('#plan-view svg[role=img]').length")
        .await;
    assert!(
        svg.as_u64().unwrap_or(0) >= 2,
        "the charts are drawn: {svg}"
    );
    let csv = kris.download_text("plan-csv").await;
    assert!(
        csv.starts_with("day,hour,counsellors,medical,capacity\n"),
        "{csv}"
    );
    assert!(csv.contains("\nwed,15,"), "{csv}");
    kris.assert_accessible("the plan").await;
    kris.js("document.getElementById('plan-section').scrollIntoView(); return true;")
        .await;
    kris.screenshot("planning-1-laptop").await;
    kris.close().await;

    // On a phone: the plan's tables scroll in their own region; the page is not wider.
    let phone = driver.browser("planning-phone", PHONE.0, PHONE.1).await;
    phone.log_in(&server, "/coordinator", "kris").await;
    phone.shown("plan").await;
    phone.click("plan-make").await;
    phone.text_contains("plan-status", "Klaar").await;
    let wide = phone
        .js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(wide, serde_json::json!(true), "the page fits a phone");
    phone.assert_accessible("the plan on a phone").await;
    phone
        .js("document.getElementById('plan-view').scrollIntoView(); return true;")
        .await;
    phone.screenshot("planning-2-phone").await;
    phone.close().await;
    server.stop().await;
}
