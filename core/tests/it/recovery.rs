//! A restart: the engine stops, a new one over the same store recovers, and clients resume.

use std::sync::Arc;
use std::time::Duration;

use clbchat_core::account::StaffRole;
use clbchat_core::clock::TokioClock;
use clbchat_core::engine::Recovered;
use clbchat_core::event::{Discipline, DisconnectKind, EndReason, EventBody, ServerEvent};
use clbchat_core::ids::ClientMsgId;
use clbchat_core::store::memory::MemoryStore;

use crate::support::*;

async fn engine(store: Arc<MemoryStore>, auth: Arc<TestAuth>, clock: Arc<TokioClock>) -> World {
    World::over(store, auth, clock).await
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_clients_resume_and_the_time_limit_still_holds() {
    let store = Arc::new(MemoryStore::new());
    let auth = Arc::new(TestAuth::default());
    let clock = Arc::new(TokioClock::starting_at(brussels(2021, 10, 13, 15, 0)));
    let before = engine(store.clone(), auth.clone(), clock.clone()).await;

    // A running chat and a client waiting behind it.
    let (mut v, c) = running_chat(&before).await;
    let conv = v.conversation;
    let started = store
        .conversation(conv)
        .await
        .unwrap()
        .unwrap()
        .started_at
        .unwrap();
    let waiting = before.student().await;
    let ack = v
        .handle
        .send(ClientMsgId::new("v1"), "Ik was iets aan het vertellen")
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(4 * 60)).await;

    // The server stops: everyone is told it restarts.
    before.engine.shutdown().await;
    let kind = wait_for(&mut v.events, |e| match e {
        ServerEvent::Disconnecting { kind, .. } => Some(*kind),
        _ => None,
    })
    .await;
    assert_eq!(kind, DisconnectKind::Restart);
    assert!(v.events.next().await.is_none());
    let (v_token, w_conv, w_token) = (
        v.resume_token.clone(),
        waiting.conversation,
        waiting.resume_token.clone(),
    );
    drop((v, waiting, c)); // the old connections are gone

    // A new engine over the same store picks the live conversations up.
    tokio::time::advance(Duration::from_secs(20)).await;
    let after = engine(store.clone(), auth.clone(), clock.clone()).await;
    assert_eq!(
        after.engine.recover().await.unwrap(),
        Recovered {
            waiting: 1,
            active: 1,
            registrations_due: 0,
        }
    );

    // The client resumes from what it had seen; the counsellor logs in again and rejoins.
    let mut back = after.engine.resume(conv, &v_token, ack.seq).await.unwrap();
    let c2 = after
        .login("c1", StaffRole::Counsellor, Discipline::SocialWork, 1)
        .await;
    c2.handle.go_online(&after.desk, None).await.unwrap();
    let log = c2.handle.rejoin(conv).await.unwrap();
    assert!(log.iter().any(|e| matches!(&e.body, EventBody::Message { text, .. } if text == "Ik was iets aan het vertellen")));
    let reply = c2
        .handle
        .send(conv, ClientMsgId::new("c1"), "Ik ben er nog, ga verder")
        .await
        .unwrap();
    assert!(reply.seq > ack.seq);
    let seen = wait_log(&mut back.events, |b| matches!(b, EventBody::Message { .. })).await;
    assert_eq!(
        seen.seq, reply.seq,
        "nothing it had already seen is sent again"
    );
    // A retry of a message sent before the restart is still recognised.
    let again = back
        .handle
        .send(ClientMsgId::new("v1"), "Ik was iets aan het vertellen")
        .await
        .unwrap();
    assert_eq!(again.seq, ack.seq);

    // The waiting client resumes and keeps its place.
    let mut w = after.engine.resume(w_conv, &w_token, 0).await.unwrap();
    let pos = wait_for(&mut w.events, |e| match e {
        ServerEvent::Queue { position, .. } => Some(*position),
        _ => None,
    })
    .await;
    assert_eq!(pos, 1);

    // The time limit counts from the chat's real start, not from the restart.
    let keep = back.handle.clone();
    tokio::spawn(async move {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_secs(4 * 60)).await;
            let _ = keep.send(ClientMsgId::new(format!("k{i}")), "...").await;
        }
    });
    let end = wait_log(&mut back.events, |b| matches!(b, EventBody::Ended { .. })).await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::TimeLimit
        }
    );
    assert_eq!((end.at - started).num_minutes(), 45);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_does_not_come_back_after_a_restart_ends_as_broken_off() {
    let store = Arc::new(MemoryStore::new());
    let auth = Arc::new(TestAuth::default());
    let clock = Arc::new(TokioClock::starting_at(brussels(2021, 10, 13, 15, 0)));
    let before = engine(store.clone(), auth.clone(), clock.clone()).await;
    let (v, _c) = running_chat(&before).await;
    before.engine.shutdown().await;
    let after = engine(store.clone(), auth.clone(), clock.clone()).await;
    after.engine.recover().await.unwrap();
    let mut observer = after
        .login("cora", StaffRole::Coordinator, Discipline::Medical, 1)
        .await;
    observer.handle.go_online(&after.desk, None).await.unwrap();
    observer.handle.observe(v.conversation).await.unwrap();
    let end = wait_log(&mut observer.events, |b| {
        matches!(b, EventBody::Ended { .. })
    })
    .await;
    assert_eq!(
        end.body,
        EventBody::Ended {
            reason: EndReason::BrokenOff
        }
    );
    let meta = store.conversation(v.conversation).await.unwrap().unwrap();
    assert_eq!(meta.end_reason, Some(EndReason::BrokenOff));
}
