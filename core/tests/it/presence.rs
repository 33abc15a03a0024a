//! Who is really at the desk: a registration left open follows the counsellor to their next
//! login; a counsellor who cannot take chats is counted nowhere (board, wait estimate,
//! coverage); a counsellor whose page closed is shown as disconnected at once and, after the
//! staff grace period, taken offline with their chats back at the head of the queue.

use std::sync::Arc;
use std::time::Duration;

use clbchat_core::account::StaffRole;
use clbchat_core::clock::TokioClock;
use clbchat_core::config::DEFAULT_STAFF_RECONNECT_GRACE;
use clbchat_core::engine::StaffSession;
use clbchat_core::event::{
    CounsellorStatus, CoverageWarning, DeskBoard, Discipline, EventBody, PresenceStatus,
    ServerEvent,
};
use clbchat_core::ids::{ClientMsgId, ConversationId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::memory::MemoryStore;
use clbchat_core::store::Store;
use clbchat_core::Error;

use crate::support::*;

fn form() -> RegistrationForm {
    RegistrationForm {
        client_type: ClientType::Student,
        age: Some(15),
        gender: None,
        topics: vec!["olb.study_choice".into()],
        results: vec![ChatResult::InformationAdvice],
        found_via: None,
        fake_call: false,
    }
}

fn status<'a>(board: &'a DeskBoard, id: &str) -> Option<&'a CounsellorStatus> {
    board.counsellors.iter().find(|c| c.staff.0 == id)
}

fn due_for(events: &[ServerEvent], conversation: ConversationId) -> bool {
    events.iter().any(
        |e| matches!(e, ServerEvent::RegistrationDue { conversation: c } if *c == conversation),
    )
}

async fn queue_estimate(v: &mut clbchat_core::engine::VisitorSession) -> Option<u32> {
    settle().await;
    let mut last = None;
    for e in drain(&mut v.events) {
        if let ServerEvent::Queue {
            estimated_wait_minutes,
            ..
        } = e
        {
            last = Some(estimated_wait_minutes);
        }
    }
    last.expect("a queue update")
}

/// Logs `id` in again (a new page) without going online.
async fn login_again(world: &World, id: &str) -> StaffSession {
    world
        .login(id, StaffRole::Counsellor, Discipline::Medical, 1)
        .await
}

#[tokio::test(start_paused = true)]
async fn a_registration_left_open_is_shown_again_at_the_next_login_and_blocks_nobody_meanwhile() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::Medical).await;
    let first = chat_with(&world, &mut ann).await;
    first.handle.leave().await.unwrap();
    wait_for(&mut ann.events, |e| {
        matches!(e, ServerEvent::RegistrationDue { .. }).then_some(())
    })
    .await;

    // She closes the tab before saving the registration.
    drop(ann);
    settle().await;
    let board = cora.handle.board(&world.desk).unwrap();
    let a = status(&board, "ann").expect("listed while a registration is due");
    assert_eq!(
        (a.status, a.available, a.connected),
        (PresenceStatus::Disconnected, false, false)
    );
    assert_eq!(a.pending_registrations, vec![first.conversation]);
    assert!(board
        .warnings
        .contains(&CoverageWarning::NoMedicalCounsellor));

    // The next student is not told "you are next, about a minute": nobody can take them.
    let mut next = world.student().await;
    assert_eq!(queue_estimate(&mut next).await, None);

    let availability = world.engine.availability(&world.desk).unwrap();
    assert_eq!(availability.estimated_wait_minutes, None);

    // She logs in again: the form comes back before anything else.
    let mut ann = login_again(&world, "ann").await;
    settle().await;
    assert!(
        due_for(&drain(&mut ann.events), first.conversation),
        "the registration left open is shown again at login"
    );
    ann.handle.go_online(&world.desk, None).await.unwrap();
    let board = cora.handle.board(&world.desk).unwrap();
    let a = status(&board, "ann").unwrap();
    assert_eq!(
        (a.status, a.available, a.connected),
        (PresenceStatus::Registering, false, true)
    );
    assert!(
        board
            .warnings
            .contains(&CoverageWarning::NoMedicalCounsellor),
        "a counsellor who cannot take chats does not silence the warning"
    );
    assert_eq!(
        world
            .engine
            .availability(&world.desk)
            .unwrap()
            .estimated_wait_minutes,
        None
    );

    // Registering lets the next student in.
    ann.handle
        .register(first.conversation, form())
        .await
        .unwrap();
    wait_for(&mut ann.events, |e| match e {
        ServerEvent::ChatAssigned { conversation, .. } if *conversation == next.conversation => {
            Some(())
        }
        _ => None,
    })
    .await;
    let board = cora.handle.board(&world.desk).unwrap();
    assert_eq!(status(&board, "ann").unwrap().status, PresenceStatus::Full);
    assert!(!board
        .warnings
        .contains(&CoverageWarning::NoMedicalCounsellor));
}

