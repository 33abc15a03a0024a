//! Time limits, the idle prompt, and the reconnect grace period, on paused time.

use std::time::Duration;

use clbchat_core::event::{Discipline, EndReason, EventBody, ServerEvent};
use clbchat_core::ids::ClientMsgId;
use clbchat_core::Error;

use crate::support::*;

/// Keeps the client active so the idle timer does not interfere.
async fn chat_for(v: &clbchat_core::engine::VisitorHandle, minutes: u64) {
    for i in 0..minutes {
        tokio::time::sleep(Duration::from_secs(60)).await;
        if v.send(ClientMsgId::new(format!("k{i}")), "...")
            .await
            .is_err()
        {
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_chat_ends_at_45_minutes_after_warnings_at_35_and_40() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, mut c) = running_chat(&world).await;
    let started = world
        .store
        .conversation(v.conversation)
        .await
        .unwrap()
        .unwrap()
        .started_at
        .unwrap();
    let handle = v.handle.clone();
    let talk = chat_for(&handle, 50);
    let watch = async {
        let w1 = wait_log(&mut v.events, |b| {
            matches!(b, EventBody::TimeWarning { .. })
        })
        .await;
        let w2 = wait_log(&mut v.events, |b| {
            matches!(b, EventBody::TimeWarning { .. })
        })
        .await;
        let end = wait_log(&mut v.events, |b| matches!(b, EventBody::Ended { .. })).await;
        (w1, w2, end)
    };
    let ((w1, w2, end), ()) = tokio::join!(watch, talk);
    assert_eq!(w1.body, EventBody::TimeWarning { minutes_left: 10 });
    assert_eq!((w1.at - started).num_minutes(), 35);
    assert_eq!(w2.body, EventBody::TimeWarning { minutes_left: 5 });
    assert_eq!((w2.at - started).num_minutes(), 40);
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::TimeLimit
        }
    );
    assert_eq!((end.at - started).num_minutes(), 45);
    // The counsellor got the same warnings and end, and owes a registration.
    let due = wait_for(&mut c.events, |e| match e {
        ServerEvent::RegistrationDue { conversation } => Some(*conversation),
        _ => None,
    })
    .await;
    assert_eq!(due, v.conversation);
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_may_extend_once_with_a_reason_that_only_staff_see() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, c) = running_chat(&world).await;
    let conv = v.conversation;
    let started = world
        .store
        .conversation(conv)
        .await
        .unwrap()
        .unwrap()
        .started_at
        .unwrap();
    assert!(c
        .handle
        .extend(conv, "  ")
        .await
        .unwrap_err()
        .to_string()
        .contains("reason"));
    c.handle
        .extend(conv, "leerling met zelfmoordgedachten, nog niet veilig")
        .await
        .unwrap();
    let err = c.handle.extend(conv, "nog eens").await.unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err:?}");

    let handle = v.handle.clone();
    let talk = chat_for(&handle, 70);
    let watch = async {
        let ext = wait_log(&mut v.events, |b| matches!(b, EventBody::Extended { .. })).await;
        let end = wait_log(&mut v.events, |b| matches!(b, EventBody::Ended { .. })).await;
        (ext, end)
    };
    let ((ext, end), ()) = tokio::join!(watch, talk);
    assert_eq!(ext.body, EventBody::Extended { minutes: 15 });
    assert_eq!((end.at - started).num_minutes(), 60);
    // The reason is in the log for staff, and never reached the client.
    let log = world.store.events_after(conv, 0).await.unwrap();
    assert!(log.iter().any(|e| matches!(&e.body, EventBody::ExtensionReason { reason, .. } if reason.contains("zelfmoord"))));
    let resumed_view: Vec<_> = drain(&mut v.events);
    assert!(resumed_view.iter().all(
        |e| !matches!(e, ServerEvent::Log(l) if matches!(l.body, EventBody::ExtensionReason { .. }))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_student_typing_at_the_limit_is_not_cut_off_mid_sentence() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, _c) = running_chat(&world).await;
    let started = world
        .store
        .conversation(v.conversation)
        .await
        .unwrap()
        .unwrap()
        .started_at
        .unwrap();
    let typing = async {
        // Type every 5 s through the last minute before the limit.
        tokio::time::sleep(Duration::from_secs(44 * 60)).await;
        for _ in 0..30 {
            v.handle.typing().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    };
    let handle = v.handle.clone();
    let keep_alive = async {
        for i in 0..44 {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let _ = handle.send(ClientMsgId::new(format!("k{i}")), "...").await;
        }
    };
    let end = async { wait_log(&mut v.events, |b| matches!(b, EventBody::Ended { .. })).await };
    let (end, (), ()) = tokio::join!(end, typing, keep_alive);
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::TimeLimit
        }
    );
    assert_eq!(
        (end.at - started).num_seconds(),
        46 * 60,
        "one minute of grace, once"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_is_prompted_and_then_the_chat_ends_as_abandoned() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, _c) = running_chat(&world).await;
    // The acknowledgement is the message's place in the log (no echo for the sender).
    let spoke = v
        .handle
        .send(ClientMsgId::new("hi"), "Hallo")
        .await
        .unwrap();
    let prompt = wait_log(&mut v.events, |b| matches!(b, EventBody::IdlePrompt)).await;
    assert_eq!((prompt.at - spoke.at).num_minutes(), 5);
    let end = wait_log(&mut v.events, |b| matches!(b, EventBody::Ended { .. })).await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::Abandoned
        }
    );
    assert_eq!((end.at - prompt.at).num_minutes(), 3);
}

