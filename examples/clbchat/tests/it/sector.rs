//! One server for the sector (`sector.host_centres`, `sector.host_blended`): the national
//! desk's server also hosts every centre's chatbox and blended chat. Its pages stay the
//! national desk's at `/`; the boxes are at `/c/<centre>` with their list at `/c`; blended
//! chat's pages are under `/blended/`; a counsellor who serves several of them logs in
//! once, is online at each, and every chat assigned to them says which desk it comes from.

use chrono::Utc;
use clbchat_assembly::testing::staff_account;
use clbchat_core::account::StaffRole;
use clbchat_core::centre::Centre;
use clbchat_core::engine::events::EventRequest;
use clbchat_core::event::ServerEvent;
use clbchat_core::ids::{CentreId, DeskId};
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};

use crate::support::*;

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_json(url: &str) -> serde_json::Value {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

async fn put_staff(server: &InProcess, id: &str, role: StaffRole, desks: &[&str]) {
    let account = staff_account(id, role, desks, Some("clb-gent"), PASSWORD);
    server.shared.store.put_account(&account).await.unwrap();
}

async fn arrive_at(server: &InProcess, desk: &str) -> Client {
    let visitor = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let answer = visitor
        .request(ClientFrame::Arrive {
            desk: DeskId::new(desk),
            visitor_token: None,
            profile: Default::default(),
            appointment: None,
        })
        .await
        .unwrap();
    assert!(matches!(answer, ServerFrame::Welcome { .. }), "{answer:?}");
    visitor
}

/// Puts `who` online at each of `desks`.
async fn online_at(who: &Client, desks: &[&str]) {
    for desk in desks {
        let online = who
            .request(ClientFrame::Online {
                desk: DeskId::new(*desk),
                shift_ends_at: None,
            })
            .await
            .unwrap();
        assert!(matches!(online, ServerFrame::Ok { .. }), "{online:?}");
    }
}

/// The desks of the next `n` chats assigned to `who`, sorted.
async fn assigned_desks(who: &mut Client, n: usize) -> Vec<String> {
    let mut desks = Vec::new();
    while desks.len() < n {
        match who.next_event().await {
            Some(ServerEvent::ChatAssigned { desk, .. }) => desks.push(desk.0),
            Some(_) => continue,
            None => panic!("closed: {:?}", who.close_reason()),
        }
    }
    desks.sort();
    desks
}

#[tokio::test]
async fn the_national_server_also_hosts_the_centres_boxes_and_one_counsellor_serves_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.sector.host_centres = true;
    let server = InProcess::start(settings).await;
    let gent = Centre {
        id: CentreId::new("clb-gent"),
        name: "CLB Gent".into(),
        origins: Vec::new(),
        created_at: Utc::now(),
    };
    server.shared.store.put_centre(&gent).await.unwrap();
    server.shared.host_centre(&gent).await.unwrap();

    // The pages: the national desk at `/`, the boxes under `/c`.
    let (status, home) = get(&server.http("/")).await;
    assert_eq!(status, 200);
    assert!(home.contains("CLBch@t"), "{home}");
    let (status, list) = get(&server.http("/c")).await;
    assert_eq!(status, 200);
    assert!(list.contains("Chat met je CLB"), "{list}");
    let (status, api) = get(&server.http("/api/centres")).await;
    assert_eq!(status, 200);
    assert!(api.contains("\"clb-gent\""), "{api}");
    let (status, bx) = get(&server.http("/c/clb-gent")).await;
    assert_eq!(status, 200);
    assert!(bx.contains("data-desk=\"clb-gent\""), "{bx}");
    let (status, _) = get(&server.http("/c/clb-nergens")).await;
    assert_eq!(status, 404);

    // Sara serves the national desk and her centre's box; Gent's coordinator opens it.
    put_staff(
        &server,
        "sara",
        StaffRole::Counsellor,
        &["clbchat", "clb-gent"],
    )
    .await;
    put_staff(&server, "greet", StaffRole::Coordinator, &["clb-gent"]).await;
    let greet = staff(&server.ws(), &server.origin(), "greet").await;
    let opened = greet
        .request(ClientFrame::OpenEvent {
            desk: DeskId::new("clb-gent"),
            event: EventRequest {
                title: "Infoavond".into(),
                welcome: None,
                starts_at: None,
                ends_at: Utc::now() + chrono::Duration::hours(2),
            },
        })
        .await
        .unwrap();
    assert!(matches!(opened, ServerFrame::Calendar { .. }), "{opened:?}");
    let mut sara = staff(&server.ws(), &server.origin(), "sara").await;
    online_at(&sara, &["clbchat", "clb-gent"]).await;

    // A student at the national desk, one at Gent's box: both are Sara's, each marked.
    let _national = arrive_at(&server, "clbchat").await;
    let _box = arrive_at(&server, "clb-gent").await;
    assert_eq!(assigned_desks(&mut sara, 2).await, ["clb-gent", "clbchat"]);
    server.stop().await;
}

