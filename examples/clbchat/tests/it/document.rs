//! `docs/protocol.md` against the real server: every example client frame in the document
//! is understood by the reference server (never `malformed` or `unknown_frame`) and answered
//! with the same `req`, by a result or by an error code the document's table lists. The
//! test reads the document itself, so the two cannot drift apart.

use std::collections::BTreeSet;

use clbchat_core::account::StaffRole;
use clbchat_core::event::Discipline;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::ServerFrame;
use clbchat_transport_ws::tokio_tungstenite::tungstenite::Message;

use crate::support::*;

fn document() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON block after each `<!-- golden:client_NAME -->` marker, by name.
fn client_examples(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in doc.split("<!-- golden:client_").skip(1) {
        let name = part.split(" -->").next().unwrap_or_default().to_owned();
        let block = part
            .split("```json")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or_else(|| panic!("no JSON block after the marker of {name}"));
        out.push((name, block.trim().to_owned()));
    }
    out
}

/// The codes of the document's error table (§8).
fn error_codes(doc: &str) -> BTreeSet<String> {
    let section = doc
        .split("## 8. Errors")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the document has its §8");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// Frames a visitor sends inside a chat (after `arrive`).
const VISITOR_IN_CHAT: &[&str] = &["send", "typing", "leave", "partner_consent"];
/// Frames that start or need no session.
const NO_SESSION: &[&str] = &["hello", "availability", "arrive", "resume", "login", "rate"];

#[tokio::test]
async fn every_example_frame_in_the_document_is_understood_by_the_server() {
    let doc = document();
    let examples = client_examples(&doc);
    let codes = error_codes(&doc);
    assert!(examples.len() >= 30, "found {} examples", examples.len());
    assert!(
        codes.contains("malformed") && codes.contains("not_yours"),
        "{codes:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    server
        .account(
            "kris",
            StaffRole::Coordinator,
            Discipline::PsychoPedagogical,
        )
        .await;
    for (name, json) in &examples {
        let value: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let kind = value["type"].as_str().unwrap_or_default().to_owned();
        let req = value["req"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: no req"));
        let visitor_in_chat =
            VISITOR_IN_CHAT.contains(&kind.as_str()) && value.get("conversation").is_none();
        let staff_frame = !(NO_SESSION.contains(&kind.as_str()) || visitor_in_chat);
        let mut c = if staff_frame {
            staff(&server.ws(), &server.origin(), "kris").await
        } else {
            let c = Client::connect(&server.ws(), Some(&server.origin()))
                .await
                .unwrap();
            if VISITOR_IN_CHAT.contains(&kind.as_str()) {
                arrive(&c).await;
            }
            c
        };
        c.send_raw(Message::text(json.clone())).await.unwrap();
        let answer = loop {
            match c.next_frame().await {
                Some(f) if f.req() == Some(req) => break Some(f),
                Some(_) => continue,
                None => break None,
            }
        };
        match answer {
            Some(ServerFrame::Error { code, message, .. }) => {
                assert!(
                    code != "malformed" && code != "unknown_frame",
                    "the document's `{name}` example is not understood: {code}: {message}"
                );
                assert!(
                    codes.contains(&code),
                    "`{name}` was answered with `{code}`, which the document's §8 does not list"
                );
            }
            Some(_) => {}
            None => assert_eq!(
                kind,
                "hello",
                "`{name}`: the connection closed without an answer ({:?})",
                c.close_reason()
            ),
        }
    }
    server.stop().await;
}
