//! Flags that follow a returning, still anonymous visitor: frequent chatters (raised by the
//! engine), suspected fake calls (raised by a counsellor, reviewed by a coordinator), the
//! lowered but never blocking queue priority, expiry, and that no raw token is ever stored.

use chrono::{DateTime, Utc};
use clbchat_core::clock::{Clock, TokioClock};
use clbchat_core::engine::{StaffSession, VisitorSession};
use clbchat_core::event::{Discipline, EventBody, ServerEvent};
use clbchat_core::flags::{FlagKind, FlagStatus, VisitorHistory};
use clbchat_core::ids::{ConversationId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::{ConversationFilter, Store};
use clbchat_core::Error;

use crate::support::{brussels, student_profile, wait_for, wait_log, World};

/// What the visitor's browser keeps between visits.
const TOKEN: &str = "browser-kept-token_0123456789abcdef";

/// The world and a clock reading the same wall time as the engine's, to travel by date.
async fn world_at(start: DateTime<Utc>) -> (World, TokioClock) {
    let clock = TokioClock::starting_at(start);
    (World::at(start).await, clock)
}

/// Moves virtual time, and with it the desk's wall clock, forward to `to`.
async fn travel_to(clock: &TokioClock, to: DateTime<Utc>) {
    let by = (to - clock.now()).to_std().expect("travel forward only");
    tokio::time::advance(by).await;
}

fn form(fake_call: bool) -> RegistrationForm {
    RegistrationForm {
        client_type: ClientType::Student,
        age: Some(15),
        gender: None,
        topics: vec!["psf.in_love".into()],
        results: vec![ChatResult::InformationAdvice],
        found_via: None,
        fake_call,
    }
}

/// The visitor with `token` arrives (joining the queue).
async fn arrive(world: &World, token: &str) -> VisitorSession {
    world
        .arrive(student_profile(false), Some(token.into()))
        .await
        .expect("admitted")
}

/// Waits until `counsellor` is given `conversation`; returns what they are told about the visitor.
async fn assigned(counsellor: &mut StaffSession, conversation: ConversationId) -> VisitorHistory {
    wait_for(&mut counsellor.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation: c,
            history,
            ..
        } if *c == conversation => Some(history.clone()),
        _ => None,
    })
    .await
}

/// The visitor leaves; the counsellor registers the chat (a suspected fake call or not).
async fn close(counsellor: &mut StaffSession, visitor: &VisitorSession, fake_call: bool) {
    let conversation = visitor.conversation;
    visitor.handle.leave().await.expect("leave");
    wait_for(&mut counsellor.events, |e| match e {
        ServerEvent::RegistrationDue { conversation: c } if *c == conversation => Some(()),
        _ => None,
    })
    .await;
    counsellor
        .handle
        .register(conversation, form(fake_call))
        .await
        .expect("registered");
}

/// A whole visit with `counsellor` free: returns what the counsellor was told.
async fn visit(world: &World, counsellor: &mut StaffSession, token: &str) -> VisitorHistory {
    let visitor = arrive(world, token).await;
    let history = assigned(counsellor, visitor.conversation).await;
    close(counsellor, &visitor, false).await;
    history
}

/// The visitor with `TOKEN` makes a chat that `counsellor` registers as a suspected fake call.
async fn prank(world: &World, counsellor: &mut StaffSession) -> ConversationId {
    let visitor = arrive(world, TOKEN).await;
    assigned(counsellor, visitor.conversation).await;
    close(counsellor, &visitor, true).await;
    visitor.conversation
}

fn kinds(history: &VisitorHistory) -> Vec<(FlagKind, FlagStatus)> {
    history.flags.iter().map(|f| (f.kind, f.status)).collect()
}

