//! The scan after a chat (issue 18, item 7): the real binary, logging at trace level, runs
//! a whole chat (messages both ways, a whisper-free end, a rating with a comment, feedback
//! asked and written); then
//! every file it keeps (the database and what SQLite keeps beside it, the key files, the
//! setup link), everything it logged and its `/metrics` are searched for what the chat
//! used: the message texts, the comment, the visitor's and the resume token, the password,
//! and any client address. Nothing may be found outside sealed text.

use std::path::{Path, PathBuf};

use clbchat_core::ids::ClientMsgId;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};

use crate::support::*;

const VISITOR_TEXT: &str = "ik-durf-niet-naar-huis-9X";
const COUNSELLOR_TEXT: &str = "wie-kan-je-vandaag-bellen-9X";
const COMMENT: &str = "je-hebt-me-echt-geholpen-9X";
const QUESTION: &str = "hoe-had-ik-dit-beter-afgerond-9X";
const FEEDBACK: &str = "mooi-gevraagd-naar-thuis-9X";

/// Every file under `dir`, in any folder.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("reading a folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Where each of `needles` occurs in `haystack`, named `what`.
fn finds(what: &str, haystack: &[u8], needles: &[(&str, &str)]) -> Vec<String> {
    needles
        .iter()
        .filter(|(_, n)| !n.is_empty() && haystack.windows(n.len()).any(|w| w == n.as_bytes()))
        .map(|(name, _)| format!("{name} in {what}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_chat_no_file_log_or_metric_holds_its_text_tokens_or_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add_ann(d);
    accounts_add(d, &["cora", "--alias", "Cora", "--role", "coordinator"]);
    let mut server = Binary::start(&program(), d, 0, &[("CLBCHAT_LOG__LEVEL", "trace")]);
    let (url, origin, port) = (server.ws(), server.origin(), server.addr.port());

    let mut ann = staff(&url, &origin, "ann").await;
    ann.request(ClientFrame::Online {
        desk: desk(),
        shift_ends_at: None,
    })
    .await
    .unwrap();
    let visitor = Client::connect(&url, Some(&origin)).await.unwrap();
    let (conversation, resume_token, visitor_token) = arrive(&visitor).await;
    let visitor_token = visitor_token.expect("a first visit gets a token");
    wait_assigned(&mut ann).await;
    let ack = visitor
        .request(ClientFrame::Send {
            id: ClientMsgId::new("v1"),
            conversation: None,
            text: VISITOR_TEXT.into(),
        })
        .await
        .unwrap();
    assert!(matches!(ack, ServerFrame::Ack { .. }), "{ack:?}");
    let ack = ann
        .request(ClientFrame::Send {
            id: ClientMsgId::new("a1"),
            conversation: Some(conversation),
            text: COUNSELLOR_TEXT.into(),
        })
        .await
        .unwrap();
    assert!(matches!(ack, ServerFrame::Ack { .. }), "{ack:?}");
    ann.request(ClientFrame::End { conversation })
        .await
        .unwrap();
    let rated = visitor
        .request(ClientFrame::Rate {
            stars: 5,
            comment: Some(COMMENT.into()),
            conversation: None,
            resume_token: None,
        })
        .await
        .unwrap();
    assert!(matches!(rated, ServerFrame::Ok { .. }), "{rated:?}");
    // Ann asks for feedback; Cora reads the chat for it and writes it.
    let asked = ann
        .request(ClientFrame::AskFeedback {
            conversation,
            question: Some(QUESTION.into()),
        })
        .await
        .unwrap();
    assert!(matches!(asked, ServerFrame::Feedback { .. }), "{asked:?}");
    let cora = staff(&url, &origin, "cora").await;
    let read = cora
        .request(ClientFrame::Transcript {
            conversation,
            purpose: clbchat_core::review::ReadPurpose::Feedback,
            note: None,
        })
        .await
        .unwrap();
    assert!(matches!(read, ServerFrame::Log { .. }), "{read:?}");
    let written = cora
        .request(ClientFrame::WriteFeedback {
            conversation,
            text: FEEDBACK.into(),
        })
        .await
        .unwrap();
    assert!(
        matches!(written, ServerFrame::Feedback { .. }),
        "{written:?}"
    );
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("clbchat_connections"),
        "the metrics are there: {metrics}"
    );
    let (exit, _) = server.terminate();
    assert_eq!(exit, Some(0));

    let secrets = [
        ("the visitor's message", VISITOR_TEXT),
        ("the counsellor's message", COUNSELLOR_TEXT),
        ("the rating's comment", COMMENT),
        ("the question for feedback", QUESTION),
        ("the feedback", FEEDBACK),
        ("the visitor token", visitor_token.as_str()),
        ("the resume token", resume_token.as_str()),
        ("the password", PASSWORD),
    ];
    let mut found = Vec::new();
    let kept = files_under(&d.join("data"));
    assert!(
        kept.iter().any(|f| f.ends_with("clbchat.db"))
            && kept.iter().any(|f| f.ends_with("clbchat.db.keys")),
        "the database and its key file are among the files searched: {kept:?}"
    );
    for f in &kept {
        let bytes = std::fs::read(f).expect("reading a kept file");
        found.extend(finds(&f.display().to_string(), &bytes, &secrets));
        // No client address at all: the database never learns one.
        if f.to_string_lossy().contains("clbchat.db") {
            found.extend(finds(
                &f.display().to_string(),
                &bytes,
                &[("an address", "127.0.0.1")],
            ));
        }
    }
    let logs = server.logs();
    found.extend(finds("the logs", logs.as_bytes(), &secrets));
    // The only address in the logs is the server's own (the clients came from 127.0.0.1 too,
    // each from a port of its own).
    for (i, _) in logs.match_indices("127.0.0.1:") {
        let port_text: String = logs[i + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if port_text != port.to_string() {
            found.push(format!(
                "a client's address (127.0.0.1:{port_text}) in the logs"
            ));
        }
    }
    found.extend(finds("/metrics", metrics.as_bytes(), &secrets));
    found.extend(finds(
        "/metrics",
        metrics.as_bytes(),
        &[("an address", "127.0.0.1")],
    ));
    assert_eq!(found, Vec::<String>::new(), "found where it must not be");
    assert!(logs.contains("TRACE"), "trace logging was on");
}

/// The server forgets who came back after `pseudonyms.history_days`: a chat of 200 days ago
/// loses its pseudonym at the purge, one of 10 days ago keeps it; the chats themselves
/// stay (the statistics count them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitors_history_is_forgotten_after_its_own_period() {
    use clbchat_core::event::ClientProfile;
    use clbchat_core::ids::{ConversationId, DeskId};
    use clbchat_core::pseudonym::Pseudonym;
    use clbchat_core::store::{ConversationMeta, ConversationState, Store};
    use clbchat_store_sql::{SqlOptions, SqlStore};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = run_binary(d, &["migrate"], &[], "");
    assert_eq!(code, 0, "{err}");
    let url = format!("sqlite://{}", d.join("data/clbchat.db").display());
    let store = SqlStore::connect(&url, SqlOptions::new()).await.unwrap();
    let visit = |days: i64| ConversationMeta {
        id: ConversationId::random(),
        desk: DeskId::new("clbchat"),
        pseudonym: Some(Pseudonym("k1:terugkeer".into())),
        profile: ClientProfile::default(),
        state: ConversationState::Ended,
        counsellor: None,
        arrived_at: chrono::Utc::now() - chrono::Duration::days(days),
        started_at: None,
        ended_at: Some(chrono::Utc::now() - chrono::Duration::days(days)),
        end_reason: None,
        resume_token_hash: "h".into(),
    };
    let (old, recent) = (visit(200), visit(10));
    for m in [&old, &recent] {
        store.put_conversation(m).await.unwrap();
    }
    store.close().await;

    let mut server = Binary::start(
        &program(),
        d,
        0,
        &[("CLBCHAT_PSEUDONYMS__HISTORY_DAYS", "90")],
    );
    let line = server.wait_logged("visit history purge");
    assert!(line.contains("forgot=1"), "{line}");
    let (exit, _) = server.terminate();
    assert_eq!(exit, Some(0));
    let store = SqlStore::connect(&url, SqlOptions::new()).await.unwrap();
    let pseudonym = |id| {
        let store = store.clone();
        async move { store.conversation(id).await.unwrap().map(|m| m.pseudonym) }
    };
    assert_eq!(
        pseudonym(old.id).await,
        Some(None),
        "the old chat stays, forgotten"
    );
    assert_eq!(
        pseudonym(recent.id).await,
        Some(recent.pseudonym.clone()),
        "the recent one is remembered"
    );
    store.close().await;

    let (code, _, err) = run_binary(
        d,
        &["config", "check"],
        &[("CLBCHAT_PSEUDONYMS__HISTORY_DAYS", "7")],
        "",
    );
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("pseudonyms.history_days: at least 30 days"),
        "{err}"
    );
}
