//! Messages: the log, acknowledgements after storage, retries stored once, typing,
//! bad input, and a store that is down.

use clbchat_core::event::{Discipline, EventBody, Role, ServerEvent};
use clbchat_core::ids::{ClientMsgId, ConversationId};
use clbchat_core::Error;

use crate::support::*;

fn text_of(b: &EventBody) -> Option<&str> {
    match b {
        EventBody::Message { text, .. } => Some(text),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn messages_are_acknowledged_after_storage_and_arrive_in_order_on_both_sides() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, mut c) = running_chat(&world).await;
    let conv = v.conversation;
    let a1 = v
        .handle
        .send(ClientMsgId::new("v1"), "Hoi, ik heb een vraag")
        .await
        .unwrap();
    let a2 = c
        .handle
        .send(conv, ClientMsgId::new("c1"), "Dag Sam, vertel maar")
        .await
        .unwrap();
    assert_eq!(a2.seq, a1.seq + 1);
    // Acknowledged means stored: the store has both, with these numbers.
    let stored = world.store.events_after(conv, 0).await.unwrap();
    let texts: Vec<(u64, &str)> = stored
        .iter()
        .filter_map(|e| text_of(&e.body).map(|t| (e.seq, t)))
        .collect();
    assert_eq!(
        texts,
        vec![
            (a1.seq, "Hoi, ik heb een vraag"),
            (a2.seq, "Dag Sam, vertel maar")
        ]
    );
    // Each side gets the other's message, with the sender's role and shown name, and not
    // its own: the sender's ack is its place in the log.
    let on_counsellor = wait_log(&mut c.events, |b| text_of(b).is_some()).await;
    assert_eq!(on_counsellor.seq, a1.seq);
    assert!(
        matches!(&on_counsellor.body, EventBody::Message { from: Role::Client, author, .. } if author == "Sam")
    );
    let on_client = wait_log(&mut v.events, |b| text_of(b).is_some()).await;
    assert_eq!(on_client.seq, a2.seq);
    assert!(
        matches!(&on_client.body, EventBody::Message { from: Role::Counsellor, author, .. } if author == "Medewerker c1")
    );
    let a3 = v
        .handle
        .send(ClientMsgId::new("v2"), "Het gaat over school")
        .await
        .unwrap();
    let next_on_counsellor = wait_log(&mut c.events, |b| text_of(b).is_some()).await;
    assert_eq!(
        next_on_counsellor.seq, a3.seq,
        "the counsellor's own message did not come back to her"
    );
    // Sequence numbers have no gaps.
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_gets_the_original_acknowledgement_and_is_stored_once() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, _c) = running_chat(&world).await;
    let first = v
        .handle
        .send(ClientMsgId::new("same"), "Is dit anoniem?")
        .await
        .unwrap();
    let retry = v
        .handle
        .send(ClientMsgId::new("same"), "Is dit anoniem?")
        .await
        .unwrap();
    assert_eq!(first, retry);
    let stored = world.store.events_after(v.conversation, 0).await.unwrap();
    assert_eq!(
        stored.iter().filter(|e| text_of(&e.body).is_some()).count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn when_the_store_is_down_nothing_is_acknowledged_and_nothing_is_lost_after() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, mut c) = running_chat(&world).await;
    world.store.set_unavailable(true);
    let err = v
        .handle
        .send(ClientMsgId::new("v1"), "Hallo?")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    assert!(err.to_string().contains("temporarily impossible"), "{err}");
    world.store.set_unavailable(false);
    // The same message, retried, now goes through, with the next number in the log.
    let ack = v
        .handle
        .send(ClientMsgId::new("v1"), "Hallo?")
        .await
        .unwrap();
    let stored = world.store.events_after(v.conversation, 0).await.unwrap();
    assert_eq!(stored.last().map(|e| e.seq), Some(ack.seq));
    assert_eq!(
        stored.iter().filter(|e| text_of(&e.body).is_some()).count(),
        1
    );
    let seen = wait_log(&mut c.events, |b| text_of(b).is_some()).await;
    assert_eq!(seen.seq, ack.seq);
    // The client saw no message event for the failed attempt.
    let before: Vec<_> = drain(&mut v.events);
    assert!(before
        .iter()
        .all(|e| !matches!(e, ServerEvent::Log(l) if l.seq > ack.seq)));
}

#[tokio::test(start_paused = true)]
async fn typing_is_shown_but_not_logged() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, mut c) = running_chat(&world).await;
    let before = world
        .store
        .events_after(v.conversation, 0)
        .await
        .unwrap()
        .len();
    v.handle.typing().await;
    let role = wait_for(&mut c.events, |e| match e {
        ServerEvent::Typing { role, .. } => Some(*role),
        _ => None,
    })
    .await;
    assert_eq!(role, Role::Client);
    assert_eq!(
        world
            .store
            .events_after(v.conversation, 0)
            .await
            .unwrap()
            .len(),
        before
    );
}