/// A student already waiting when the only counsellor's page closes is told at once that
/// nobody can say how long it takes (not the old "about 19 minutes").
#[tokio::test(start_paused = true)]
async fn a_waiting_student_hears_at_once_when_the_counsellor_is_gone() {
    let world = open_world().await;
    let (_running, bob) = running_chat(&world).await;
    let mut waiting = world.student().await;
    assert!(queue_estimate(&mut waiting).await.is_some());
    drop(bob);
    assert_eq!(
        queue_estimate(&mut waiting).await,
        None,
        "the estimate without the counsellor who left"
    );
}

#[tokio::test(start_paused = true)]
async fn logging_out_with_a_registration_due_keeps_it() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::Medical).await;
    let first = chat_with(&world, &mut ann).await;
    first.handle.leave().await.unwrap();
    ann.handle.go_offline(&world.desk).await.unwrap();
    drop(ann);
    settle().await;

    let mut ann = login_again(&world, "ann").await;
    settle().await;
    assert!(due_for(&drain(&mut ann.events), first.conversation));
    // Registering before the chat ended says "not yet"; a stranger's says "not yours".
    let bob = world.counsellor("bob", Discipline::SocialWork).await;
    let mut running = world.student().await;
    wait_log(&mut running.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;
    let early = bob.handle.register(running.conversation, form()).await;
    assert!(
        matches!(&early, Err(Error::InvalidState(m)) if m.contains("after it has ended")),
        "{early:?}"
    );
    let stranger = bob.handle.register(first.conversation, form()).await;
    assert!(matches!(stranger, Err(Error::NotYours(_))), "{stranger:?}");
    ann.handle
        .register(first.conversation, form())
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_whose_page_closed_is_disconnected_at_once_and_offline_after_the_grace() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let (mut student, ann) = running_chat(&world).await;
    let conversation = student.conversation;
    student
        .handle
        .send(ClientMsgId::new("m1"), "ik twijfel over mijn studiekeuze")
        .await
        .unwrap();

    drop(ann);
    settle().await;
    let board = cora.handle.board(&world.desk).unwrap();
    let a = status(&board, "c1").unwrap();
    assert_eq!(
        (a.status, a.connected, a.away_secs),
        (PresenceStatus::Disconnected, false, Some(0))
    );
    assert!(
        board
            .warnings
            .iter()
            .any(|w| matches!(w, CoverageWarning::TooFewCounsellors { online: 0, .. })),
        "a disconnected counsellor is not counted online: {:?}",
        board.warnings
    );

    // Just before the grace period ends the chat is still hers.
    tokio::time::advance(DEFAULT_STAFF_RECONNECT_GRACE - Duration::from_secs(1)).await;
    settle().await;
    assert!(!drain(&mut student.events)
        .iter()
        .any(|e| matches!(body(e), Some(EventBody::CounsellorLost { .. }))));
    let board = cora.handle.board(&world.desk).unwrap();
    assert_eq!(board.running.len(), 1);

    // Then the student is told, in the log, and is first in the queue.
    let lost = wait_log(&mut student.events, |b| {
        matches!(b, EventBody::CounsellorLost { .. })
    })
    .await;
    assert!(matches!(&lost.body, EventBody::CounsellorLost { alias } if alias == "Medewerker c1"));
    let position = wait_for(&mut student.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some(*position),
        _ => None,
    })
    .await;
    assert_eq!(position, 1);
    let board = cora.handle.board(&world.desk).unwrap();
    assert!(status(&board, "c1").is_none(), "taken offline: {board:?}");
    assert_eq!((board.queue_length, board.running.len()), (1, 0));
    let meta = world
        .store
        .conversation(conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.counsellor, None);

    // A student who arrives later queues behind; the next counsellor takes the one put back
    // and reads the chat so far.
    let _later = world.student().await;
    let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
    wait_for(&mut bob.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation: c, ..
        } if *c == conversation => Some(()),
        _ => None,
    })
    .await;
    let log = bob.handle.rejoin(conversation).await.unwrap();
    assert!(log.iter().any(
        |e| matches!(&e.body, EventBody::Message { text, .. } if text.contains("studiekeuze"))
    ));
    wait_log(
        &mut student.events,
        |b| matches!(b, EventBody::Joined { alias, .. } if alias == "Medewerker bob"),
    )
    .await;
    student
        .handle
        .send(ClientMsgId::new("m2"), "ben je er nog?")
        .await
        .unwrap();
}

/// A student put back in the queue who then leaves ended a chat that was served: it counts
/// as left by the client, not as abandoned in the queue.
#[tokio::test(start_paused = true)]
async fn leaving_after_being_put_back_counts_as_a_served_chat_left() {
    let world = open_world().await;
    let (mut student, ann) = running_chat(&world).await;
    drop(ann);
    settle().await;
    wait_log(&mut student.events, |b| {
        matches!(b, EventBody::CounsellorLost { .. })
    })
    .await;
    student.handle.leave().await.unwrap();
    let end = wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Ended { .. })
    })
    .await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: clbchat_core::event::EndReason::ClientLeft
        }
    );
    let board = world.engine.board(&world.desk).unwrap();
    assert_eq!(board.queue_length, 0);
}

