//! Routing: disciplines, capacity, shift ends, team membership, appointments, and atomic
//! assignment under concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clbchat_core::account::StaffRole;
use clbchat_core::appointment::Booking;
use clbchat_core::calendar::{Calendar, EventWindow};
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::Arrival;
use clbchat_core::event::{Discipline, EventBody, ServerEvent};
use clbchat_core::ids::{ConversationId, DeskId};
use clbchat_core::Error;

use crate::support::*;

fn assigned(e: &ServerEvent) -> Option<ConversationId> {
    match e {
        ServerEvent::ChatAssigned { conversation, .. } => Some(*conversation),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_health_question_goes_to_the_free_medical_counsellor() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    // The social worker has been idle longer, so without the signal they would be chosen.
    let mut social = world.counsellor("social", Discipline::SocialWork).await;
    tokio::time::advance(Duration::from_secs(60)).await;
    let mut medical = world.counsellor("doc", Discipline::Medical).await;

    let health = world.arrive(student_profile(true), None).await.unwrap();
    let got = wait_for(&mut medical.events, assigned).await;
    assert_eq!(got, health.conversation);

    let other = world.student().await;
    let got = wait_for(&mut social.events, assigned).await;
    assert_eq!(got, other.conversation);
}

#[tokio::test(start_paused = true)]
async fn a_health_question_is_still_served_when_no_medical_counsellor_is_free() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let mut social = world.counsellor("social", Discipline::SocialWork).await;
    let health = world.arrive(student_profile(true), None).await.unwrap();
    assert_eq!(
        wait_for(&mut social.events, assigned).await,
        health.conversation
    );
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_near_the_end_of_their_shift_gets_no_new_chat_but_finishes_theirs() {
    let start = brussels(2021, 10, 13, 15, 0);
    let world = World::at(start).await;
    let leaving = world
        .login("leaving", StaffRole::Counsellor, Discipline::SocialWork, 2)
        .await;
    let mut leaving = leaving;
    // Shift ends at 16:00: more than the 30-minute margin away now.
    leaving
        .handle
        .go_online(&world.desk, Some(brussels(2021, 10, 13, 16, 0)))
        .await
        .unwrap();
    let mut first = world.student().await;
    let conv = wait_for(&mut leaving.events, assigned).await;
    assert_eq!(conv, first.conversation);

    // At 15:31 the shift ends within 30 minutes: the next client waits for someone else.
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    let mut second = world.student().await;
    let (pos, _) = wait_for(&mut second.events, |e| match e {
        ServerEvent::Queue {
            position,
            estimated_wait_minutes,
            ..
        } => Some((*position, *estimated_wait_minutes)),
        _ => None,
    })
    .await;
    assert_eq!(pos, 1);
    // The running chat goes on.
    leaving
        .handle
        .send(
            conv,
            clbchat_core::ids::ClientMsgId::new("m1"),
            "Nog even dit",
        )
        .await
        .unwrap();
    wait_log(&mut first.events, |b| {
        matches!(b, EventBody::Message { .. })
    })
    .await;

    let mut next = world.counsellor("next-shift", Discipline::SocialWork).await;
    assert_eq!(
        wait_for(&mut next.events, assigned).await,
        second.conversation
    );
}

#[tokio::test(start_paused = true)]
async fn capacity_two_takes_two_chats_and_not_a_third() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let mut c = world
        .login("c", StaffRole::Counsellor, Discipline::SocialWork, 2)
        .await;
    c.handle.go_online(&world.desk, None).await.unwrap();
    let a = world.student().await;
    let b = world.student().await;
    let mut third = world.student().await;
    let mut got = vec![
        wait_for(&mut c.events, assigned).await,
        wait_for(&mut c.events, assigned).await,
    ];
    got.sort();
    let mut want = vec![a.conversation, b.conversation];
    want.sort();
    assert_eq!(got, want);
    let (pos, _) = wait_for(&mut third.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some((*position, ())),
        _ => None,
    })
    .await;
    assert_eq!(pos, 1);
}

#[tokio::test(start_paused = true)]
async fn a_paused_counsellor_gets_nothing_until_available_again() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let mut c = world.counsellor("c", Discipline::SocialWork).await;
    c.handle.set_available(&world.desk, false).await.unwrap();
    let v = world.student().await;
    assert!(drain(&mut c.events).iter().all(|e| assigned(e).is_none()));
    c.handle.set_available(&world.desk, true).await.unwrap();
    assert_eq!(wait_for(&mut c.events, assigned).await, v.conversation);
}

#[tokio::test(start_paused = true)]
async fn a_centre_chatbox_opens_only_in_its_event_window_and_only_for_its_team() {
    let window = EventWindow {
        name: "Infoavond studiekeuze".into(),
        welcome: None,
        start: chrono::NaiveDate::from_ymd_opt(2022, 3, 10)
            .unwrap()
            .and_hms_opt(19, 0, 0)
            .unwrap(),
        end: chrono::NaiveDate::from_ymd_opt(2022, 3, 10)
            .unwrap()
            .and_hms_opt(21, 0, 0)
            .unwrap(),
    };
    let desk = DeskConfig::chatbox(
        "clb-gent",
        "Chat met je CLB Gent",
        Calendar::events_only(vec![window]),
    );
    let world = World::with_desk(brussels(2022, 3, 10, 18, 30), desk).await;
    let err = world
        .arrive(student_profile(false), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Closed { next_opening: Some(t), .. } if t == brussels(2022, 3, 10, 19, 0))
    );

    let outsider = world
        .login_for(
            "outsider",
            StaffRole::Counsellor,
            Discipline::SocialWork,
            1,
            vec![DeskId::new("clbchat")],
        )
        .await;
    let err = outsider
        .handle
        .go_online(&world.desk, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");

    let mut member = world
        .counsellor("gent-1", Discipline::PsychoPedagogical)
        .await;
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    let v = world.student().await;
    assert_eq!(wait_for(&mut member.events, assigned).await, v.conversation);
}

