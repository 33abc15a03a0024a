//! After the chat: the counsellor's registration (required before the next client) and the
//! client's rating.

use clbchat_core::engine::{StaffSession, VisitorSession};
use clbchat_core::event::{Discipline, EndReason, EventBody, ServerEvent};
use clbchat_core::ids::{ClientMsgId, ConversationId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, FoundVia, Gender, RegistrationForm};
use clbchat_core::store::Store;
use clbchat_core::Error;

use crate::support::{brussels, drain, settle, wait_for, wait_log, World};

async fn open_world() -> World {
    World::at(brussels(2021, 10, 13, 15, 0)).await
}

/// A student arrives and is served by `counsellor` (who must be the one free counsellor).
async fn chat_with(world: &World, counsellor: &mut StaffSession) -> VisitorSession {
    let mut student = world.student().await;
    assigned(counsellor, student.conversation).await;
    wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;
    student
}

async fn assigned(counsellor: &mut StaffSession, conversation: ConversationId) {
    wait_for(&mut counsellor.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation: c, ..
        } if *c == conversation => Some(()),
        _ => None,
    })
    .await;
}

/// The student leaves and the counsellor is told the registration is due.
async fn leave(student: &VisitorSession, counsellor: &mut StaffSession) {
    let conversation = student.conversation;
    student.handle.leave().await.expect("leave");
    wait_for(&mut counsellor.events, |e| match e {
        ServerEvent::RegistrationDue { conversation: c } if *c == conversation => Some(()),
        _ => None,
    })
    .await;
}

fn form(topics: &[&str]) -> RegistrationForm {
    RegistrationForm {
        client_type: ClientType::Student,
        age: Some(16),
        gender: Some(Gender::F),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        results: vec![ChatResult::InformationAdvice, ChatResult::ReferredToClb],
        found_via: Some(FoundVia::Smartschool),
        fake_call: false,
    }
}

fn joined(events: &[ServerEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, ServerEvent::Log(l) if matches!(l.body, EventBody::Joined { .. })))
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_gets_the_next_client_only_after_registering_the_last_chat() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let first = chat_with(&world, &mut ann).await;
    leave(&first, &mut ann).await;

    let mut next = world.student().await;
    let position = wait_for(&mut next.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some(*position),
        _ => None,
    })
    .await;
    assert_eq!(position, 1);
    let board = cora.handle.board(&world.desk).unwrap();
    assert_eq!(board.queue_length, 1);
    assert_eq!(
        (
            board.counsellors[0].load,
            board.counsellors[0].registrations_due
        ),
        (0, 1)
    );

    let refused = ann
        .handle
        .register(first.conversation, form(&["psf.heartbreak"]))
        .await;
    assert!(
        matches!(&refused, Err(Error::Invalid(m)) if m.contains("psf.heartbreak")),
        "{refused:?}"
    );
    assert!(world
        .store
        .registration(first.conversation)
        .await
        .unwrap()
        .is_none());
    settle().await;
    assert!(
        !joined(&drain(&mut next.events)),
        "served before the registration"
    );
    assert_eq!(cora.handle.board(&world.desk).unwrap().queue_length, 1);

    ann.handle
        .register(
            first.conversation,
            form(&["psf.in_love", "olb.study_choice"]),
        )
        .await
        .unwrap();
    assigned(&mut ann, next.conversation).await;
    wait_log(&mut next.events, |b| matches!(b, EventBody::Joined { .. })).await;

    let stored = world
        .store
        .registration(first.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.counsellor, StaffId::new("ann"));
    assert_eq!(stored.topics, ["psf.in_love", "olb.study_choice"]);
    assert_eq!(
        stored.results,
        [ChatResult::InformationAdvice, ChatResult::ReferredToClb]
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_counsellor_of_a_finished_chat_can_register_it() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let bob = world.counsellor("bob", Discipline::SocialWork).await;

    // Not while it runs (the answer says "not yet", not "not yours")…
    let early = ann
        .handle
        .register(student.conversation, form(&["psf.family"]))
        .await;
    assert!(
        matches!(&early, Err(Error::InvalidState(m)) if m.contains("after it has ended")),
        "{early:?}"
    );
    leave(&student, &mut ann).await;
    // …and not by a colleague.
    let other = bob
        .handle
        .register(student.conversation, form(&["psf.family"]))
        .await;
    assert!(
        matches!(other, Err(Error::NotYours(c)) if c == student.conversation),
        "{other:?}"
    );
    assert!(world
        .store
        .registration(student.conversation)
        .await
        .unwrap()
        .is_none());

    ann.handle
        .register(student.conversation, form(&["psf.family"]))
        .await
        .unwrap();
    let stored = world
        .store
        .registration(student.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.counsellor, StaffId::new("ann"));
}

#[tokio::test(start_paused = true)]
async fn a_chat_is_registered_only_once() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    leave(&student, &mut ann).await;

    ann.handle
        .register(student.conversation, form(&["psf.bullying"]))
        .await
        .unwrap();
    let again = ann
        .handle
        .register(student.conversation, form(&["ls.motivation"]))
        .await;
    assert!(again.is_err(), "a second registration was accepted");
    let stored = world
        .store
        .registration(student.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.topics, ["psf.bullying"]);
}

/// A served chat that the counsellor has ended; the client has seen the end.
async fn ended_chat(world: &World) -> VisitorSession {
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(world, &mut ann).await;
    student
        .handle
        .send(ClientMsgId::new("s1"), "Dank je!")
        .await
        .unwrap();
    ann.handle.end(student.conversation).await.unwrap();
    let ended = wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Ended { .. })
    })
    .await;
    assert_eq!(
        ended.body,
        EventBody::Ended {
            reason: EndReason::CounsellorEnded
        }
    );
    student
}

#[tokio::test(start_paused = true)]
async fn the_client_rates_the_ended_chat_once_with_a_comment() {
    let world = open_world().await;
    let student = ended_chat(&world).await;

    student
        .handle
        .rate(5, Some("Heel fijn, ik weet nu wat te doen.".into()))
        .await
        .unwrap();
    let rating = world
        .store
        .rating(student.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rating.stars, 5);
    assert_eq!(
        rating.comment.as_deref(),
        Some("Heel fijn, ik weet nu wat te doen.")
    );

    let again = student.handle.rate(1, None).await;
    assert!(matches!(again, Err(Error::InvalidState(_))), "{again:?}");
    let rating = world
        .store
        .rating(student.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rating.stars, 5, "the first rating stands");
}

#[tokio::test(start_paused = true)]
async fn stars_outside_one_to_five_are_refused() {
    let world = open_world().await;
    let student = ended_chat(&world).await;

    for stars in [0, 6] {
        let refused = student.handle.rate(stars, None).await;
        assert!(
            matches!(refused, Err(Error::Invalid(_))),
            "{stars} stars: {refused:?}"
        );
    }
    assert!(world
        .store
        .rating(student.conversation)
        .await
        .unwrap()
        .is_none());
    // A refused attempt does not use up the one rating.
    student.handle.rate(1, None).await.unwrap();
    let rating = world
        .store
        .rating(student.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((rating.stars, rating.comment), (1, None));
}

#[tokio::test(start_paused = true)]
async fn a_chat_cannot_be_rated_before_it_ends() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;

    let early = student.handle.rate(4, None).await;
    assert!(matches!(early, Err(Error::InvalidState(_))), "{early:?}");
    assert!(world
        .store
        .rating(student.conversation)
        .await
        .unwrap()
        .is_none());
}
