//! Blended chat's appointments through the engine, on tokio's paused clock: what a
//! counsellor may plan, the client's link before, during and after the session, the
//! stand-in, moving, cancelling and a new link, and the lists.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clbchat_core::appointment::{AppointmentStatus, Booking, LinkState};
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::appointments::Which;
use clbchat_core::engine::{Arrival, StaffSession};
use clbchat_core::event::{DisconnectKind, EventBody, ServerEvent};
use clbchat_core::ids::{ClientMsgId, StaffId};
use clbchat_core::review::ReadPurpose;
use clbchat_core::Error;

use crate::support::*;

/// Thursday 10 March 2022, 9:00 in Brussels.
fn nine() -> DateTime<Utc> {
    brussels(2022, 3, 10, 9, 0)
}

async fn blended() -> World {
    World::with_desk(nine(), DeskConfig::blended("blended", "Blended chat")).await
}

fn booking(h: u32, m: u32, length: u32) -> Booking {
    Booking {
        client_name: "Lotte Peeters".into(),
        note: Some("  over de overstap naar het vijfde jaar  ".into()),
        starts_at: brussels(2022, 3, 10, h, m),
        length_minutes: length,
        stand_in: None,
        trajectory: None,
    }
}

async fn plan(world: &World, who: &StaffSession, b: &Booking) -> clbchat_core::Result<String> {
    who.handle
        .plan_appointment(&world.desk, b)
        .await
        .map(|(_, token)| token)
}

async fn join(
    world: &World,
    token: &str,
) -> clbchat_core::Result<clbchat_core::engine::VisitorSession> {
    world
        .engine
        .arrive(
            &world.desk,
            Arrival {
                appointment: Some(token.to_owned()),
                ..Arrival::default()
            },
        )
        .await
}

