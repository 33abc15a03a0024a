//! Isolation between centres, over the protocol against a real server: staff of CLB
//! Hasselt (a coordinator and a counsellor) send every staff frame of the protocol at CLB
//! Aalst's box, its live chat, its flag and its accounts. Every one is refused, none
//! answers with anything of Aalst's, and Aalst's chat goes on undisturbed.
//!
//! The frames are the protocol's own examples (`transport-ws/tests/golden/client_*.json`,
//! the frames of `docs/protocol.md`), aimed at Aalst: a frame added to the protocol is
//! tried here without a line of this test changing.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use clbchat_core::account::StaffRole;
use clbchat_core::flags::{Flag, FlagKind, FlagStatus};
use clbchat_core::ids::{DeskId, FlagId, StaffId};
use clbchat_core::pseudonym::Pseudonym;
use clbchat_transport_ws::protocol::ClientFrame;
use serde_json::{json, Value};

use crate::support::*;

const SECRET: &str = "Dit blijft in Aalst";

/// Frames anyone may send (visitors, the handshake, logging in): not staff frames.
const NOT_STAFF: &[&str] = &[
    "hello",
    "availability",
    "arrive",
    "resume",
    "login",
    "leave",
    "partner_consent",
    "rate",
    "appointment_link",
];

/// The protocol's example of a frame, aimed at Aalst's desk, chat and flag.
fn aimed_at_aalst(kind: &str, conversation: &Value, flag: &Value) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../transport-ws/tests/golden")
        .join(format!("client_{kind}.json"));
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (every frame has an example)", file.display()));
    let mut frame: Value = serde_json::from_str(&text).unwrap();
    let obj = frame.as_object_mut().unwrap();
    if obj.contains_key("desk") {
        obj.insert("desk".into(), json!("clb-aalst"));
    }
    if obj.contains_key("conversation") {
        obj.insert("conversation".into(), conversation.clone());
    }
    if obj.contains_key("flag") {
        obj.insert("flag".into(), flag.clone());
    }
    if kind == "save_account" {
        // Change Aalst's counsellor: move her to Hasselt, or make an account on Aalst.
        obj.insert("username".into(), json!("ines"));
        obj.insert("create".into(), json!(false));
        obj["identity"]["id"] = json!("ines");
        obj["identity"]["desks"] = json!(["clb-aalst", "clb-hasselt"]);
    }
    frame
}

