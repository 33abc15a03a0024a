//! What the protocol tests share: a server of the centres on a real SQLite file, staff
//! accounts, and a client that asks and waits for answers and events.

use std::path::Path;

use clbchat_assembly::app::{App, Running};
use clbchat_assembly::testing::staff_account;
use clbchat_core::account::StaffRole;
use clbchat_core::centre::Centre;
use clbchat_core::ids::CentreId;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::tokio_tungstenite::tungstenite::Message;
use serde_json::{json, Value};

/// Every test account's password.
pub(crate) const PASSWORD: &str = "een lang wachtwoord";

/// A server of the centres' chatboxes on a SQLite file in `dir`.
pub(crate) async fn start(dir: &Path) -> Running {
    start_tuned(dir, |_| {}).await
}

/// [`start`] with settings changed by `tune`.
pub(crate) async fn start_tuned(
    dir: &Path,
    tune: impl FnOnce(&mut clbchat_assembly::settings::Settings),
) -> Running {
    let mut s = chat_met_je_clb::defaults();
    s.server.listen = "127.0.0.1:0".parse().unwrap();
    s.storage.url = format!("sqlite://{}", dir.join("cmjc.db").display());
    s.pseudonyms.key_file = dir.join("keys.toml");
    // Some 40 frames in a burst from one connection: not what the rate limit is for.
    s.server.frames_per_second = 1_000;
    s.server.frame_burst = 1_000;
    tune(&mut s);
    let parts = chat_met_je_clb::SERVICE.parts(&s).unwrap();
    App::start_with(s, parts).await.unwrap().spawn()
}

/// An account of `role` on one centre's desk.
pub(crate) async fn account(server: &Running, id: &str, role: StaffRole, desk: &str) {
    put_staff(server, id, role, Some(desk)).await;
}

/// The sector's administrator: every centre's accounts and figures, no team.
pub(crate) async fn administrator(server: &Running, id: &str) {
    put_staff(server, id, StaffRole::Administrator, None).await;
}

async fn put_staff(server: &Running, id: &str, role: StaffRole, desk: Option<&str>) {
    let desks: Vec<&str> = desk.into_iter().collect();
    server
        .shared
        .store
        .put_account(&staff_account(id, role, &desks, desk, PASSWORD))
        .await
        .unwrap();
}

/// A client of the server's socket.
pub(crate) async fn connect(server: &Running) -> Client {
    let port = server.addr.port();
    Client::connect(
        &format!("ws://127.0.0.1:{port}/ws"),
        Some(&format!("http://127.0.0.1:{port}")),
    )
    .await
    .unwrap()
}

/// Sends a frame and gives its answer (events on the way are passed over).
pub(crate) async fn ask(c: &mut Client, frame: &Value) -> Value {
    let mut frame = frame.clone();
    frame["req"] = json!(99);
    c.send_raw(Message::text(frame.to_string())).await.unwrap();
    loop {
        match c.next_frame().await {
            Some(f) if f.req() == Some(99) => return serde_json::to_value(&f).unwrap(),
            Some(_) => continue,
            None => panic!("closed before answering {frame}: {:?}", c.close_reason()),
        }
    }
}

/// A client logged in as `user`.
pub(crate) async fn login(server: &Running, user: &str) -> Client {
    let mut c = connect(server).await;
    let answer = ask(
        &mut c,
        &json!({"type": "login", "username": user, "password": PASSWORD}),
    )
    .await;
    assert_eq!(answer["type"], "logged_in", "{answer}");
    c
}

/// Waits for a pushed event of `kind` and gives it (the event itself).
pub(crate) async fn event(c: &mut Client, kind: &str) -> Value {
    loop {
        let f = c.next_frame().await.expect("the connection stays");
        let v = serde_json::to_value(&f).unwrap();
        if v["type"] == "event" && v["event"]["event"] == kind {
            return v["event"].clone();
        }
    }
}

/// Creates a centre while the server runs, as the sector's administrator does.
pub(crate) async fn add_centre(server: &Running, id: &str, name: &str) {
    let centre = Centre {
        id: CentreId::new(id),
        name: name.into(),
        origins: Vec::new(),
        created_at: chrono::Utc::now(),
    };
    server.shared.store.put_centre(&centre).await.unwrap();
    server.shared.host_centre(&centre).await.unwrap();
}
