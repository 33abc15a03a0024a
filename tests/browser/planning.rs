//! The coordinator page's planning view (issue 19, item 5): from the desk's own history,
//! the fewest counsellors per hour that meet the coordinator's target, with the
//! simulation's chart and the schedule to download; tried at a laptop and on a phone.

use clbchat_core::account::StaffRole;
use clbchat_core::event::Discipline;
use clbchat_core::ids::DeskId;

use crate::support::*;
use crate::{DESKTOP, PHONE};

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

    clbchat_assembly::testing::wednesday_history(
        server.shared.store.as_ref(),
        &DeskId::new(DESK),
        8,
    )
    .await;
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