#[tokio::test]
async fn staff_of_one_centre_are_refused_every_staff_frame_at_another_centre() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    add_centre(&server, "clb-aalst", "CLB Aalst").await;
    add_centre(&server, "clb-hasselt", "CLB Hasselt").await;
    account(&server, "greet", StaffRole::Coordinator, "clb-aalst").await;
    account(&server, "ines", StaffRole::Counsellor, "clb-aalst").await;
    account(&server, "bart", StaffRole::Coordinator, "clb-hasselt").await;
    account(&server, "hans", StaffRole::Counsellor, "clb-hasselt").await;
    let flag = Flag {
        id: FlagId::random(),
        pseudonym: Pseudonym("p-aalst".into()),
        desk: DeskId::new("clb-aalst"),
        kind: FlagKind::SuspectedFakeCall,
        status: FlagStatus::Open,
        conversation: None,
        raised_by: Some(StaffId::new("ines")),
        reviewed_by: None,
        created_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::days(90),
    };
    server.shared.store.put_flag(&flag).await.unwrap();

    // Aalst opens its box; Ines answers a visitor, who tells her something.
    let mut greet = login(&server, "greet").await;
    let opened = ask(
        &mut greet,
        &json!({"type": "open_event", "desk": "clb-aalst", "event": {
            "title": "Na het incident", "ends_at": Utc::now() + chrono::Duration::hours(2)}}),
    )
    .await;
    assert_eq!(opened["type"], "calendar", "{opened}");
    let mut ines = login(&server, "ines").await;
    let online = ask(&mut ines, &json!({"type": "online", "desk": "clb-aalst"})).await;
    assert_eq!(online["type"], "ok", "{online}");
    let mut visitor = connect(&server).await;
    let welcome = ask(
        &mut visitor,
        &json!({"type": "arrive", "desk": "clb-aalst", "profile": {"client_type": "teacher"}}),
    )
    .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let conversation = welcome["conversation"].clone();
    let assigned = event(&mut ines, "chat_assigned").await;
    assert_eq!(assigned["conversation"], conversation);
    let sent = ask(
        &mut visitor,
        &json!({"type": "send", "id": "v1", "text": SECRET}),
    )
    .await;
    assert_eq!(sent["type"], "ack", "{sent}");
    let flag_id = json!(flag.id);

    // Hasselt's coordinator and counsellor try every staff frame at Aalst.
    let mut codes: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for outsider in ["bart", "hans"] {
        let mut c = login(&server, outsider).await;
        for &kind in ClientFrame::KINDS {
            if NOT_STAFF.contains(&kind) {
                continue;
            }
            let frame = aimed_at_aalst(kind, &conversation, &flag_id);
            let answer = ask(&mut c, &frame).await;
            let shown = answer.to_string();
            assert!(
                !shown.contains(SECRET) && !shown.contains("greet") && !shown.contains("\"ines\""),
                "{outsider}: {kind} shows something of Aalst's: {shown}"
            );
            let code = if answer["type"] == "error" {
                answer["code"].as_str().unwrap_or("?").to_owned()
            } else if ["accounts", "appointments", "my_chats"].contains(&kind) {
                // Lists answer with what is theirs: nothing of Aalst's (checked above).
                format!("own {}", answer["type"].as_str().unwrap_or("?"))
            } else {
                panic!("{outsider}: {kind} at Aalst was done: {frame} → {shown}")
            };
            codes
                .entry(kind.to_owned())
                .or_default()
                .insert(outsider.to_owned(), code);
        }
    }
    eprintln!("who gets what at another centre: {codes:#?}");
    // Every refusal is one a user can read: no "internal", no store failure.
    for (kind, by) in &codes {
        for (who, code) in by {
            assert!(
                [
                    "forbidden",
                    "unknown_conversation",
                    "not_yours",
                    "invalid",
                    "invalid_state",
                    "own accounts",
                    "own appointments",
                    "own my_chats",
                ]
                .contains(&code.as_str()),
                "{who}: {kind} → {code}"
            );
        }
    }
    // What reaches another centre's desk, board, calendar, flag or report is `forbidden`.
    for kind in [
        "online",
        "available",
        "offline",
        "board",
        "flags",
        "review_flag",
        "calendar",
        "set_calendar",
        "open_event",
        "close_event",
        "cancel_event",
        "report",
        "observe",
        "take_over",
        "transcript",
        "draw_scan",
        "read_audit",
        "intervision_export",
        "ask_feedback",
        "write_feedback",
        "feedback",
        "erase_on_request",
        "plan_staffing",
        "save_account",
    ] {
        for who in ["bart", "hans"] {
            assert_eq!(
                codes[kind][who], "forbidden",
                "{who}: {kind} at Aalst → {}",
                codes[kind][who]
            );
        }
    }

    // Aalst's chat went on: both sides still talk, its box is open, Ines is Ines.
    let sent = ask(
        &mut ines,
        &json!({"type": "send", "id": "i1", "conversation": conversation, "text": "Ik ben er nog."}),
    )
    .await;
    assert_eq!(sent["type"], "ack", "{sent}");
    loop {
        let e = event(&mut visitor, "log").await;
        if e["body"]["text"] == "Ik ben er nog." {
            break;
        }
    }
    let av = ask(
        &mut visitor,
        &json!({"type": "availability", "desk": "clb-aalst"}),
    )
    .await;
    assert_eq!(av["availability"]["open"], true, "{av}");
    let ines_now = server.shared.store.account("ines").await.unwrap().unwrap();
    assert_eq!(ines_now.identity.desks, vec![DeskId::new("clb-aalst")]);
    let flag_now = server.shared.store.flag(flag.id).await.unwrap().unwrap();
    assert_eq!(flag_now.status, FlagStatus::Open);
    server.stop().await;
}