#[tokio::test(start_paused = true)]
async fn coming_back_within_the_grace_keeps_the_chat() {
    let world = open_world().await;
    let (mut student, ann) = running_chat(&world).await;
    drop(ann);
    settle().await;
    tokio::time::advance(DEFAULT_STAFF_RECONNECT_GRACE / 2).await;
    let ann = world
        .login("c1", StaffRole::Counsellor, Discipline::SocialWork, 1)
        .await;
    tokio::time::advance(DEFAULT_STAFF_RECONNECT_GRACE).await;
    settle().await;
    assert!(!drain(&mut student.events)
        .iter()
        .any(|e| matches!(body(e), Some(EventBody::CounsellorLost { .. }))));
    ann.handle
        .send(
            student.conversation,
            ClientMsgId::new("c"),
            "ik ben er weer",
        )
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_coordinator_finishes_or_releases_the_registrations_of_a_counsellor_who_left() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let mut ann = world
        .login("ann", StaffRole::Counsellor, Discipline::Medical, 2)
        .await;
    ann.handle.go_online(&world.desk, None).await.unwrap();
    let one = chat_with(&world, &mut ann).await;
    let two = chat_with(&world, &mut ann).await;
    one.handle.leave().await.unwrap();
    two.handle.leave().await.unwrap();
    settle().await;
    drop(ann);
    settle().await;
    tokio::time::advance(DEFAULT_STAFF_RECONNECT_GRACE + Duration::from_secs(1)).await;
    settle().await;

    let board = cora.handle.board(&world.desk).unwrap();
    let a = status(&board, "ann").unwrap();
    assert_eq!(a.status, PresenceStatus::Offline);
    let mut pending = vec![one.conversation, two.conversation];
    pending.sort();
    assert_eq!(a.pending_registrations, pending);

    // A counsellor cannot touch them; a coordinator can.
    let bob = world.counsellor("bob", Discipline::SocialWork).await;
    assert!(bob
        .handle
        .release_registration(one.conversation)
        .await
        .is_err());
    cora.handle
        .register(one.conversation, form())
        .await
        .unwrap();
    let saved = world
        .store
        .registration(one.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.counsellor,
        StaffId::new("ann"),
        "recorded under who served"
    );
    cora.handle
        .release_registration(two.conversation)
        .await
        .unwrap();
    assert!(world
        .store
        .registration(two.conversation)
        .await
        .unwrap()
        .is_none());
    let again = cora.handle.release_registration(two.conversation).await;
    assert!(matches!(again, Err(Error::InvalidState(_))), "{again:?}");
    let board = cora.handle.board(&world.desk).unwrap();
    assert!(status(&board, "ann").is_none(), "nothing left: {board:?}");
}

#[tokio::test(start_paused = true)]
async fn a_registration_due_survives_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let auth = Arc::new(TestAuth::default());
    let clock = Arc::new(TokioClock::starting_at(brussels(2021, 10, 13, 15, 0)));
    let before = World::over(store.clone(), auth.clone(), clock.clone()).await;
    let mut ann = before.counsellor("ann", Discipline::Medical).await;
    // Accounts are what recovery knows staff by.
    before.keep_account(&ann.identity).await;
    let first = chat_with(&before, &mut ann).await;
    first.handle.leave().await.unwrap();
    settle().await;
    before.engine.shutdown().await;
    drop(before);

    let after = World::over(store.clone(), auth, clock).await;
    let recovered = after.engine.recover().await.unwrap();
    assert_eq!(recovered.registrations_due, 1);
    let mut ann = login_again(&after, "ann").await;
    settle().await;
    assert!(due_for(&drain(&mut ann.events), first.conversation));
    ann.handle.go_online(&after.desk, None).await.unwrap();
    ann.handle
        .register(first.conversation, form())
        .await
        .unwrap();
}

/// A counsellor logged in twice (the second replaces the first, 4009) who then closes the
/// second page leaves nobody behind on the board.
#[tokio::test(start_paused = true)]
async fn a_replaced_session_leaves_no_ghost() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let first = world.counsellor("ann", Discipline::Medical).await;
    let second = world.counsellor("ann", Discipline::Medical).await;
    settle().await;
    let board = cora.handle.board(&world.desk).unwrap();
    assert_eq!(board.counsellors.iter().filter(|c| c.connected).count(), 1);
    drop(second);
    settle().await;
    drop(first);
    settle().await;
    let board = cora.handle.board(&world.desk).unwrap();
    assert!(status(&board, "ann").is_none(), "a ghost: {board:?}");
}
