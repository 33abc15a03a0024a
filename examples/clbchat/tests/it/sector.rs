//! One server for the sector (`sector.host_centres`): the national desk's server also hosts
//! every centre's chatbox. Its pages stay the national desk's at `/`; the boxes are at
//! `/c/<centre>` with their list at `/c`; a counsellor who serves the national desk and
//! their own centre's box logs in once, is online at both, and every chat assigned to them
//! says which desk it comes from.

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
    for desk in ["clbchat", "clb-gent"] {
        let online = sara
            .request(ClientFrame::Online {
                desk: DeskId::new(desk),
                shift_ends_at: None,
            })
            .await
            .unwrap();
        assert!(matches!(online, ServerFrame::Ok { .. }), "{online:?}");
    }

    // A student at the national desk, one at Gent's box: both are Sara's, each marked.
    let _national = arrive_at(&server, "clbchat").await;
    let _box = arrive_at(&server, "clb-gent").await;
    let mut desks = Vec::new();
    while desks.len() < 2 {
        match sara.next_event().await {
            Some(ServerEvent::ChatAssigned { desk, .. }) => desks.push(desk.0),
            Some(_) => continue,
            None => panic!("closed: {:?}", sara.close_reason()),
        }
    }
    desks.sort();
    assert_eq!(desks, ["clb-gent", "clbchat"]);
    server.stop().await;
}