#[tokio::test(start_paused = true)]
async fn a_blended_appointment_goes_only_to_its_counsellor_and_is_not_anonymous() {
    let desk = DeskConfig::blended("blended", "Blended chat");
    let start = brussels(2022, 3, 10, 9, 50);
    let world = World::with_desk(start, desk).await;
    let mut other = world.centre_counsellor("other", "clb-gent", true).await;
    let planner = world.centre_counsellor("own", "clb-gent", false).await;
    let (_, token) = planner
        .handle
        .plan_appointment(
            &world.desk,
            &Booking {
                client_name: "Lotte Peeters".into(),
                note: None,
                starts_at: brussels(2022, 3, 10, 10, 0),
                length_minutes: 45,
                stand_in: None,
                trajectory: None,
            },
        )
        .await
        .unwrap();
    let bad = Arrival {
        appointment: Some("forged".into()),
        ..Arrival::default()
    };
    assert!(world
        .engine
        .arrive(&world.desk, bad)
        .await
        .unwrap_err()
        .to_string()
        .contains("link"));

    let arrival = Arrival {
        appointment: Some(token),
        ..Arrival::default()
    };
    let client = world.engine.arrive(&world.desk, arrival).await.unwrap();
    assert_eq!(
        client.visitor_token, None,
        "no pseudonym token on an identified desk"
    );
    // Another counsellor is free, but the appointment waits for its own counsellor.
    assert!(drain(&mut other.events)
        .iter()
        .all(|e| assigned(e).is_none()));
    let mut own = planner;
    own.handle.go_online(&world.desk, None).await.unwrap();
    let got = wait_for(&mut own.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation,
            profile,
            ..
        } => Some((*conversation, profile.nickname.clone())),
        _ => None,
    })
    .await;
    assert_eq!(got, (client.conversation, Some("Lotte Peeters".into())));
    let meta = world
        .store
        .conversation(client.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.pseudonym, None);
}

/// Many clients and counsellors arriving at once on a multi-threaded runtime: every client
/// gets exactly one counsellor, and nobody is ever over capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_is_atomic_under_concurrent_arrivals() {
    // Real time here (multi-threaded runtimes cannot pause), so the desk is always open.
    let world = Arc::new(
        World::with_desk(
            chrono::Utc::now(),
            DeskConfig::national(DESK, Calendar::always_open()),
        )
        .await,
    );
    let mut sessions = Vec::new();
    for i in 0..6u32 {
        let cap = 1 + i % 3;
        sessions.push(
            world
                .login(
                    &format!("c{i}"),
                    StaffRole::Counsellor,
                    Discipline::SocialWork,
                    cap,
                )
                .await,
        );
    }
    let capacity: u32 = (0..6u32).map(|i| 1 + i % 3).sum();
    // Counsellors come online while 40 clients arrive, all concurrently.
    let mut joins = Vec::new();
    for s in &sessions {
        let h = s.handle.clone();
        let desk = world.desk.clone();
        joins.push(tokio::spawn(async move {
            h.go_online(&desk, None).await.unwrap()
        }));
    }
    let mut clients = Vec::new();
    for _ in 0..40 {
        let w = world.clone();
        clients.push(tokio::spawn(async move { w.student().await }));
    }
    for j in joins {
        j.await.unwrap();
    }
    let mut visitors = Vec::new();
    for c in clients {
        visitors.push(c.await.unwrap());
    }
    // Exactly `capacity` clients are served; count the ChatAssigned events per counsellor.
    let mut per_staff: HashMap<String, Vec<ConversationId>> = HashMap::new();
    let mut total = 0;
    for s in &mut sessions {
        let cap = s.identity.capacity as usize;
        let mut got = Vec::new();
        while got.len() < cap {
            got.push(wait_for(&mut s.events, assigned).await);
        }
        total += got.len();
        per_staff.insert(s.identity.id.to_string(), got);
    }
    assert_eq!(total as u32, capacity);
    let mut all: Vec<ConversationId> = per_staff.values().flatten().copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "a client was given to two counsellors");
    // Nobody got more than their capacity: no further assignment is pending.
    for s in &mut sessions {
        assert!(
            drain(&mut s.events).iter().all(|e| assigned(e).is_none()),
            "{} over capacity",
            s.identity.id
        );
    }
    let board_queue = world.engine.availability(&world.desk).unwrap().queue_length;
    assert_eq!(board_queue as usize, visitors.len() - total);
}

/// The evening's last shift ends when the desk closes: there is no next shift to take
/// over, so its counsellor keeps taking chats in its last half hour (the desk's closing
/// margin stops new visitors; the chat may run past closing). Found by the simulation: a
/// student who came at 20:35 was let in, then waited until closing with every counsellor
/// free, and was sent home.
#[tokio::test(start_paused = true)]
async fn the_last_shift_of_the_evening_takes_chats_until_the_desk_stops_letting_people_in() {
    // Wednesday: open until 21:00.
    let world = World::at(brussels(2021, 10, 13, 20, 0)).await;
    let mut last = world
        .login("last", StaffRole::Counsellor, Discipline::SocialWork, 1)
        .await;
    last.handle
        .go_online(&world.desk, Some(brussels(2021, 10, 13, 21, 0)))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(35 * 60)).await;
    let student = world.student().await;
    assert_eq!(
        wait_for(&mut last.events, assigned).await,
        student.conversation,
        "20:35, the last shift: served"
    );
}
