//! Centres by hand, over the protocol against a real server: the sector's administrator
//! adds a centre and renames it; its box is there at once and its coordinator opens it. A
//! centre imported while the server runs is there when its staff log in. Nobody else adds
//! or changes centres, and a bad centre is refused with what is wrong.

use chrono::{Duration, Utc};
use clbchat_core::account::StaffRole;
use clbchat_core::centre::Centre;
use clbchat_core::ids::CentreId;
use serde_json::{json, Value};

use crate::support::*;

async fn centres(server: &clbchat_assembly::app::Running) -> Vec<(String, String)> {
    let url = format!("http://{}/api/centres", server.addr);
    let list: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    list["centres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn stored(server: &clbchat_assembly::app::Running, id: &str) -> Centre {
    server
        .shared
        .store
        .centre(&CentreId::new(id))
        .await
        .unwrap()
        .unwrap()
}

fn save(id: &str, name: &str, create: bool) -> Value {
    json!({"type": "save_centre", "id": id, "name": name, "create": create,
        "origins": ["https://www.clbgenk.be/"]})
}

fn open_now(desk: &str) -> Value {
    json!({"type": "open_event", "desk": desk, "event": {
        "title": "Infoavond", "ends_at": Utc::now() + Duration::hours(2)}})
}

#[tokio::test]
async fn the_administrator_adds_a_centre_whose_box_is_there_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    add_centre(&server, "clb-aalst", "CLB Aalst").await;
    account(&server, "greet", StaffRole::Coordinator, "clb-aalst").await;
    administrator(&server, "sector").await;
    let mut sector = login(&server, "sector").await;

    let added = ask(&mut sector, &save("clb-genk", "CLB Genk", true)).await;
    assert_eq!(added["type"], "ok", "{added}");
    assert!(centres(&server)
        .await
        .contains(&("clb-genk".into(), "CLB Genk".into())));
    let first = stored(&server, "clb-genk").await;
    assert_eq!(first.origins, ["https://www.clbgenk.be"], "written one way");
    // Its box is there at once: closed, and its coordinator opens it.
    account(&server, "gert", StaffRole::Coordinator, "clb-genk").await;
    let mut gert = login(&server, "gert").await;
    let opened = ask(&mut gert, &open_now("clb-genk")).await;
    assert_eq!(opened["type"], "calendar", "{opened}");

    // Renamed: the list and the box's desk say the new name; its birth date stays.
    let renamed = ask(&mut sector, &save("clb-genk", "CLB Limburg-Genk", false)).await;
    assert_eq!(renamed["type"], "ok", "{renamed}");
    assert!(centres(&server)
        .await
        .contains(&("clb-genk".into(), "CLB Limburg-Genk".into())));
    let desk = server
        .shared
        .engine
        .desk(&clbchat_core::ids::DeskId::new("clb-genk"))
        .unwrap();
    assert_eq!(desk.name, "CLB Limburg-Genk");
    let again = stored(&server, "clb-genk").await;
    assert_eq!(again.created_at, first.created_at);

    // Refusals say what is wrong.
    for (frame, code, says) in [
        (
            save("clb-genk", "CLB Genk", true),
            "invalid",
            "exists already",
        ),
        (
            save("clb-nergens", "CLB Nergens", false),
            "invalid",
            "no centre",
        ),
        (save("CLB Genk!", "CLB Genk", true), "invalid", "lowercase"),
        (save("clb-leeg", "  ", true), "invalid", "name"),
    ] {
        let answer = ask(&mut sector, &frame).await;
        assert_eq!(answer["code"], code, "{frame} → {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{frame} → {message}");
    }
    // A centre's coordinator adds or changes no centre, not even their own.
    let mut greet = login(&server, "greet").await;
    for frame in [
        save("clb-eigen", "CLB Eigen", true),
        save("clb-aalst", "CLB Groot-Aalst", false),
    ] {
        let answer = ask(&mut greet, &frame).await;
        assert_eq!(answer["code"], "forbidden", "{answer}");
    }
    assert!(centres(&server)
        .await
        .contains(&("clb-aalst".into(), "CLB Aalst".into())));

    // Imported while the server runs (as `centres import` does): there when its staff log in.
    server
        .shared
        .store
        .put_centre(&Centre {
            id: CentreId::new("clb-mol"),
            name: "CLB Mol".into(),
            origins: vec![],
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    account(&server, "mieke", StaffRole::Coordinator, "clb-mol").await;
    let mut mieke = login(&server, "mieke").await;
    let opened = ask(&mut mieke, &open_now("clb-mol")).await;
    assert_eq!(opened["type"], "calendar", "{opened}");
    server.stop().await;
}

/// The boxes' server may host blended chat too (`sector.host_blended`): its pages are under
/// `/blended/`, and its first account is still the sector's administrator, not a
/// coordinator of blended chat.
#[tokio::test]
async fn with_blended_chat_beside_the_boxes_the_first_account_is_still_the_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tuned(dir.path(), |s| s.sector.host_blended = true).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("http://{}/blended/join", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("data-desk=\"blended\""));
    let link = server
        .setup_link
        .clone()
        .expect("a fresh server's setup link");
    let token = link.split("#token=").nth(1).unwrap();
    let r = http
        .post(format!("http://{}/api/setup", server.addr))
        .json(
            &json!({"token": token, "username": "sector", "alias": "Sector",
            "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let account = server
        .shared
        .store
        .account("sector")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.identity.role, StaffRole::Administrator);
    assert!(account.identity.desks.is_empty(), "{:?}", account.identity);
}
