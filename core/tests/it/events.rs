//! Chat-met-je-CLB's events through the engine, on tokio's paused clock: a centre's
//! coordinator opens its box now (after an incident) and closes it early, plans an info
//! evening that opens by itself, calls one off; the refusals say what is wrong; nobody but
//! the box's own coordinators changes it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clbchat_core::account::StaffRole;
use clbchat_core::calendar::Calendar;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::events::EventRequest;
use clbchat_core::event::{Discipline, EndReason, EventBody, ServerEvent};
use clbchat_core::ids::DeskId;

use crate::support::*;

/// Thursday 10 March 2022, 9:00 in Brussels.
fn nine() -> DateTime<Utc> {
    brussels(2022, 3, 10, 9, 0)
}

async fn chatbox() -> World {
    let world = World::with_desk(
        nine(),
        DeskConfig::chatbox(
            "clb-hasselt",
            "CLB Hasselt",
            Calendar::events_only(Vec::new()),
        ),
    )
    .await;
    world
        .engine
        .add_desk(DeskConfig::chatbox(
            "clb-genk",
            "CLB Genk",
            Calendar::events_only(Vec::new()),
        ))
        .await
        .unwrap();
    world
}

fn event(title: &str, starts_at: Option<DateTime<Utc>>, ends_at: DateTime<Utc>) -> EventRequest {
    EventRequest {
        title: title.into(),
        welcome: Some("Na het ongeval van gisteren: praat met ons, anoniem.".into()),
        starts_at,
        ends_at,
    }
}

#[tokio::test(start_paused = true)]
async fn a_box_opened_after_an_incident_shows_its_welcome_and_closing_early_tells_who_waits() {
    let world = chatbox().await;
    let greet = world.coordinator("greet").await;
    assert!(!world.engine.availability(&world.desk).unwrap().open);

    greet
        .handle
        .open_event(
            &world.desk,
            &event("Na het ongeval", None, nine() + chrono::Duration::hours(3)),
        )
        .await
        .expect("opened now");
    let now_open = world.engine.availability(&world.desk).unwrap();
    assert!(now_open.open);
    let shown = now_open.event.expect("the visitor reads why it is open");
    assert_eq!(shown.title, "Na het ongeval");
    assert_eq!(
        shown.welcome.as_deref(),
        Some("Na het ongeval van gisteren: praat met ons, anoniem.")
    );
    assert_eq!(shown.ends_at, nine() + chrono::Duration::hours(3));

    // A student waits (no counsellor online); the coordinator closes early.
    let mut waiting = world.student().await;
    tokio::time::advance(Duration::from_secs(20 * 60)).await;
    greet.handle.close_event(&world.desk).await.expect("closed");
    let notice = wait_for(&mut waiting.events, |e| match e {
        ServerEvent::ClosingNotice { next_opening, .. } => Some(*next_opening),
        _ => None,
    })
    .await;
    assert_eq!(notice, None, "nothing else is planned");
    let end = wait_log(&mut waiting.events, |b| {
        matches!(b, EventBody::Ended { .. })
    })
    .await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::ClosedAtClosingTime
        }
    );
    let closed = world.engine.availability(&world.desk).unwrap();
    assert!(!closed.open && closed.event.is_none());
    // Nothing is open now: closing again says so.
    let e = greet.handle.close_event(&world.desk).await.unwrap_err();
    assert_eq!(e.code(), "invalid_state", "{e}");
    // The calendar is stored: a restart keeps the shortened window.
    let stored = world.store.calendar(&world.desk).await.unwrap().unwrap();
    assert_eq!(stored.event_windows.len(), 1);
    assert_eq!(stored.event_windows[0].end, brussels_local(9, 20));
}

/// A local time in March 2022, as the calendar writes it.
fn local(day: u32, h: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2022, 3, day)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