#[tokio::test(start_paused = true)]
async fn the_fifth_visit_within_thirty_days_marks_a_frequent_chatter() {
    let (world, clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;

    visit(&world, &mut ann, TOKEN).await;
    travel_to(&clock, brussels(2021, 10, 20, 15, 0)).await;
    let second = visit(&world, &mut ann, TOKEN).await;
    assert_eq!(second.chats_in_window, 1);
    assert_eq!(second.window_days, 30);
    assert!(second.flags.is_empty(), "{second:?}");

    for day in [(10, 27), (11, 3)] {
        travel_to(&clock, brussels(2021, day.0, day.1, 15, 0)).await;
        visit(&world, &mut ann, TOKEN).await;
    }
    travel_to(&clock, brussels(2021, 11, 10, 15, 0)).await;
    let fifth = visit(&world, &mut ann, TOKEN).await;
    assert_eq!(fifth.chats_in_window, 4);
    assert_eq!(
        kinds(&fifth),
        [(FlagKind::FrequentChatter, FlagStatus::Open)]
    );

    // A different visitor on the same day is not marked.
    let fresh = visit(&world, &mut ann, "another-browser-token_987654321").await;
    assert_eq!(fresh.chats_in_window, 0);
    assert!(fresh.flags.is_empty());
}

#[tokio::test(start_paused = true)]
async fn visits_spread_over_more_than_thirty_days_do_not_mark_a_frequent_chatter() {
    let (world, clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;

    visit(&world, &mut ann, TOKEN).await;
    for day in [(10, 20), (10, 27), (11, 3)] {
        travel_to(&clock, brussels(2021, day.0, day.1, 15, 0)).await;
        visit(&world, &mut ann, TOKEN).await;
    }
    // 17 November: the visit of 13 October is out of the window.
    travel_to(&clock, brussels(2021, 11, 17, 15, 0)).await;
    let fifth = visit(&world, &mut ann, TOKEN).await;
    assert_eq!(fifth.chats_in_window, 3);
    assert!(fifth.flags.is_empty(), "{fifth:?}");
}

#[tokio::test(start_paused = true)]
async fn a_suspected_fake_call_is_listed_for_review_and_warns_the_next_counsellor() {
    let (world, _clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let pranked = prank(&world, &mut ann).await;

    let to_review = cora.handle.flags_to_review(&world.desk).await.unwrap();
    assert_eq!(to_review.len(), 1);
    let flag = &to_review[0];
    assert_eq!(
        (flag.kind, flag.status),
        (FlagKind::SuspectedFakeCall, FlagStatus::Open)
    );
    assert_eq!(flag.conversation, Some(pranked));
    assert_eq!(flag.raised_by, Some(StaffId::new("ann")));
    let meta = world.store.conversation(pranked).await.unwrap().unwrap();
    assert_eq!(Some(&flag.pseudonym), meta.pseudonym.as_ref());
    // Reviewing is the coordinators' job.
    let listed = ann.handle.flags_to_review(&world.desk).await;
    assert!(matches!(listed, Err(Error::Forbidden(_))), "{listed:?}");
    let dismissed = ann.handle.review_flag(flag.id, false).await;
    assert!(
        matches!(dismissed, Err(Error::Forbidden(_))),
        "{dismissed:?}"
    );

    // The visitor comes back later that afternoon; bob has taken over the shift.
    ann.handle.go_offline(&world.desk).await.unwrap();
    let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
    tokio::time::advance(std::time::Duration::from_secs(40 * 60)).await;
    let back = arrive(&world, TOKEN).await;
    let history = assigned(&mut bob, back.conversation).await;
    assert_eq!(history.chats_in_window, 1);
    assert_eq!(
        kinds(&history),
        [(FlagKind::SuspectedFakeCall, FlagStatus::Open)]
    );
    assert_eq!(history.flags[0].id, flag.id);
}

#[tokio::test(start_paused = true)]
async fn a_suspected_prankster_queues_behind_a_later_arrival_but_is_still_served() {
    let (world, _clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    prank(&world, &mut ann).await;

    // ann is busy; the flagged visitor arrives first, an unflagged student just after.
    let busy = world.student().await;
    assigned(&mut ann, busy.conversation).await;
    let mut flagged = arrive(&world, TOKEN).await;
    let unflagged = world.student().await;

    close(&mut ann, &busy, false).await;
    let next = wait_for(&mut ann.events, |e| match e {
        ServerEvent::ChatAssigned { conversation, .. } => Some(*conversation),
        _ => None,
    })
    .await;
    assert_eq!(
        next, unflagged.conversation,
        "the later, unflagged student goes first"
    );

    close(&mut ann, &unflagged, false).await;
    let history = assigned(&mut ann, flagged.conversation).await;
    assert_eq!(
        kinds(&history),
        [(FlagKind::SuspectedFakeCall, FlagStatus::Open)]
    );
    wait_log(&mut flagged.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn once_a_coordinator_dismisses_the_flag_the_visitor_queues_normally_again() {
    let (world, _clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    prank(&world, &mut ann).await;

    let flag = cora
        .handle
        .flags_to_review(&world.desk)
        .await
        .unwrap()
        .remove(0);
    let reviewed = cora.handle.review_flag(flag.id, false).await.unwrap();
    assert_eq!(reviewed.status, FlagStatus::Dismissed);
    assert_eq!(reviewed.reviewed_by, Some(StaffId::new("cora")));
    assert!(cora
        .handle
        .flags_to_review(&world.desk)
        .await
        .unwrap()
        .is_empty());

    let busy = world.student().await;
    assigned(&mut ann, busy.conversation).await;
    let formerly_flagged = arrive(&world, TOKEN).await;
    let _later = world.student().await;

    close(&mut ann, &busy, false).await;
    let next = wait_for(&mut ann.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation,
            history,
            ..
        } => Some((*conversation, history.clone())),
        _ => None,
    })
    .await;
    assert_eq!(
        next.0, formerly_flagged.conversation,
        "first come, first served again"
    );
    assert!(
        next.1.flags.is_empty(),
        "a dismissed flag no longer warns: {:?}",
        next.1
    );
}

#[tokio::test(start_paused = true)]
async fn a_flag_stops_counting_after_ninety_days() {
    let (world, clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    prank(&world, &mut ann).await;

    // 84 days later (Christmas holidays, open in the afternoon): still flagged.
    travel_to(&clock, brussels(2022, 1, 5, 15, 0)).await;
    let within = visit(&world, &mut ann, TOKEN).await;
    assert_eq!(
        kinds(&within),
        [(FlagKind::SuspectedFakeCall, FlagStatus::Open)]
    );
    assert_eq!(
        cora.handle
            .flags_to_review(&world.desk)
            .await
            .unwrap()
            .len(),
        1
    );

    // 98 days later, a school Wednesday: the flag has expired.
    travel_to(&clock, brussels(2022, 1, 19, 15, 0)).await;
    let after = visit(&world, &mut ann, TOKEN).await;
    assert!(after.flags.is_empty(), "{after:?}");
    assert!(cora
        .handle
        .flags_to_review(&world.desk)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_raw_visitor_token_is_stored_nowhere() {
    let (world, _clock) = world_at(brussels(2021, 10, 13, 15, 0)).await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;

    // First visit: the engine makes the token the browser keeps.
    let first = world.student().await;
    let token = first
        .visitor_token
        .clone()
        .expect("a new visitor gets a token");
    assigned(&mut ann, first.conversation).await;
    close(&mut ann, &first, true).await;
    // Second visit with it: recognised, so the flag is on the same pseudonym.
    let second = arrive(&world, &token).await;
    let history = assigned(&mut ann, second.conversation).await;
    assert_eq!(
        kinds(&history),
        [(FlagKind::SuspectedFakeCall, FlagStatus::Open)]
    );
    close(&mut ann, &second, false).await;

    let metas = world
        .store
        .conversations(&ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(metas.len(), 2);
    let pseudonym = metas[0]
        .pseudonym
        .clone()
        .expect("anonymous visitors have a pseudonym");
    assert!(metas
        .iter()
        .all(|m| m.pseudonym.as_ref() == Some(&pseudonym)));
    assert_ne!(pseudonym.0, token);
    assert!(!pseudonym.0.contains(&token));

    let flags = world.store.flags_for(&pseudonym).await.unwrap();
    assert_eq!(flags.len(), 1);
    let mut stored = serde_json::to_string(&metas).unwrap();
    stored += &serde_json::to_string(&flags).unwrap();
    for meta in &metas {
        let log = world.store.events_after(meta.id, 0).await.unwrap();
        stored += &serde_json::to_string(&log).unwrap();
        let registration = world.store.registration(meta.id).await.unwrap();
        stored += &serde_json::to_string(&registration).unwrap();
    }
    assert!(!stored.contains(&token), "the raw visitor token was stored");
}
