//! The first coordinator: a one-time link, then account management over the socket.

use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::event::Discipline;
use clbchat_core::ids::StaffId;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use serde_json::json;

use crate::support::*;

fn token_of(link: &str) -> String {
    link.split("#token=").nth(1).expect("a token").to_owned()
}

async fn post_setup(server: &InProcess, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(server.http("/api/setup"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn login(server: &InProcess, user: &str, password: &str) -> Result<Client, String> {
    let c = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    match c
        .request(ClientFrame::Login {
            username: user.into(),
            password: password.into(),
        })
        .await
    {
        Ok(ServerFrame::LoggedIn { .. }) => Ok(c),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn the_setup_link_creates_the_first_coordinator_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    let link = server
        .setup_link
        .clone()
        .expect("a fresh install prints a link");
    assert!(link.starts_with(&format!("http://{}/setup#token=", server.addr)));
    let token = token_of(&link);
    // As the binary does when stdout is not a terminal: the link in an owner-only file.
    let link_file = clbchat_assembly::files::setup_link_path(&server.shared.settings);
    clbchat_assembly::files::write_secret_file(&link_file, &link).unwrap();

    let (status, body) = post_setup(
        &server,
        json!({"token": "guessed", "username": "kris", "alias": "Kris", "password": "een lang wachtwoord"}),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not valid"));

    // A refused form leaves the link usable.
    let (status, body) = post_setup(
        &server,
        json!({"token": token, "username": "kris", "alias": "Kris", "password": "kort"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at least 10"));

    let (status, body) = post_setup(
        &server,
        json!({"token": token, "username": "kris", "alias": "Kris", "password": "een lang wachtwoord"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["username"], "kris");
    assert!(!link_file.exists(), "the used link's file is removed");

    let (status, body) = post_setup(
        &server,
        json!({"token": token, "username": "kris2", "alias": "Kris", "password": "een lang wachtwoord"}),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("used already"));

    // The coordinator logs in, sees their own account, and adds a counsellor.
    let kris = login(&server, "kris", "een lang wachtwoord").await.unwrap();
    match kris.request(ClientFrame::Accounts {}).await.unwrap() {
        ServerFrame::Accounts { accounts, .. } => {
            assert_eq!(accounts.len(), 1);
            assert_eq!(accounts[0].identity.role, StaffRole::Coordinator);
        }
        other => panic!("{other:?}"),
    }
    let r = kris
        .request(ClientFrame::SaveAccount {
            username: "nina".into(),
            create: true,
            password: Some("nina haar wachtwoord".into()),
            active: true,
            identity: StaffIdentity {
                id: StaffId::new("nina"),
                alias: "Nina".into(),
                role: StaffRole::Counsellor,
                discipline: Discipline::Medical,
                desks: vec![desk()],
                capacity: 2,
                centre: None,
            },
        })
        .await
        .unwrap();
    assert!(matches!(r, ServerFrame::Ok { .. }), "{r:?}");
    let nina = login(&server, "nina", "nina haar wachtwoord")
        .await
        .unwrap();
    // A counsellor cannot manage accounts, and is told so.
    match nina.request(ClientFrame::Accounts {}).await {
        Err(clbchat_transport_ws::Error::Server { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("{other:?}"),
    }
    assert!(login(&server, "nina", "wrong password!").await.is_err());
    server.stop().await;

    // After a restart, a coordinator exists: no link.
    let again = InProcess::start(settings_in(dir.path())).await;
    assert!(again.setup_link.is_none());
    again.stop().await;
}