fn brussels_local(h: u32, m: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2022, 3, 10)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_planned_info_evening_opens_by_itself_and_a_planned_one_can_be_called_off() {
    let world = chatbox().await;
    let greet = world.coordinator("greet").await;
    let evening = event(
        "Infoavond studiekeuze",
        Some(brussels(2022, 3, 10, 19, 0)),
        brussels(2022, 3, 10, 21, 0),
    );
    greet
        .handle
        .open_event(&world.desk, &evening)
        .await
        .unwrap();
    let fair = event(
        "Studiebeurs",
        Some(brussels(2022, 3, 17, 9, 0)),
        brussels(2022, 3, 19, 17, 0),
    );
    let cal = greet.handle.open_event(&world.desk, &fair).await.unwrap();
    assert_eq!(cal.event_windows.len(), 2);
    let before = world.engine.availability(&world.desk).unwrap();
    assert!(!before.open);
    assert_eq!(before.next_opening, Some(brussels(2022, 3, 10, 19, 0)));

    tokio::time::advance(Duration::from_secs(10 * 3600 + 60)).await;
    let during = world.engine.availability(&world.desk).unwrap();
    assert!(during.open, "19:01: open by itself");
    assert_eq!(during.event.unwrap().title, "Infoavond studiekeuze");

    // The fair is called off before it began; the evening that runs cannot be.
    let cal = greet
        .handle
        .cancel_event(&world.desk, local(17, 9))
        .await
        .unwrap();
    assert_eq!(cal.event_windows.len(), 1);
    let e = greet
        .handle
        .cancel_event(&world.desk, local(10, 19))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_state", "{e}");
}

#[tokio::test(start_paused = true)]
async fn bad_events_are_refused_with_what_is_wrong_and_only_the_boxs_coordinators_change_it() {
    let world = chatbox().await;
    let greet = world.coordinator("greet").await;
    let evening = event(
        "Infoavond",
        Some(brussels(2022, 3, 10, 19, 0)),
        brussels(2022, 3, 10, 21, 0),
    );
    greet
        .handle
        .open_event(&world.desk, &evening)
        .await
        .unwrap();
    for (request, says) in [
        (
            event(
                "Gisteren",
                Some(nine() - chrono::Duration::hours(5)),
                nine() - chrono::Duration::hours(3),
            ),
            "has passed",
        ),
        (
            event(
                "Overlap",
                Some(brussels(2022, 3, 10, 20, 0)),
                brussels(2022, 3, 10, 22, 0),
            ),
            "overlaps `Infoavond`",
        ),
        (
            event("Te lang", None, nine() + chrono::Duration::days(15)),
            "at most 14 days",
        ),
        (
            event("  ", None, nine() + chrono::Duration::hours(1)),
            "title",
        ),
        (
            event(
                "Omgekeerd",
                Some(brussels(2022, 3, 11, 12, 0)),
                brussels(2022, 3, 11, 10, 0),
            ),
            "after the start",
        ),
    ] {
        let e = greet
            .handle
            .open_event(&world.desk, &request)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid", "{}: {e}", request.title);
        assert!(e.to_string().contains(says), "{}: {e}", request.title);
    }
    assert_eq!(
        world
            .engine
            .desks()
            .iter()
            .find(|d| d.id == world.desk)
            .unwrap()
            .calendar
            .event_windows
            .len(),
        1,
        "nothing refused was kept"
    );

    // A counsellor of the box, and the coordinator of another centre's box, are refused.
    let ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let genk = world
        .login_for(
            "gerda",
            StaffRole::Coordinator,
            Discipline::Medical,
            1,
            vec![DeskId::new("clb-genk")],
        )
        .await;
    let now = event("Nu", None, nine() + chrono::Duration::hours(1));
    for who in [&ann, &genk] {
        let name = &who.handle.identity().id;
        for e in [
            who.handle.open_event(&world.desk, &now).await.unwrap_err(),
            who.handle.close_event(&world.desk).await.unwrap_err(),
            who.handle
                .cancel_event(&world.desk, local(10, 19))
                .await
                .unwrap_err(),
        ] {
            assert_eq!(e.code(), "forbidden", "{name}: {e}");
        }
    }
    // Gerda opens her own box.
    genk.handle
        .open_event(&DeskId::new("clb-genk"), &now)
        .await
        .expect("her own box");
    assert!(!world.engine.availability(&world.desk).unwrap().open);
}