#[tokio::test(start_paused = true)]
async fn bad_messages_get_precise_errors_and_the_chat_goes_on() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, mut c) = running_chat(&world).await;
    let long = "a".repeat(4_001);
    let err = v
        .handle
        .send(ClientMsgId::new("x1"), long)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("longer than 4000 characters"),
        "{err}"
    );
    let err = v
        .handle
        .send(ClientMsgId::new("x2"), "   ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = v
        .handle
        .send(ClientMsgId::new(""), "hoi")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    let ok = v
        .handle
        .send(ClientMsgId::new("x3"), "Sorry, nu wel")
        .await
        .unwrap();
    assert_eq!(
        wait_log(&mut c.events, |b| text_of(b).is_some()).await.seq,
        ok.seq
    );
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_cannot_act_in_a_chat_that_is_not_theirs() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (v, _c) = running_chat(&world).await;
    let other = world.counsellor("c2", Discipline::SocialWork).await;
    let err = other
        .handle
        .send(v.conversation, ClientMsgId::new("m"), "hallo")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotYours(id) if id == v.conversation),
        "{err:?}"
    );
    assert!(matches!(
        other.handle.end(v.conversation).await,
        Err(Error::NotYours(_))
    ));
    let err = other
        .handle
        .send(ConversationId::random(), ClientMsgId::new("m"), "hallo")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownConversation(_)));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_client_cannot_send_yet() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let v = world.student().await;
    let err = v
        .handle
        .send(ClientMsgId::new("m"), "hallo?")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("still waiting"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_commit_whose_answer_was_lost_is_adopted_not_duplicated() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, mut c) = running_chat(&world).await;
    world.store.lose_next_append_answer();
    // Stored, but the engine hears "unavailable": nothing is acknowledged yet.
    let err = v
        .handle
        .send(ClientMsgId::new("v1"), "Zijn jullie er?")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnavailable(_)), "{err:?}");
    // The page retries with the same id: it gets the stored message's acknowledgement.
    let ack = v
        .handle
        .send(ClientMsgId::new("v1"), "Zijn jullie er?")
        .await
        .unwrap();
    let stored = world.store.events_after(v.conversation, 0).await.unwrap();
    let copies: Vec<u64> = stored
        .iter()
        .filter(|e| text_of(&e.body) == Some("Zijn jullie er?"))
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        copies,
        vec![ack.seq],
        "stored once, acknowledged with its own number"
    );
    // Both sides see it once, and the chat goes on with the next number.
    assert_eq!(
        wait_log(&mut c.events, |b| text_of(b).is_some()).await.seq,
        ack.seq
    );
    assert_eq!(
        wait_log(&mut v.events, |b| text_of(b).is_some()).await.seq,
        ack.seq
    );
    let next = c
        .handle
        .send(v.conversation, ClientMsgId::new("c1"), "Ja hoor")
        .await
        .unwrap();
    assert_eq!(next.seq, ack.seq + 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_disconnected_and_resumes_without_loss() {
    let world = World::at(brussels(2021, 10, 13, 15, 0)).await;
    let (mut v, c) = running_chat(&world).await;
    let (conv, token) = (v.conversation, v.resume_token.clone());
    // Everything up to now was read (the helper waited for `Joined`).
    let last_seen = world
        .store
        .events_after(v.conversation, 0)
        .await
        .unwrap()
        .len() as u64;
    // The visitor's page freezes: it reads nothing while the counsellor writes 300 lines,
    // more than its queue holds.
    let mut acks = Vec::new();
    for i in 0..300 {
        acks.push(
            c.handle
                .send(
                    conv,
                    ClientMsgId::new(format!("c{i}")),
                    format!("regel {i}"),
                )
                .await
                .unwrap(),
        );
    }
    // The engine gave up on it rather than buffer without bound…
    while v.events.next().await.is_some() {}
    assert!(
        v.events.was_disconnected(),
        "the slow reader was disconnected"
    );
    // …and on resume it gets every line it missed, once, in order.
    let mut back = world.engine.resume(conv, &token, last_seen).await.unwrap();
    let mut got = Vec::new();
    while got.len() < acks.len() {
        if let Some(ServerEvent::Log(l)) = back.events.next().await {
            if text_of(&l.body).is_some() {
                got.push(l.seq);
            }
        }
    }
    assert_eq!(got, acks.iter().map(|a| a.seq).collect::<Vec<_>>());
}

/// After the end, a message is refused as "the chat has ended" (`invalid_state`, as the
/// protocol says) to whoever was in it; to anyone else the chat stays unknown.
#[tokio::test(start_paused = true)]
async fn a_message_after_the_end_says_the_chat_has_ended() {
    let world = open_world().await;
    let (v, c) = running_chat(&world).await;
    let other = world
        .counsellor("c2", clbchat_core::event::Discipline::Medical)
        .await;
    c.handle.end(v.conversation).await.unwrap();
    settle().await;
    let late = v.handle.send(ClientMsgId::new("late"), "nog iets").await;
    assert!(
        matches!(&late, Err(Error::InvalidState(m)) if m.contains("has ended")),
        "{late:?}"
    );
    let late = c
        .handle
        .send(v.conversation, ClientMsgId::new("late"), "tot ziens")
        .await;
    assert!(matches!(&late, Err(Error::InvalidState(_))), "{late:?}");
    let stranger = other
        .handle
        .send(v.conversation, ClientMsgId::new("x"), "hallo?")
        .await;
    assert!(
        matches!(stranger, Err(Error::UnknownConversation(_))),
        "{stranger:?}"
    );
}
