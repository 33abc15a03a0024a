//! Transfers: inside the desk to a named colleague or a discipline (with a handover note only
//! staff see), and out of it, with the client's consent, to a partner organisation's line.

use clbchat_core::event::{Discipline, EndReason, EventBody, Role, ServerEvent, TransferTarget};
use clbchat_core::ids::{ClientMsgId, ConversationId, StaffId};
use clbchat_core::store::{ConversationState, Store};
use clbchat_core::Error;

use crate::support::{
    body, chat_with, drain, events_until, is_message_with, mentions, open_world, wait_for,
    wait_log, World, PARTNER,
};

const NOTE: &str = "Vraag over de pil; ze is 15 en ongerust. Graag medisch advies.";
const SUMMARY: &str =
    "Leerling (15) voelt zich thuis niet gehoord en wil over haar rechten praten.";

fn staff(id: &str) -> StaffId {
    StaffId::new(id)
}

fn msg(id: &str) -> ClientMsgId {
    ClientMsgId::new(id)
}

fn load_of(board: &clbchat_core::event::DeskBoard, id: &str) -> u32 {
    board
        .counsellors
        .iter()
        .find(|c| c.staff == staff(id))
        .unwrap_or_else(|| panic!("{id} is not on the board"))
        .load
}

async fn stored_state(world: &World, conversation: ConversationId) -> ConversationState {
    world
        .store
        .conversation(conversation)
        .await
        .expect("store")
        .expect("stored")
        .state
}

#[tokio::test(start_paused = true)]
async fn a_transfer_to_a_medical_colleague_moves_the_chat_and_the_note_stays_among_staff() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut mia = world.counsellor("mia", Discipline::Medical).await;
    let cora = world.coordinator("cora").await;

    let before = cora.handle.board(&world.desk).unwrap();
    assert_eq!((load_of(&before, "ann"), load_of(&before, "mia")), (1, 0));

    let target = TransferTarget::Colleague {
        staff: staff("mia"),
    };
    let asked = ann.handle.transfer(conv, target, NOTE).await.unwrap();
    assert_eq!(asked, staff("mia"));
    let (from, note) = wait_for(&mut mia.events, |e| match e {
        ServerEvent::TransferRequested {
            conversation,
            from,
            note,
        } if *conversation == conv => Some((from.clone(), note.clone())),
        _ => None,
    })
    .await;
    assert_eq!(from, staff("ann"));
    assert_eq!(note, NOTE);

    mia.handle.answer_transfer(conv, true).await.unwrap();
    let mut client_saw = events_until(&mut student.events, |e| {
        matches!(body(e), Some(EventBody::Joined { .. }))
    })
    .await;
    let shown: Vec<&EventBody> = client_saw.iter().filter_map(body).collect();
    assert_eq!(
        shown,
        [
            &EventBody::Left {
                role: Role::Counsellor,
                alias: "Medewerker ann".into()
            },
            &EventBody::Joined {
                role: Role::Counsellor,
                alias: "Medewerker mia".into()
            },
        ]
    );

    mia.handle
        .send(conv, msg("m1"), "Dag Sam, ik ben verpleegkundige.")
        .await
        .unwrap();
    client_saw.extend(
        events_until(&mut student.events, |e| {
            is_message_with(e, "Dag Sam, ik ben verpleegkundige.")
        })
        .await,
    );
    let refused = ann.handle.send(conv, msg("a9"), "Ben je er nog?").await;
    assert!(
        matches!(refused, Err(Error::NotYours(c)) if c == conv),
        "{refused:?}"
    );

    // Neither live nor on resume does the client get the handover note.
    let mut resumed = world
        .engine
        .resume(conv, &student.resume_token, 0)
        .await
        .unwrap();
    let replay = drain(&mut resumed.events);
    assert!(replay
        .iter()
        .any(|e| is_message_with(e, "Dag Sam, ik ben verpleegkundige.")));
    client_saw.extend(replay);
    assert!(
        !mentions(&client_saw, NOTE),
        "the client saw the handover note: {client_saw:?}"
    );
    assert!(!client_saw.iter().filter_map(body).any(|b| matches!(
        b,
        EventBody::TransferOffered { .. } | EventBody::TransferAccepted { .. }
    )));

    let after = cora.handle.board(&world.desk).unwrap();
    assert_eq!((load_of(&after, "ann"), load_of(&after, "mia")), (0, 1));
    let running = after
        .running
        .iter()
        .find(|r| r.conversation == conv)
        .unwrap();
    assert_eq!(running.counsellor, Some(staff("mia")));
}

