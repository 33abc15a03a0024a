//! Statistics per centre and per event, and the sector's view, over the protocol against
//! a real server on SQLite: each centre's coordinator reads its own events, never another
//! centre's; the sector's administrator reads every centre's, as the annual report's
//! Chat-met-je-CLB section writes them.

use chrono::{Duration, Utc};
use clbchat_core::account::StaffRole;
use serde_json::{json, Value};

use crate::support::*;

/// Opens `desk`'s box for `title` as its coordinator `user`, with one counsellor `serves`.
async fn open_for(
    server: &clbchat_assembly::app::Running,
    user: &str,
    desk: &str,
    title: &str,
) -> clbchat_transport_ws::client::Client {
    let mut c = login(server, user).await;
    let opened = ask(
        &mut c,
        &json!({"type": "open_event", "desk": desk, "event": {
            "title": title, "ends_at": Utc::now() + Duration::hours(2)}}),
    )
    .await;
    assert_eq!(opened["type"], "calendar", "{opened}");
    c
}

/// Visitors of these client types arrive at `desk` together and are served by
/// `counsellor` (whose capacity is 2), then leave.
async fn chats(
    server: &clbchat_assembly::app::Running,
    counsellor: &mut clbchat_transport_ws::client::Client,
    desk: &str,
    client_types: &[&str],
) {
    let mut visitors = Vec::new();
    for client_type in client_types {
        let mut visitor = connect(server).await;
        let welcome = ask(
            &mut visitor,
            &json!({"type": "arrive", "desk": desk, "profile": {"client_type": client_type}}),
        )
        .await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let assigned = event(counsellor, "chat_assigned").await;
        assert_eq!(assigned["conversation"], welcome["conversation"]);
        visitors.push(visitor);
    }
    for mut visitor in visitors {
        let left = ask(&mut visitor, &json!({"type": "leave"})).await;
        assert_eq!(left["type"], "ok", "{left}");
        // The counsellor reads the end in the chat's log: it is stored.
        while event(counsellor, "log").await["body"]["type"] != "ended" {}
    }
}

fn report(desk: Option<&str>) -> Value {
    let today = Utc::now().date_naive();
    let mut frame = json!({"type": "report", "from": today - Duration::days(1),
        "to": today + Duration::days(1), "format": "html_fragment", "lang": "nl"});
    if let Some(d) = desk {
        frame["desk"] = json!(d);
    }
    frame
}

/// (centre, title, chats, students, parents, teachers) of each event in a report.
fn events(answer: &Value) -> Vec<(String, String, u64, u64, u64, u64)> {
    let of = |e: &Value, t: &str| {
        e["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == t)
            .map_or(0, |c| c[1].as_u64().unwrap())
    };
    answer["data"]["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    (
                        e["query"]["desk"].as_str().unwrap().to_owned(),
                        e["query"]["title"].as_str().unwrap().to_owned(),
                        e["chats"].as_u64().unwrap(),
                        of(e, "student"),
                        of(e, "parent"),
                        of(e, "teacher"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn each_centre_reads_its_own_events_and_the_administrator_reads_the_sector() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    add_centre(&server, "clb-aalst", "CLB Aalst").await;
    add_centre(&server, "clb-hasselt", "CLB Hasselt").await;
    for (user, role, desk) in [
        ("greet", StaffRole::Coordinator, "clb-aalst"),
        ("ines", StaffRole::Counsellor, "clb-aalst"),
        ("bart", StaffRole::Coordinator, "clb-hasselt"),
        ("hans", StaffRole::Counsellor, "clb-hasselt"),
    ] {
        account(&server, user, role, desk).await;
    }
    administrator(&server, "sector").await;

    // Aalst opens after an incident: a teacher and a student chat. Hasselt holds an info
    // evening: a parent chats.
    let mut greet = open_for(&server, "greet", "clb-aalst", "Na het incident").await;
    let mut bart = open_for(&server, "bart", "clb-hasselt", "Infoavond").await;
    for (user, desk) in [("ines", "clb-aalst"), ("hans", "clb-hasselt")] {
        let mut c = login(&server, user).await;
        let online = ask(&mut c, &json!({"type": "online", "desk": desk})).await;
        assert_eq!(online["type"], "ok", "{online}");
        let types: &[&str] = if user == "ines" {
            &["teacher", "student"]
        } else {
            &["parent"]
        };
        chats(&server, &mut c, desk, types).await;
    }

    // Each centre's coordinator: its own event, nothing of the other's.
    let aalst = ask(&mut greet, &report(Some("clb-aalst"))).await;
    assert_eq!(aalst["type"], "report", "{aalst}");
    assert_eq!(
        events(&aalst),
        [("clb-aalst".into(), "Na het incident".into(), 2, 1, 0, 1)]
    );
    let page = aalst["document"]["content"].as_str().unwrap();
    assert!(page.contains("Open voor een evenement"), "{page}");
    assert!(page.contains("CLB Aalst: Na het incident"), "{page}");
    assert!(
        !page.contains("Hasselt") && !page.contains("Infoavond"),
        "{page}"
    );
    let hasselt = ask(&mut bart, &report(Some("clb-hasselt"))).await;
    assert_eq!(
        events(&hasselt),
        [("clb-hasselt".into(), "Infoavond".into(), 1, 0, 1, 0)]
    );
    // Every desk's report is the sector's, not a coordinator's.
    for c in [&mut greet, &mut bart] {
        let refused = ask(c, &report(None)).await;
        assert_eq!(refused["code"], "forbidden", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("administrator"),
            "{refused}"
        );
    }

    // The sector's view: both centres' events, the line the annual report writes.
    let mut sector = login(&server, "sector").await;
    let all = ask(&mut sector, &report(None)).await;
    assert_eq!(all["type"], "report", "{all}");
    let mut got = events(&all);
    got.sort();
    assert_eq!(
        got,
        [
            ("clb-aalst".into(), "Na het incident".into(), 2, 1, 0, 1),
            ("clb-hasselt".into(), "Infoavond".into(), 1, 0, 1, 0),
        ]
    );
    let page = all["document"]["content"].as_str().unwrap();
    assert!(
        page.contains("2 chatbox(en) gingen samen 2 keer open voor een evenement: 3 gesprekken"),
        "{page}"
    );
    assert!(page.contains("CLB Hasselt: Infoavond"), "{page}");
    server.stop().await;
}