#[tokio::test]
async fn the_national_server_also_hosts_blended_chat_and_its_chats_reach_the_same_counsellor() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.sector.host_blended = true;
    let server = InProcess::start(settings).await;

    // Blended chat's pages under /blended/, for its own desk; the national desk's stay.
    for path in ["/blended/", "/blended/join", "/blended/counsellor"] {
        let (status, page) = get(&server.http(path)).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains("data-desk=\"blended\""), "{path}: {page}");
    }
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain.get(server.http("/blended")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/blended/");
    let (status, home) = get(&server.http("/")).await;
    assert_eq!(status, 200);
    assert!(home.contains("CLBch@t"), "{home}");
    let (status, _) = get(&server.http("/join")).await;
    assert_eq!(status, 404, "the client's page is under /blended/ here");
    let national = get_json(&server.http("/api/info")).await;
    assert_eq!(national["desk"]["id"], "clbchat");
    assert_eq!(national["desk"]["by_appointment"], false);
    let blended = get_json(&server.http("/api/info?desk=blended")).await;
    assert_eq!(blended["desk"]["name"], "Blended chat");
    assert_eq!(blended["desk"]["by_appointment"], true);
    assert_eq!(blended["chat_limit_minutes"], 60);

    // Sara serves the national desk and blended chat; she plans a chat with a client.
    put_staff(
        &server,
        "sara",
        StaffRole::Counsellor,
        &["clbchat", "blended"],
    )
    .await;
    let mut sara = staff(&server.ws(), &server.origin(), "sara").await;
    let planned = sara
        .request(ClientFrame::PlanAppointment {
            desk: DeskId::new("blended"),
            booking: clbchat_core::appointment::Booking {
                client_name: "Lotte Peeters".into(),
                note: None,
                starts_at: Utc::now() + chrono::Duration::minutes(5),
                length_minutes: 30,
                stand_in: None,
                trajectory: None,
            },
        })
        .await
        .unwrap();
    let ServerFrame::Appointment {
        token: Some(token), ..
    } = planned
    else {
        panic!("{planned:?}")
    };

    // The calendar file's link is the client's page of this server: under /blended/.
    let ics = reqwest::Client::new()
        .post(server.http("/api/appointment.ics"))
        .header("Origin", server.origin())
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(ics.status(), 200);
    let text = ics.text().await.unwrap().replace("\r\n ", "");
    assert!(
        text.contains(&format!("{}/blended/join#token={token}", server.origin())),
        "{text}"
    );

    // Online at both; the client from the link and a student at the national desk: both
    // reach Sara, each marked with its desk.
    online_at(&sara, &["clbchat", "blended"]).await;
    let client = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let welcome = client
        .request(ClientFrame::Arrive {
            desk: DeskId::new("blended"),
            visitor_token: None,
            profile: Default::default(),
            appointment: Some(token),
        })
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerFrame::Welcome { .. }),
        "{welcome:?}"
    );
    let _student = arrive_at(&server, "clbchat").await;
    assert_eq!(assigned_desks(&mut sara, 2).await, ["blended", "clbchat"]);
    server.stop().await;
}

#[tokio::test]
async fn the_first_coordinator_of_a_server_with_blended_chat_coordinates_both_desks() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.sector.host_blended = true;
    let server = InProcess::start(settings).await;
    let link = server
        .setup_link
        .clone()
        .expect("a setup link on a fresh server");
    let token = link.split("#token=").nth(1).unwrap().to_owned();
    let r = reqwest::Client::new()
        .post(server.http("/api/setup"))
        .json(&serde_json::json!({
            "token": token, "username": "kim", "alias": "Kim", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let kim = server.shared.store.account("kim").await.unwrap().unwrap();
    assert_eq!(
        kim.identity.desks,
        [DeskId::new("clbchat"), DeskId::new("blended")]
    );
    server.stop().await;
}

#[test]
fn blended_chat_beside_the_desk_needs_an_id_of_its_own() {
    let mut settings = clbchat_assembly::settings::Settings::default();
    settings.sector.host_blended = true;
    settings.sector.blended_desk.id = settings.desk.id.clone();
    let e = settings.validate().unwrap_err().to_string();
    assert!(e.contains("sector.blended_desk.id"), "{e}");
    settings.sector.blended_desk.id = "blended chat".into();
    let e = settings.validate().unwrap_err().to_string();
    assert!(e.contains("sector.blended_desk.id: letters, digits"), "{e}");
    settings.sector.blended_desk.id = "blended".into();
    settings.sector.blended_desk.chat_limit_minutes = 5;
    let e = settings.validate().unwrap_err().to_string();
    assert!(e.contains("sector.blended_desk.chat_limit_minutes"), "{e}");
    settings.sector.blended_desk.chat_limit_minutes = 60;
    settings.validate().expect("valid");
}