#[tokio::test(start_paused = true)]
async fn the_counsellor_who_handed_over_is_told_that_the_colleague_accepted() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mia = world.counsellor("mia", Discipline::Medical).await;

    let target = TransferTarget::Colleague {
        staff: staff("mia"),
    };
    ann.handle.transfer(conv, target, NOTE).await.unwrap();
    mia.handle.answer_transfer(conv, true).await.unwrap();
    // Once the client sees the new counsellor join, the handover is complete.
    wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;

    // Without this, ann's screen still shows a chat that is no longer hers.
    let told = drain(&mut ann.events);
    let accepted = EventBody::TransferAccepted {
        from: staff("ann"),
        to: staff("mia"),
    };
    assert!(
        told.iter().any(|e| body(e) == Some(&accepted)),
        "ann was not told that mia accepted; she got {told:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_transfer_to_the_medical_discipline_asks_the_free_medical_counsellor() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    // A medical colleague who is busy, a free social worker and a free medical colleague.
    let mut lea = world.counsellor("lea", Discipline::Medical).await;
    let _other_student = chat_with(&world, &mut lea).await;
    let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
    let mut mia = world.counsellor("mia", Discipline::Medical).await;

    let target = TransferTarget::Discipline {
        discipline: Discipline::Medical,
    };
    let asked = ann.handle.transfer(conv, target, NOTE).await.unwrap();
    assert_eq!(asked, staff("mia"));
    wait_for(&mut mia.events, |e| match e {
        ServerEvent::TransferRequested { conversation, .. } if *conversation == conv => Some(()),
        _ => None,
    })
    .await;
    for (who, events) in [("lea", &mut lea.events), ("bob", &mut bob.events)] {
        let offered = drain(events)
            .into_iter()
            .any(|e| matches!(e, ServerEvent::TransferRequested { .. }));
        assert!(!offered, "{who} was offered the chat too");
    }

    mia.handle.answer_transfer(conv, false).await.unwrap();
    let declined = wait_log(&mut ann.events, |b| {
        matches!(b, EventBody::TransferDeclined { .. })
    })
    .await;
    assert_eq!(
        declined.body,
        EventBody::TransferDeclined { by: staff("mia") }
    );

    // The chat stays with ann.
    ann.handle
        .send(conv, msg("a1"), "Ik blijf bij je, Sam.")
        .await
        .unwrap();
    let client_saw = events_until(&mut student.events, |e| {
        is_message_with(e, "Ik blijf bij je, Sam.")
    })
    .await;
    assert!(!client_saw.iter().filter_map(body).any(|b| matches!(
        b,
        EventBody::TransferDeclined { .. } | EventBody::Left { .. } | EventBody::Joined { .. }
    )));
    let refused = mia.handle.send(conv, msg("m1"), "Hallo").await;
    assert!(matches!(refused, Err(Error::NotYours(_))), "{refused:?}");
    let log = world.store.events_after(conv, 0).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.body == EventBody::TransferDeclined { by: staff("mia") }));
}

#[tokio::test(start_paused = true)]
async fn a_colleague_at_capacity_cannot_be_offered_a_chat() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
    let _bobs_student = chat_with(&world, &mut bob).await;

    let target = TransferTarget::Colleague {
        staff: staff("bob"),
    };
    let refused = ann.handle.transfer(conv, target, NOTE).await;
    match refused {
        Err(Error::OverCapacity {
            staff: who,
            capacity,
        }) => {
            assert_eq!((who, capacity), (staff("bob"), 1));
        }
        other => panic!("expected OverCapacity, got {other:?}"),
    }
    assert!(!drain(&mut bob.events)
        .iter()
        .any(|e| matches!(e, ServerEvent::TransferRequested { .. })));
    ann.handle
        .send(conv, msg("a1"), "Nog even geduld.")
        .await
        .unwrap();
    wait_for(&mut student.events, |e| {
        is_message_with(e, "Nog even geduld.").then_some(())
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn with_consent_the_chat_continues_at_the_partner_line_with_the_summary() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;

    ann.handle
        .offer_partner(conv, PARTNER, SUMMARY)
        .await
        .unwrap();
    let offer = wait_log(&mut student.events, |b| {
        matches!(b, EventBody::PartnerOffered { .. })
    })
    .await;
    assert_eq!(
        offer.body,
        EventBody::PartnerOffered {
            partner: PARTNER.into(),
            partner_name: "Nu praat ik erover".into(),
            summary: SUMMARY.into(),
        },
        "the client sees what would be passed on before consenting"
    );
    assert!(
        world.partner.received().is_empty(),
        "nothing crosses over before consent"
    );

    student.handle.answer_partner(true).await.unwrap();
    let received = world.partner.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        (received[0].conversation, received[0].summary.as_str()),
        (conv, SUMMARY)
    );

    let continue_at = wait_for(&mut student.events, |e| match body(e) {
        Some(EventBody::TransferredOut { continue_at, .. }) => Some(continue_at.clone()),
        _ => None,
    })
    .await;
    assert!(
        continue_at.starts_with("https://partner.example/chat"),
        "{continue_at}"
    );
    let ended = wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Ended { .. })
    })
    .await;
    assert_eq!(
        ended.body,
        EventBody::Ended {
            reason: EndReason::TransferredOut
        }
    );

    let meta = world.store.conversation(conv).await.unwrap().unwrap();
    assert_eq!(meta.state, ConversationState::Ended);
    assert_eq!(meta.end_reason, Some(EndReason::TransferredOut));
}