/// A student who waited long and was away from the screen when their turn came is not
/// closed eight minutes later: the first answer gets a quarter of an hour.
#[tokio::test(start_paused = true)]
async fn a_client_away_when_the_chat_began_gets_longer_to_answer_first() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, _c) = running_chat(&world).await;
    let started = world
        .store
        .conversation(v.conversation)
        .await
        .unwrap()
        .unwrap()
        .started_at
        .unwrap();
    let prompt = wait_log(&mut v.events, |b| matches!(b, EventBody::IdlePrompt)).await;
    assert_eq!((prompt.at - started).num_minutes(), 5);
    let end = wait_log(&mut v.events, |b| matches!(b, EventBody::Ended { .. })).await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::Abandoned
        }
    );
    assert_eq!(
        (end.at - started).num_minutes(),
        i64::try_from(clbchat_core::config::DEFAULT_FIRST_REPLY_WAIT.as_secs() / 60).unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_back_after_the_prompt_keeps_the_chat() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, _c) = running_chat(&world).await;
    wait_log(&mut v.events, |b| matches!(b, EventBody::IdlePrompt)).await;
    // Ten minutes after the join (the old rule had closed it at eight), the student is back.
    tokio::time::advance(std::time::Duration::from_secs(5 * 60)).await;
    v.handle
        .send(ClientMsgId::new("back"), "Sorry, ik was even weg")
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn answering_the_idle_prompt_keeps_the_chat_going() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, _c) = running_chat(&world).await;
    wait_log(&mut v.events, |b| matches!(b, EventBody::IdlePrompt)).await;
    v.handle
        .send(ClientMsgId::new("here"), "Ja, ik ben er nog")
        .await
        .unwrap();
    // The next thing to happen is a new prompt after five quiet minutes, not the end.
    let next = wait_log(&mut v.events, |b| {
        matches!(b, EventBody::IdlePrompt | EventBody::Ended { .. })
    })
    .await;
    assert_eq!(next.body, EventBody::IdlePrompt);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_client_resumes_within_grace_and_gets_exactly_what_it_missed() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, mut c) = running_chat(&world).await;
    let conv = v.conversation;
    let token = v.resume_token.clone();
    let ack = v
        .handle
        .send(ClientMsgId::new("v1"), "Mijn batterij is bijna leeg")
        .await
        .unwrap();
    // Its own message comes as the ack, after everything before it: seen up to its seq.
    let last_seen = ack.seq;

    drop(v); // the phone loses its connection
    wait_log(&mut c.events, |b| {
        matches!(b, EventBody::ClientReconnecting)
    })
    .await;
    let m1 = c
        .handle
        .send(conv, ClientMsgId::new("c1"), "Ben je er nog?")
        .await
        .unwrap();
    let m2 = c
        .handle
        .send(conv, ClientMsgId::new("c2"), "Ik wacht even")
        .await
        .unwrap();

    tokio::time::advance(Duration::from_secs(90)).await; // within the 2-minute grace
    let mut back = world.engine.resume(conv, &token, last_seen).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        match back.events.next().await {
            Some(ServerEvent::Log(e)) => got.push(e),
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
    let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
    // Missed: reconnecting notice (logged), the two messages; then live: resumed.
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, no gap: {seqs:?}"
    );
    assert!(seqs.contains(&m1.seq) && seqs.contains(&m2.seq));
    assert!(
        seqs.iter().all(|s| *s > last_seen),
        "nothing it had already seen"
    );
    wait_log(&mut c.events, |b| matches!(b, EventBody::ClientResumed)).await;
    // The chat goes on.
    back.handle
        .send(ClientMsgId::new("v2"), "Sorry, ik ben terug")
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_does_not_come_back_within_grace_ends_as_broken_off() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, mut c) = running_chat(&world).await;
    let (conv, token) = (v.conversation, v.resume_token.clone());
    drop(v);
    let away = wait_log(&mut c.events, |b| {
        matches!(b, EventBody::ClientReconnecting)
    })
    .await;
    let end = wait_log(&mut c.events, |b| matches!(b, EventBody::Ended { .. })).await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::BrokenOff
        }
    );
    assert_eq!((end.at - away.at).num_seconds(), 120);
    let err = world.engine.resume(conv, &token, 0).await.unwrap_err();
    assert!(matches!(err, Error::ResumeRefused(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_resume_token_is_refused_and_disturbs_nothing() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, mut c) = running_chat(&world).await;
    let err = world
        .engine
        .resume(v.conversation, "not-the-token-at-all-000000", 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    v.handle
        .send(ClientMsgId::new("still"), "nog steeds hier")
        .await
        .unwrap();
    let got = wait_log(&mut c.events, |b| matches!(b, EventBody::Message { .. })).await;
    assert!(
        matches!(&got.body, EventBody::Message { text, .. } if text == "nog steeds hier"),
        "the counsellor still gets the visitor's message: {got:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_client_keeps_its_place_while_reconnecting() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let _busy = world.counsellor("c1", Discipline::SocialWork).await;
    let _first = world.student().await;
    let second = world.student().await;
    let mut third = world.student().await;
    let (conv, token) = (second.conversation, second.resume_token.clone());
    drop(second);
    tokio::time::advance(Duration::from_secs(60)).await;
    let mut back = world.engine.resume(conv, &token, 0).await.unwrap();
    let pos = wait_for(&mut back.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some(*position),
        _ => None,
    })
    .await;
    assert_eq!(pos, 1);
    let third_pos = wait_for(&mut third.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some(*position),
        _ => None,
    })
    .await;
    assert_eq!(third_pos, 2);
}
