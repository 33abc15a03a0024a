//! Rotating the pseudonym key: a returning visitor's history follows them to the new key.

use std::sync::Arc;

use clbchat_core::account::StaffRole;
use clbchat_core::clock::TokioClock;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine};
use clbchat_core::event::{Discipline, ServerEvent};
use clbchat_core::flags::FlagKind;
use clbchat_core::pseudonym::{PseudonymKey, Pseudonymizer, VisitorToken};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::memory::MemoryStore;

use crate::support::*;

async fn engine(store: Arc<MemoryStore>, auth: Arc<TestAuth>, keys: Pseudonymizer) -> Engine {
    let engine = Engine::builder(store)
        .clock(Arc::new(TokioClock::starting_at(brussels(
            2021, 10, 13, 15, 0,
        ))))
        .authenticator(auth)
        .pseudonyms(keys)
        .build();
    engine
        .add_desk(DeskConfig::national(DESK, clbchat_calendar()))
        .await
        .unwrap();
    engine
}

#[tokio::test(start_paused = true)]
async fn after_a_key_rotation_a_flagged_visitor_is_still_recognised() {
    let store = Arc::new(MemoryStore::new());
    let auth = Arc::new(TestAuth::default());
    let old_key = PseudonymKey::generate("k1");
    let token = VisitorToken::generate().expose().to_owned();
    let arrival = || Arrival {
        visitor_token: Some(token.clone()),
        ..Arrival::default()
    };
    let desk = clbchat_core::ids::DeskId::new(DESK);

    // Before the rotation: a prank, registered as a suspected fake call.
    let before = engine(
        store.clone(),
        auth.clone(),
        Pseudonymizer::new(old_key.clone()),
    )
    .await;
    let world = World {
        engine: before.clone(),
        store: store.clone(),
        auth: auth.clone(),
        desk: desk.clone(),
        partner: clbchat_core::partner::RecordingPartner::new("p", "p", "p"),
    };
    let mut c = world
        .login("c1", StaffRole::Counsellor, Discipline::SocialWork, 1)
        .await;
    c.handle.go_online(&desk, None).await.unwrap();
    let v = before.arrive(&desk, arrival()).await.unwrap();
    wait_for(&mut c.events, |e| {
        matches!(e, ServerEvent::ChatAssigned { .. }).then_some(())
    })
    .await;
    v.handle.leave().await.unwrap();
    let form = RegistrationForm {
        client_type: ClientType::Student,
        age: None,
        gender: None,
        topics: vec!["psf.family".into()],
        results: vec![ChatResult::BrokenOff],
        found_via: None,
        fake_call: true,
    };
    c.handle.register(v.conversation, form).await.unwrap();
    before.shutdown().await;
    drop(c);

    // After the rotation: a new current key, the old one kept for recognition.
    let keys = Pseudonymizer::with_previous(PseudonymKey::generate("k2"), vec![old_key]);
    let after = engine(store.clone(), auth.clone(), keys).await;
    let world = World {
        engine: after.clone(),
        store: store.clone(),
        auth,
        desk: desk.clone(),
        partner: clbchat_core::partner::RecordingPartner::new("p", "p", "p"),
    };
    let mut c = world
        .login("c2", StaffRole::Counsellor, Discipline::SocialWork, 1)
        .await;
    c.handle.go_online(&desk, None).await.unwrap();
    let back = after.arrive(&desk, arrival()).await.unwrap();
    let history = wait_for(&mut c.events, |e| match e {
        ServerEvent::ChatAssigned { history, .. } => Some(history.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        history.chats_in_window, 1,
        "the earlier chat counts under the new key"
    );
    assert!(history
        .flags
        .iter()
        .any(|f| f.kind == FlagKind::SuspectedFakeCall));
    // The history now lives under the new key's pseudonym.
    let meta = store
        .conversation(back.conversation)
        .await
        .unwrap()
        .unwrap();
    let pseudonym = meta.pseudonym.unwrap();
    assert!(pseudonym.0.starts_with("k2:"));
    assert_eq!(store.flags_for(&pseudonym).await.unwrap().len(), 1);
}