#[tokio::test(start_paused = true)]
async fn without_consent_nothing_reaches_the_partner_and_the_chat_goes_on() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;

    ann.handle
        .offer_partner(conv, PARTNER, SUMMARY)
        .await
        .unwrap();
    student.handle.answer_partner(false).await.unwrap();
    assert!(world.partner.received().is_empty());

    let answer = wait_log(&mut ann.events, |b| {
        matches!(b, EventBody::PartnerConsent { .. })
    })
    .await;
    assert_eq!(
        answer.body,
        EventBody::PartnerConsent {
            partner: PARTNER.into(),
            consent: false
        }
    );
    student
        .handle
        .send(msg("s1"), "Ik praat liever hier verder.")
        .await
        .unwrap();
    wait_for(&mut ann.events, |e| {
        is_message_with(e, "Ik praat liever hier verder.").then_some(())
    })
    .await;
    assert_eq!(stored_state(&world, conv).await, ConversationState::Active);
}

#[tokio::test(start_paused = true)]
async fn a_partner_line_that_refuses_leaves_the_chat_running() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    world
        .partner
        .refuse_with(Some("alle medewerkers zijn bezet"));

    ann.handle
        .offer_partner(conv, PARTNER, SUMMARY)
        .await
        .unwrap();
    let refused = student.handle.answer_partner(true).await;
    match refused {
        Err(Error::Partner { partner, message }) => {
            assert_eq!(partner, PARTNER);
            assert!(message.contains("alle medewerkers zijn bezet"), "{message}");
        }
        other => panic!("expected a partner error, got {other:?}"),
    }
    assert!(world.partner.received().is_empty());
    // The counsellor is told too, with the partner's reason, so they can take it from here.
    let failed = wait_for(&mut ann.events, |e| match body(e) {
        Some(EventBody::PartnerFailed { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(failed.contains("alle medewerkers zijn bezet"), "{failed}");

    student.handle.send(msg("s1"), "En nu?").await.unwrap();
    wait_for(&mut ann.events, |e| {
        is_message_with(e, "En nu?").then_some(())
    })
    .await;
    assert_eq!(stored_state(&world, conv).await, ConversationState::Active);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_partner_line_cannot_be_offered() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;

    let refused = ann.handle.offer_partner(conv, "awel", SUMMARY).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(m)) if m.contains("awel")),
        "{refused:?}"
    );
    // Nothing was proposed, so there is nothing to consent to.
    let consent = student.handle.answer_partner(true).await;
    assert!(
        matches!(consent, Err(Error::InvalidState(_))),
        "{consent:?}"
    );
    assert!(world.partner.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_colleague_who_filled_up_before_accepting_cannot_take_it_and_the_offer_is_off() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut bob = world.counsellor("bob", Discipline::SocialWork).await;
    ann.handle
        .transfer(
            conv,
            TransferTarget::Colleague {
                staff: staff("bob"),
            },
            "graag overnemen",
        )
        .await
        .unwrap();
    wait_for(&mut bob.events, |e| {
        matches!(e, ServerEvent::TransferRequested { .. }).then_some(())
    })
    .await;
    // Meanwhile a new client fills bob's only slot.
    let _other = world.student().await;
    wait_for(&mut bob.events, |e| {
        matches!(e, ServerEvent::ChatAssigned { .. }).then_some(())
    })
    .await;
    let refused = bob.handle.answer_transfer(conv, true).await;
    assert!(
        matches!(refused, Err(Error::OverCapacity { .. })),
        "{refused:?}"
    );
    // Ann is told and keeps the chat; she may offer it again (here: to a coordinator).
    wait_for(&mut ann.events, |e| {
        matches!(body(e), Some(EventBody::TransferDeclined { .. })).then_some(())
    })
    .await;
    ann.handle
        .send(conv, msg("a9"), "Ik blijf bij je.")
        .await
        .unwrap();
    let _coordinator = world.coordinator("cora").await;
    ann.handle
        .transfer(conv, TransferTarget::Coordinator, "toch even kijken")
        .await
        .unwrap();
}