fn assigned(e: &ServerEvent) -> Option<clbchat_core::ids::ConversationId> {
    match e {
        ServerEvent::ChatAssigned { conversation, .. } => Some(*conversation),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_planned_session_is_stored_with_its_link_hashed_and_its_note_trimmed() {
    let world = blended().await;
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let (a, token) = ann
        .handle
        .plan_appointment(&world.desk, &booking(10, 0, 45))
        .await
        .unwrap();
    assert_eq!(a.counsellor, StaffId::new("ann"));
    assert_eq!(a.centre.0, "clb-gent");
    assert_eq!(
        a.note.as_deref(),
        Some("over de overstap naar het vijfde jaar")
    );
    assert!(token.len() >= 32, "an unguessable token: {token}");
    assert_ne!(a.token_hash, token, "only the hash is kept");
    assert!(!a.token_hash.contains(&token));
    assert_eq!(world.store.appointment(a.id).await.unwrap(), Some(a));
}

#[tokio::test(start_paused = true)]
async fn bad_bookings_are_refused_with_what_is_wrong() {
    let world = blended().await;
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let _cas = world.centre_counsellor("cas", "clb-brugge", false).await;
    let _bea = world.centre_counsellor("bea", "clb-gent", false).await;
    plan(&world, &ann, &booking(10, 0, 45)).await.unwrap();
    let cases: Vec<(Booking, &str, &str)> = vec![
        (booking(8, 0, 45), "invalid", "in the past"),
        (booking(11, 0, 0), "invalid", "at least one minute"),
        (booking(11, 0, 121), "invalid", "at most 120 minutes"),
        (
            Booking {
                client_name: "   ".into(),
                ..booking(11, 0, 30)
            },
            "invalid",
            "name is missing",
        ),
        (
            booking(10, 30, 30),
            "invalid_state",
            "already has an appointment",
        ),
        (
            booking(9, 30, 31),
            "invalid_state",
            "already has an appointment",
        ),
        (
            Booking {
                stand_in: Some(StaffId::new("cas")),
                ..booking(11, 0, 30)
            },
            "invalid",
            "not a colleague of centre `clb-gent`",
        ),
        (
            Booking {
                stand_in: Some(StaffId::new("nobody")),
                ..booking(11, 0, 30)
            },
            "invalid",
            "not a colleague",
        ),
        (
            Booking {
                stand_in: Some(StaffId::new("ann")),
                ..booking(11, 0, 30)
            },
            "invalid",
            "themself",
        ),
    ];
    for (b, code, words) in cases {
        let e = plan(&world, &ann, &b).await.unwrap_err();
        assert_eq!(e.code(), code, "{b:?}: {e}");
        assert!(e.to_string().contains(words), "{b:?}: {e}");
    }
    // Right after the first one is fine; so is a stand-in of the same centre.
    plan(
        &world,
        &ann,
        &Booking {
            stand_in: Some(StaffId::new("bea")),
            ..booking(10, 45, 30)
        },
    )
    .await
    .unwrap();
    // The stand-in cannot be in two places either.
    let bea = world.centre_counsellor("bea2", "clb-gent", false).await;
    let e = plan(
        &world,
        &bea,
        &Booking {
            stand_in: Some(StaffId::new("bea")),
            ..booking(11, 0, 30)
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("bea already has"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn staff_without_a_centre_or_outside_the_team_cannot_plan() {
    let world = blended().await;
    let loose = world
        .counsellor("loose", clbchat_core::event::Discipline::SocialWork)
        .await;
    let e = plan(&world, &loose, &booking(10, 0, 30)).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("no centre"), "{e}");
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let e = ann
        .handle
        .plan_appointment(
            &clbchat_core::ids::DeskId::new("elsewhere"),
            &booking(10, 0, 30),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown_desk", "{e}");
}

#[tokio::test(start_paused = true)]
async fn the_link_opens_fifteen_minutes_before_and_the_counsellor_gets_the_chat_at_once() {
    let world = blended().await;
    let mut ann = world.centre_counsellor("ann", "clb-gent", true).await;
    let token = plan(&world, &ann, &booking(10, 0, 45)).await.unwrap();
    let a = world
        .store
        .appointments(&Default::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.link_state(nine()), LinkState::TooEarly);
    assert_eq!(a.link_state(brussels(2022, 3, 10, 9, 45)), LinkState::Open);
    assert_eq!(a.link_state(brussels(2022, 3, 10, 10, 45)), LinkState::Over);
    match join(&world, &token).await {
        Err(Error::Closed { next_opening, .. }) => {
            assert_eq!(next_opening, Some(brussels(2022, 3, 10, 9, 45)))
        }
        other => panic!("too early: {other:?}"),
    }
    assert!(join(&world, "mistyped")
        .await
        .unwrap_err()
        .to_string()
        .contains("not valid"));
    tokio::time::advance(Duration::from_secs(45 * 60)).await;
    let client = join(&world, &token)
        .await
        .expect("the waiting room is open");
    assert_eq!(
        wait_for(&mut ann.events, assigned).await,
        client.conversation
    );
    let held = world.store.appointment(a.id).await.unwrap().unwrap();
    assert_eq!(
        held.conversations,
        vec![client.conversation],
        "the trajectory finds the chat"
    );
    // After the end the link says so.
    tokio::time::advance(Duration::from_secs(60 * 60)).await;
    let e = join(&world, &token).await.unwrap_err();
    assert_eq!(e.code(), "invalid_state");
    assert!(e.to_string().contains("is over"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn the_stand_in_gets_the_chat_when_the_counsellor_is_not_there_and_nobody_else_does() {
    let world = blended().await;
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let mut bea = world.centre_counsellor("bea", "clb-gent", true).await;
    let mut dirk = world.centre_counsellor("dirk", "clb-gent", true).await;
    let token = plan(
        &world,
        &ann,
        &Booking {
            stand_in: Some(StaffId::new("bea")),
            ..booking(9, 30, 30)
        },
    )
    .await
    .unwrap();
    tokio::time::advance(Duration::from_secs(20 * 60)).await;
    let client = join(&world, &token).await.unwrap();
    assert_eq!(
        wait_for(&mut bea.events, assigned).await,
        client.conversation
    );
    assert!(drain(&mut dirk.events)
        .iter()
        .all(|e| assigned(e).is_none()));
    // The stand-in sees it in their list; they may not change it.
    let listed = bea.handle.appointments(Which::Coming).await.unwrap();
    assert_eq!(listed.len(), 1);
    let e = bea
        .handle
        .cancel_appointment(listed[0].id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
}

#[tokio::test(start_paused = true)]
async fn moving_keeps_the_link_cancelling_closes_it_and_a_new_link_replaces_the_old() {
    let world = blended().await;
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let cas = world.centre_counsellor("cas", "clb-brugge", false).await;
    let (a, token) = ann
        .handle
        .plan_appointment(&world.desk, &booking(9, 10, 30))
        .await
        .unwrap();
    let moved = ann
        .handle
        .reschedule_appointment(a.id, &booking(14, 0, 60))
        .await
        .unwrap();
    assert_eq!(moved.starts_at, brussels(2022, 3, 10, 14, 0));
    assert_eq!(moved.token_hash, a.token_hash, "the client's link stays");
    // Staff of another centre neither see nor touch it.
    assert!(cas
        .handle
        .appointments(Which::Coming)
        .await
        .unwrap()
        .is_empty());
    for e in [
        cas.handle.cancel_appointment(a.id).await.unwrap_err(),
        cas.handle
            .reschedule_appointment(a.id, &booking(15, 0, 30))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "invalid", "{e}");
    }
    let (_, fresh) = ann.handle.new_appointment_link(a.id).await.unwrap();
    tokio::time::advance(Duration::from_secs(5 * 3600)).await;
    let e = join(&world, &token).await.unwrap_err();
    assert!(e.to_string().contains("not valid"), "the old link: {e}");
    let cancelled = ann.handle.cancel_appointment(a.id).await.unwrap();
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
    let e = join(&world, &fresh).await.unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    // Coming: none; past: the cancelled one.
    assert!(ann
        .handle
        .appointments(Which::Coming)
        .await
        .unwrap()
        .is_empty());
    let past = ann.handle.appointments(Which::Past).await.unwrap();
    assert_eq!(past.iter().map(|p| p.id).collect::<Vec<_>>(), vec![a.id]);
}

#[tokio::test(start_paused = true)]
async fn a_second_session_continues_the_trajectory_of_the_same_client_within_the_centre() {
    let world = blended().await;
    let ann = world.centre_counsellor("ann", "clb-gent", false).await;
    let cas = world.centre_counsellor("cas", "clb-brugge", false).await;
    let (first, _) = ann
        .handle
        .plan_appointment(&world.desk, &booking(10, 0, 30))
        .await
        .unwrap();
    let next = Booking {
        trajectory: Some(first.trajectory),
        ..booking(15, 0, 30)
    };
    let (second, _) = ann
        .handle
        .plan_appointment(&world.desk, &next)
        .await
        .unwrap();
    assert_eq!(second.trajectory, first.trajectory);
    let e = cas
        .handle
        .plan_appointment(&world.desk, &next)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no trajectory"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_second_phone_takes_the_session_over_and_the_first_is_told() {
    let world = blended().await;
    let mut ann = world.centre_counsellor("ann", "clb-gent", true).await;
    let token = plan(&world, &ann, &booking(9, 10, 30)).await.unwrap();
    let mut first = join(&world, &token).await.unwrap();
    assert_eq!(
        wait_for(&mut ann.events, assigned).await,
        first.conversation
    );
    first
        .handle
        .send(ClientMsgId::new("p1"), "Hallo vanaf mijn gsm")
        .await
        .unwrap();

    let mut second = join(&world, &token).await.expect("the link opens again");
    assert_eq!(
        second.conversation, first.conversation,
        "the same chat, not a second one"
    );
    // The first connection is told and closed.
    while first.events.next().await.is_some() {}
    assert!(
        matches!(
            first.events.disconnect_reason(),
            Some((DisconnectKind::Replaced, _))
        ),
        "{:?}",
        first.events.disconnect_reason()
    );
    // The second reads the chat so far and goes on.
    wait_log(
        &mut second.events,
        |b| matches!(b, EventBody::Message { text, .. } if text == "Hallo vanaf mijn gsm"),
    )
    .await;
    second
        .handle
        .send(ClientMsgId::new("p2"), "Nu op de laptop")
        .await
        .unwrap();
    wait_log(
        &mut ann.events,
        |b| matches!(b, EventBody::Message { text, .. } if text == "Nu op de laptop"),
    )
    .await;
    settle().await;
    assert!(
        drain(&mut ann.events).iter().all(|e| assigned(e).is_none()),
        "no second chat for the counsellor"
    );
    // The old resume token no longer works; the new one does.
    let old = world
        .engine
        .resume(first.conversation, &first.resume_token, 0)
        .await
        .unwrap_err();
    assert_eq!(old.code(), "resume_refused");
}

/// Who may read a trajectory's earlier sessions, as one rule: the counsellor and the
/// stand-in of one of its sessions, of its centre; nobody else. Every read is audited.
#[tokio::test(start_paused = true)]
async fn a_trajectory_is_read_by_its_own_counsellors_only_and_every_read_is_audited() {
    let world = blended().await;
    let mut ann = world.centre_counsellor("ann", "clb-gent", true).await;
    let bea = world.centre_counsellor("bea", "clb-gent", false).await;
    let dirk = world.centre_counsellor("dirk", "clb-gent", false).await;
    let cas = world.centre_counsellor("cas", "clb-brugge", false).await;
    let (first, token) = ann
        .handle
        .plan_appointment(&world.desk, &booking(9, 10, 30))
        .await
        .unwrap();
    let client = join(&world, &token).await.unwrap();
    assert_eq!(
        wait_for(&mut ann.events, assigned).await,
        client.conversation
    );
    client
        .handle
        .send(ClientMsgId::new("t1"), "Ik twijfel nog over de richting.")
        .await
        .unwrap();
    // The next session, with Bea as stand-in.
    ann.handle
        .plan_appointment(
            &world.desk,
            &Booking {
                trajectory: Some(first.trajectory),
                stand_in: Some(StaffId::new("bea")),
                ..booking(15, 0, 30)
            },
        )
        .await
        .unwrap();

    for (who, allowed) in [(&ann, true), (&bea, true), (&dirk, false), (&cas, false)] {
        let r = who.handle.trajectory(first.trajectory).await;
        let name = &who.handle.identity().id;
        if allowed {
            let sessions = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sessions.len(), 2, "{name}");
            assert!(
                sessions[0].log.iter().any(|e| matches!(
                    &e.body,
                    EventBody::Message { text, .. } if text == "Ik twijfel nog over de richting."
                )),
                "{name} reads the first session"
            );
            assert!(
                sessions[1].log.is_empty(),
                "the next session has not been held"
            );
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.code(), "forbidden", "{name}: {e}");
        }
    }
    let reads = world
        .store
        .transcript_reads(client.conversation)
        .await
        .unwrap();
    let readers: Vec<&str> = reads.iter().map(|r| r.reader.0.as_str()).collect();
    assert_eq!(
        readers,
        vec!["ann", "bea"],
        "one audit row per read, refused ones none"
    );
    assert!(reads
        .iter()
        .all(|r| r.purpose == ReadPurpose::Trajectory.describe(None)));
}

/// A client whose chat ended during the session (a dead battery, a closed tab) comes back
/// through the same link: a new chat with the same counsellor, and the trajectory reads both.
#[tokio::test(start_paused = true)]
async fn a_client_who_comes_back_during_the_session_gets_a_new_chat_and_the_trajectory_keeps_both()
{
    let world = blended().await;
    let mut ann = world.centre_counsellor("ann", "clb-gent", true).await;
    let (a, token) = ann
        .handle
        .plan_appointment(&world.desk, &booking(9, 10, 45))
        .await
        .unwrap();
    let first = join(&world, &token).await.unwrap();
    assert_eq!(
        wait_for(&mut ann.events, assigned).await,
        first.conversation
    );
    first
        .handle
        .send(ClientMsgId::new("b1"), "Mijn batterij is bijna leeg.")
        .await
        .unwrap();
    first.handle.leave().await.unwrap();
    wait_log(&mut ann.events, |b| matches!(b, EventBody::Ended { .. })).await;

    let second = join(&world, &token)
        .await
        .expect("the link still opens during the session");
    assert_ne!(second.conversation, first.conversation, "a new chat");
    assert_eq!(
        wait_for(&mut ann.events, assigned).await,
        second.conversation,
        "with the same counsellor, at once"
    );
    second
        .handle
        .send(ClientMsgId::new("b2"), "Ik ben er terug.")
        .await
        .unwrap();
    wait_log(
        &mut ann.events,
        |b| matches!(b, EventBody::Message { text, .. } if text == "Ik ben er terug."),
    )
    .await;
    let held = world.store.appointment(a.id).await.unwrap().unwrap();
    assert_eq!(
        held.conversations,
        vec![first.conversation, second.conversation]
    );
    let sessions = ann.handle.trajectory(a.trajectory).await.unwrap();
    let texts: Vec<&str> = sessions[0]
        .log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Message { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec!["Mijn batterij is bijna leeg.", "Ik ben er terug."],
        "the session reads as one, in order"
    );
}
