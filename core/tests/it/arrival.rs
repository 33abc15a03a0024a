//! Arrival, the queue, the honest wait estimate, closing time.

use std::time::Duration;

use clbchat_core::engine::Arrival;
use clbchat_core::event::{Discipline, EndReason, EventBody, ServerEvent};
use clbchat_core::ids::DeskId;
use clbchat_core::store::{ConversationFilter, ConversationState};
use clbchat_core::Error;

use crate::support::*;

fn queue_event(e: &ServerEvent) -> Option<(u32, Option<u32>)> {
    match e {
        ServerEvent::Queue {
            position,
            estimated_wait_minutes,
            ..
        } => Some((*position, *estimated_wait_minutes)),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_closed_desk_answers_with_the_next_opening_time() {
    // Monday 11 October 2021, 16:59: school-day hours start at 17:00.
    let world = World::at(brussels(2021, 10, 11, 16, 59)).await;
    match world.arrive(student_profile(false), None).await {
        Err(Error::Closed { next_opening, .. }) => {
            assert_eq!(next_opening, Some(brussels(2021, 10, 11, 17, 0)));
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    let text = world
        .arrive(student_profile(false), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("closed") && text.contains("2021-10-11T15:00:00"),
        "{text}"
    );
    // A minute later the desk is open.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(world.arrive(student_profile(false), None).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn waiting_clients_are_told_their_position_and_an_honest_estimate() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let mut counsellor = world.counsellor("c1", Discipline::SocialWork).await;
    let first = world.student().await;
    wait_for(&mut counsellor.events, |e| {
        matches!(e, ServerEvent::ChatAssigned { .. }).then_some(())
    })
    .await;

    let mut second = world.student().await;
    let mut third = world.student().await;
    let (p2, e2) = wait_for(&mut second.events, queue_event).await;
    let (p3, e3) = wait_for(&mut third.events, queue_event).await;
    assert_eq!((p2, p3), (1, 2));
    // With one counsellor busy since 0 min and no history, the estimate uses the
    // published mean of 18.5 minutes: the first waiting client ~19 min, the next ~37.
    assert_eq!(e2, Some(19));
    assert_eq!(e3, Some(37));

    // A newcomer now would be third: about 56 minutes. Four minutes into the running
    // chat (the student keeps talking), that estimate has come down by four minutes.
    let before = world.engine.availability(&world.desk).unwrap();
    assert_eq!(
        (before.queue_length, before.estimated_wait_minutes),
        (2, Some(56))
    );
    tokio::time::advance(Duration::from_secs(4 * 60)).await;
    first
        .handle
        .send(clbchat_core::ids::ClientMsgId::new("m"), "nog even")
        .await
        .unwrap();
    let after = world.engine.availability(&world.desk).unwrap();
    assert_eq!(after.estimated_wait_minutes, Some(52));

    // The first chat ends and is registered: the second client is served, the third moves
    // up to 1.
    first.handle.leave().await.unwrap();
    let form = clbchat_core::registration::RegistrationForm {
        client_type: clbchat_core::registration::ClientType::Student,
        age: Some(15),
        gender: None,
        topics: vec!["olb.study_choice".into()],
        results: vec![clbchat_core::registration::ChatResult::InformationAdvice],
        found_via: None,
        fake_call: false,
    };
    counsellor
        .handle
        .register(first.conversation, form)
        .await
        .unwrap();
    wait_log(&mut second.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;
    // Updates of the estimate at place 2 may come first; then it moves up.
    let (p3, e3) = wait_for(&mut third.events, |e| {
        queue_event(e).filter(|(p, _)| *p == 1)
    })
    .await;
    assert_eq!(p3, 1);
    assert!(
        e3.is_some_and(|m| m <= 19),
        "at the head of the queue: at most a mean chat"
    );
}

#[tokio::test(start_paused = true)]
async fn with_nobody_online_there_is_no_made_up_estimate() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let mut v = world.student().await;
    let (pos, est) = wait_for(&mut v.events, queue_event).await;
    assert_eq!((pos, est), (1, None));
}

#[tokio::test(start_paused = true)]
async fn a_client_whose_wait_runs_past_closing_is_not_admitted_and_it_is_recorded() {
    // 20:35 on a school Monday: closes at 21:00, margin 10 min.
    let world = World::at(brussels(2021, 10, 11, 20, 35)).await;
    let _c = world.counsellor("c1", Discipline::SocialWork).await;
    let _served = world.student().await; // takes the only slot
    let err = world
        .arrive(student_profile(false), None)
        .await
        .unwrap_err();
    match &err {
        Error::NotAdmittedBeforeClosing {
            closes_at,
            wait_minutes,
            next_opening,
            ..
        } => {
            assert_eq!(*closes_at, brussels(2021, 10, 11, 21, 0));
            assert_eq!(*wait_minutes, 19);
            assert_eq!(*next_opening, Some(brussels(2021, 10, 12, 17, 0)));
        }
        other => panic!("expected NotAdmittedBeforeClosing, got {other:?}"),
    }
    assert!(err.to_string().contains("come back"), "{err}");
    let refused = world
        .store
        .conversations(&ConversationFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.end_reason == Some(EndReason::RefusedBeforeClosing))
        .count();
    assert_eq!(refused, 1, "the refusal is counted for the statistics");
}

#[tokio::test(start_paused = true)]
async fn clients_still_waiting_at_closing_get_a_closing_notice() {
    // A school Monday: closes at 21:00. One counsellor, busy from 20:20.
    let world = World::at(brussels(2021, 10, 11, 20, 20)).await;
    let _c = world.counsellor("c1", Discipline::SocialWork).await;
    let served = world.student().await;
    let talking = served.handle.clone();
    tokio::spawn(async move {
        // The served student keeps chatting, so the idle prompt does not end the chat.
        for i in 0..20 {
            tokio::time::sleep(Duration::from_secs(4 * 60)).await;
            let _ = talking
                .send(clbchat_core::ids::ClientMsgId::new(format!("m{i}")), "...")
                .await;
        }
    });
    tokio::time::advance(Duration::from_secs(10 * 60)).await;
    // 20:30: the running chat should end in ~9 min, so this client is admitted.
    let mut waiting = world.student().await;
    let notice = wait_for(&mut waiting.events, |e| match e {
        ServerEvent::ClosingNotice { next_opening, .. } => Some(*next_opening),
        _ => None,
    })
    .await;
    assert_eq!(notice, Some(brussels(2021, 10, 12, 17, 0)), "Tuesday 17:00");
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
    assert_eq!(end.at, brussels(2021, 10, 11, 21, 0));
    // The running chat is not cut off by closing time.
    let meta = world
        .store
        .conversation(served.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.state, ConversationState::Active);
}

#[tokio::test(start_paused = true)]
async fn leaving_the_queue_is_recorded_as_abandonment() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let v = world.student().await;
    v.handle.leave().await.unwrap();
    let meta = world
        .store
        .conversation(v.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.end_reason, Some(EndReason::AbandonedInQueue));
    assert_eq!(meta.started_at, None);
    assert_eq!(
        world.engine.availability(&world.desk).unwrap().queue_length,
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_with_a_clear_message_and_disturbs_no_one() {
    let mut desk = clbchat_core::config::DeskConfig::national(DESK, clbchat_calendar());
    desk.limits.max_queue = 2;
    let world = World::with_desk(brussels(2021, 10, 13, 15, 0), desk).await;
    let mut a = world.student().await;
    let _b = world.student().await;
    let err = world
        .arrive(student_profile(false), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QueueFull { limit: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("try again"), "{err}");
    // The waiting clients keep their places.
    let pos = wait_for(&mut a.events, queue_event).await;
    assert_eq!(pos.0, 1);
    assert_eq!(
        world.engine.availability(&world.desk).unwrap().queue_length,
        2
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_desk_and_implausible_input_are_refused_precisely() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let err = world
        .engine
        .arrive(&DeskId::new("nope"), Arrival::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownDesk(_)));
    let bad_token = Arrival {
        visitor_token: Some("x".into()),
        ..Arrival::default()
    };
    let err = world
        .engine
        .arrive(&world.desk, bad_token)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("visitor token"), "{err}");
    let mut old = student_profile(false);
    old.age = Some(140);
    assert!(world
        .arrive(old, None)
        .await
        .unwrap_err()
        .to_string()
        .contains("age"));
}

#[tokio::test(start_paused = true)]
async fn a_first_visit_gets_a_token_to_keep_and_a_returning_one_keeps_its_own() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let first = world.student().await;
    let token = first
        .visitor_token
        .clone()
        .expect("a new visitor gets a token");
    assert!(token.len() >= 22);
    let again = world
        .arrive(student_profile(false), Some(token))
        .await
        .unwrap();
    assert_eq!(
        again.visitor_token, None,
        "a returning visitor keeps the token it has"
    );
}
