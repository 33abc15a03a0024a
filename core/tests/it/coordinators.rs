//! Coordinators: the desk board with coverage warnings, live observation (an audited read),
//! whispers that never reach the client, taking a chat over, and audited transcript reads.

use std::time::Duration;

use clbchat_core::event::{CoverageWarning, DeskBoard, Discipline, EventBody, Role, ServerEvent};
use clbchat_core::ids::{ClientMsgId, StaffId};
use clbchat_core::review::ReadPurpose;
use clbchat_core::store::Store;
use clbchat_core::Error;

use crate::support::{
    body, chat_with, drain, events_until, is_message_with, open_world, wait_for, wait_log,
};

fn is_whisper(e: &ServerEvent) -> bool {
    matches!(body(e), Some(EventBody::Whisper { .. }))
}

fn staff(id: &str) -> StaffId {
    StaffId::new(id)
}

fn msg(id: &str) -> ClientMsgId {
    ClientMsgId::new(id)
}

/// (staff, discipline, load) for each counsellor on the board, in the board's order.
fn roster(board: &DeskBoard) -> Vec<(String, Discipline, u32)> {
    board
        .counsellors
        .iter()
        .map(|c| (c.staff.0.clone(), c.discipline, c.load))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_board_shows_counsellors_the_queue_the_longest_wait_and_running_chats() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let served = chat_with(&world, &mut ann).await;
    let _waiting_longest = world.student().await;

    tokio::time::advance(Duration::from_secs(3 * 60)).await;
    let _waiting_shorter = world.student().await;
    tokio::time::advance(Duration::from_secs(60)).await;

    let board = cora.handle.board(&world.desk).unwrap();
    assert!(board.open);
    assert_eq!(
        roster(&board),
        [("ann".into(), Discipline::PsychoPedagogical, 1)]
    );
    assert_eq!(board.queue_length, 2);
    assert_eq!(
        board.longest_wait_secs / 60,
        4,
        "{}",
        board.longest_wait_secs
    );
    assert_eq!(board.running.len(), 1);
    assert_eq!(board.running[0].conversation, served.conversation);
    assert_eq!(board.running[0].counsellor, Some(staff("ann")));
    assert_eq!(board.running[0].minutes, 4);

    // A social worker and a nurse come online and take the two waiting clients.
    let _bob = world.counsellor("bob", Discipline::SocialWork).await;
    let _mia = world.counsellor("mia", Discipline::Medical).await;
    let board = cora.handle.board(&world.desk).unwrap();
    let mut team = roster(&board);
    team.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        team,
        [
            ("ann".into(), Discipline::PsychoPedagogical, 1),
            ("bob".into(), Discipline::SocialWork, 1),
            ("mia".into(), Discipline::Medical, 1),
        ]
    );
    assert_eq!((board.queue_length, board.longest_wait_secs), (0, 0));
    assert_eq!(board.running.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn coverage_warnings_last_until_three_counsellors_including_a_medical_one_are_online() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let warnings = || cora.handle.board(&world.desk).unwrap().warnings;

    let _ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    assert_eq!(
        warnings(),
        [
            CoverageWarning::TooFewCounsellors {
                online: 1,
                minimum: 3
            },
            CoverageWarning::NoMedicalCounsellor,
        ]
    );
    let _bob = world.counsellor("bob", Discipline::SocialWork).await;
    let _cas = world.counsellor("cas", Discipline::Paramedical).await;
    assert_eq!(warnings(), [CoverageWarning::NoMedicalCounsellor]);

    let _mia = world.counsellor("mia", Discipline::Medical).await;
    assert_eq!(warnings(), []);
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_cannot_see_the_board() {
    let world = open_world().await;
    let ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let refused = ann.handle.board(&world.desk);
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
}

#[tokio::test(start_paused = true)]
async fn observing_returns_the_chat_so_far_is_audited_and_then_follows_it_live() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut cora = world.coordinator("cora").await;
    student
        .handle
        .send(msg("s1"), "Ik word gepest op school.")
        .await
        .unwrap();

    let so_far = cora.handle.observe(conv).await.unwrap();
    assert!(so_far.iter().any(|e| matches!(
        &e.body,
        EventBody::Message { text, .. } if text == "Ik word gepest op school."
    )));
    let reads = world.store.transcript_reads(conv).await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].reader, staff("cora"));
    assert_eq!(reads[0].purpose, "observation");

    student
        .handle
        .send(msg("s2"), "Al sinds september.")
        .await
        .unwrap();
    ann.handle
        .send(conv, msg("a1"), "Dat is lang. Wie weet ervan?")
        .await
        .unwrap();
    wait_for(&mut cora.events, |e| {
        is_message_with(e, "Al sinds september.").then_some(())
    })
    .await;
    wait_for(&mut cora.events, |e| {
        is_message_with(e, "Dat is lang. Wie weet ervan?").then_some(())
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_coordinators_whisper_reaches_the_counsellor_but_never_the_client() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let cora = world.coordinator("cora").await;
    cora.handle.observe(conv).await.unwrap();

    let whisper = "Vraag of de school al iets weet.";
    cora.handle.whisper(conv, whisper).await.unwrap();
    let heard = wait_log(&mut ann.events, |b| matches!(b, EventBody::Whisper { .. })).await;
    assert_eq!(
        heard.body,
        EventBody::Whisper {
            from: staff("cora"),
            role: Role::Coordinator,
            text: whisper.into()
        }
    );

    ann.handle
        .send(conv, msg("a1"), "Weet iemand op school het al?")
        .await
        .unwrap();
    let live = events_until(&mut student.events, |e| {
        is_message_with(e, "Weet iemand op school het al?")
    })
    .await;
    assert!(!live.iter().any(is_whisper), "{live:?}");

    let mut resumed = world
        .engine
        .resume(conv, &student.resume_token, 0)
        .await
        .unwrap();
    let replay = drain(&mut resumed.events);
    assert!(replay
        .iter()
        .any(|e| is_message_with(e, "Weet iemand op school het al?")));
    assert!(!replay.iter().any(is_whisper), "{replay:?}");
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_who_whispers_for_help_brings_a_coordinator_in() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut cora = world.coordinator("cora").await;

    let help = "Ze spreekt over zelfmoordgedachten, kan iemand meelezen?";
    ann.handle.whisper(conv, help).await.unwrap();
    let heard = wait_log(&mut cora.events, |b| matches!(b, EventBody::Whisper { .. })).await;
    assert_eq!(
        heard.body,
        EventBody::Whisper {
            from: staff("ann"),
            role: Role::Counsellor,
            text: help.into()
        }
    );

    // The coordinator now follows the chat, and the client never saw the call for help.
    ann.handle
        .send(conv, msg("a1"), "Ik ben er voor je.")
        .await
        .unwrap();
    let live = events_until(&mut student.events, |e| {
        is_message_with(e, "Ik ben er voor je.")
    })
    .await;
    assert!(!live.iter().any(is_whisper), "{live:?}");
    wait_for(&mut cora.events, |e| {
        is_message_with(e, "Ik ben er voor je.").then_some(())
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn whispering_for_help_with_no_coordinator_online_is_refused() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;

    let refused = ann.handle.whisper(conv, "Kan iemand meelezen?").await;
    assert!(
        matches!(refused, Err(Error::InvalidState(_))),
        "{refused:?}"
    );
    let log = world.store.events_after(conv, 0).await.unwrap();
    assert!(!log
        .iter()
        .any(|e| matches!(e.body, EventBody::Whisper { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_coordinator_takes_a_chat_over_from_its_counsellor() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let cora = world.coordinator("cora").await;

    cora.handle.take_over(conv).await.unwrap();
    let seen = events_until(&mut student.events, |e| {
        matches!(body(e), Some(EventBody::Joined { .. }))
    })
    .await;
    let shown: Vec<&EventBody> = seen.iter().filter_map(body).collect();
    assert_eq!(
        shown,
        [
            &EventBody::Left {
                role: Role::Counsellor,
                alias: "Medewerker ann".into()
            },
            &EventBody::Joined {
                role: Role::Coordinator,
                alias: "Medewerker cora".into()
            },
        ]
    );

    let refused = ann.handle.send(conv, msg("a1"), "Hallo?").await;
    assert!(
        matches!(refused, Err(Error::NotYours(c)) if c == conv),
        "{refused:?}"
    );
    cora.handle
        .send(conv, msg("c1"), "Ik neem het even over, Sam.")
        .await
        .unwrap();
    let said = wait_for(&mut student.events, |e| match body(e) {
        Some(EventBody::Message { from, text, .. }) if text == "Ik neem het even over, Sam." => {
            Some(*from)
        }
        _ => None,
    })
    .await;
    assert_eq!(said, Role::Coordinator);
}

#[tokio::test(start_paused = true)]
async fn the_counsellor_is_told_when_a_coordinator_takes_the_chat_over() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let mut student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let cora = world.coordinator("cora").await;

    cora.handle.take_over(conv).await.unwrap();
    // Once the client sees the coordinator join, the take-over is complete.
    wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;

    // Without this, ann's screen still shows a chat that is no longer hers.
    let told = drain(&mut ann.events);
    let taken = EventBody::TakenOver {
        by: staff("cora"),
        from: Some(staff("ann")),
    };
    assert!(
        told.iter().any(|e| body(e) == Some(&taken)),
        "ann was not told that cora took over; she got {told:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_coordinator_brought_in_by_a_call_for_help_is_an_audited_reader() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let mut cora = world.coordinator("cora").await;

    ann.handle
        .whisper(conv, "Kan iemand meelezen?")
        .await
        .unwrap();
    student
        .handle
        .send(msg("s1"), "Ik durf het niet thuis te zeggen.")
        .await
        .unwrap();
    // cora now reads the chat live, as an observer does…
    wait_for(&mut cora.events, |e| {
        is_message_with(e, "Ik durf het niet thuis te zeggen.").then_some(())
    })
    .await;
    // …so, as for an observer, the read is on record.
    let reads = world.store.transcript_reads(conv).await.unwrap();
    assert!(
        reads.iter().any(|r| r.reader == staff("cora")),
        "cora reads the chat without an audit row: {reads:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn reading_a_transcript_for_a_chat_scan_is_audited_with_its_purpose() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let cora = world.coordinator("cora").await;
    student
        .handle
        .send(msg("s1"), "Welke richting moet ik kiezen?")
        .await
        .unwrap();
    student.handle.leave().await.unwrap();

    let transcript = cora
        .handle
        .read_transcript(conv, ReadPurpose::ChatScan, Some("nieuwe medewerker"))
        .await
        .unwrap();
    assert!(transcript.iter().any(|e| matches!(
        &e.body,
        EventBody::Message { text, .. } if text == "Welke richting moet ik kiezen?"
    )));
    let reads = world.store.transcript_reads(conv).await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (reads[0].reader.clone(), reads[0].purpose.as_str()),
        (staff("cora"), "chat_scan: nieuwe medewerker")
    );
}

#[tokio::test(start_paused = true)]
async fn a_counsellor_reads_only_their_own_chat_and_only_for_feedback() {
    let world = open_world().await;
    let mut ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let student = chat_with(&world, &mut ann).await;
    let conv = student.conversation;
    let bob = world.counsellor("bob", Discipline::SocialWork).await;
    student.handle.leave().await.unwrap();

    let refused = ann
        .handle
        .read_transcript(conv, ReadPurpose::ChatScan, None)
        .await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
    let refused = bob
        .handle
        .read_transcript(conv, ReadPurpose::Feedback, None)
        .await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
    assert!(world.store.transcript_reads(conv).await.unwrap().is_empty());
    ann.handle
        .read_transcript(conv, ReadPurpose::Feedback, None)
        .await
        .expect("her own chat, for feedback");
    let reads = world.store.transcript_reads(conv).await.unwrap();
    assert_eq!(
        reads
            .iter()
            .map(|r| (r.reader.0.as_str(), r.purpose.as_str()))
            .collect::<Vec<_>>(),
        [("ann", "feedback")]
    );
}
