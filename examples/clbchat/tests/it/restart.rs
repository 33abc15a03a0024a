//! The real binary, stopped with SIGTERM mid-chat and started again on the same data: the
//! clients are told the server restarts (1012), the process exits cleanly within its
//! deadline, and after the restart the visitor resumes and the counsellor rejoins with
//! nothing lost. The logs of both runs, at trace level, hold no message text, no token, no
//! password and no client address.

use clbchat_core::event::{EventBody, ServerEvent};
use clbchat_core::ids::ClientMsgId;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};

use crate::support::*;

const VISITOR_TEXT: &str = "Mijn ouders maken elke avond ruzie";
const COUNSELLOR_TEXT: &str = "Dat klinkt zwaar, vertel eens";
const AFTER_TEXT: &str = "Ben je er nog? Fijn dat je terug bent";

async fn counsellor(url: &str, origin: &str) -> Client {
    let c = staff(url, origin, "ann").await;
    for f in [
        ClientFrame::Online {
            desk: desk(),
            shift_ends_at: None,
        },
        ClientFrame::Available {
            desk: desk(),
            available: true,
        },
    ] {
        c.request(f).await.unwrap();
    }
    c
}

async fn message_seen(client: &mut Client, text: &str) -> u64 {
    loop {
        match client.next_event().await {
            Some(ServerEvent::Log(e)) => {
                if let EventBody::Message { text: t, .. } = &e.body {
                    if t == text {
                        return e.seq;
                    }
                }
            }
            Some(_) => continue,
            None => panic!(
                "closed before `{text}` arrived: {:?}",
                client.close_reason()
            ),
        }
    }
}

async fn closed(client: &mut Client) -> String {
    while client.next_frame().await.is_some() {}
    client.close_reason().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_chat_then_restart_and_everyone_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add_ann(d);
    let debug = [("CLBCHAT_LOG__LEVEL", "trace")];

    let mut first = Binary::start(&program(), d, 0, &debug);
    let (url, origin, port) = (first.ws(), first.origin(), first.addr.port());
    let mut ann = counsellor(&url, &origin).await;
    let mut visitor = Client::connect(&url, Some(&origin)).await.unwrap();
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
    message_seen(&mut ann, VISITOR_TEXT).await;
    ann.request(ClientFrame::Send {
        id: ClientMsgId::new("a1"),
        conversation: Some(conversation),
        text: COUNSELLOR_TEXT.into(),
    })
    .await
    .unwrap();
    let last_seq = message_seen(&mut visitor, COUNSELLOR_TEXT).await;

    let (exit, took) = first.terminate();
    assert_eq!(exit, Some(0), "a clean exit; logs:\n{}", first.logs());
    assert!(
        took.as_secs() < 5 + 5,
        "within the 5 s deadline (and start-up slack): {took:?}"
    );
    let reason = closed(&mut visitor).await;
    assert!(
        reason.starts_with("1012"),
        "the visitor hears 'restarting': {reason}"
    );
    let reason = closed(&mut ann).await;
    assert!(
        reason.starts_with("1012"),
        "the counsellor hears 'restarting': {reason}"
    );

    // The same data, the same port: what the pages reconnect to.
    let second = Binary::start(&program(), d, port, &debug);
    let mut visitor = Client::connect(&url, Some(&origin)).await.unwrap();
    let r = visitor
        .request(ClientFrame::Resume {
            conversation,
            resume_token: resume_token.clone(),
            last_seq,
        })
        .await
        .unwrap();
    assert!(matches!(r, ServerFrame::Resumed { .. }), "{r:?}");
    let ann = staff(&url, &origin, "ann").await;
    match ann
        .request(ClientFrame::Rejoin { conversation })
        .await
        .unwrap()
    {
        ServerFrame::Log { events, .. } => {
            let texts: Vec<&str> = events
                .iter()
                .filter_map(|e| match &e.body {
                    EventBody::Message { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                texts,
                [VISITOR_TEXT, COUNSELLOR_TEXT],
                "nothing lost, nothing doubled"
            );
        }
        other => panic!("{other:?}"),
    }
    ann.request(ClientFrame::Send {
        id: ClientMsgId::new("a2"),
        conversation: Some(conversation),
        text: AFTER_TEXT.into(),
    })
    .await
    .unwrap();
    message_seen(&mut visitor, AFTER_TEXT).await;
    let mut second = second;
    let (exit, _) = second.terminate();
    assert_eq!(exit, Some(0));

    // No coordinator exists, so each start made a one-time link. Its stdout is a pipe here
    // (as under a service manager), so the link went to an owner-only file, not to stdout.
    let file = d.join("data/setup-link.txt");
    let link = std::fs::read_to_string(&file).expect("the setup link file");
    let setup_token = link.split("#token=").nth(1).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the owner reads the link");
    }
    // Every file at rest is the server user's only: the data folder, the database (every
    // transcript) and what SQLite keeps beside it, the keys.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(d.join(p)).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode("data").unwrap(), 0o700, "the data folder");
        for file in [
            "data/clbchat.db",
            "data/clbchat.db-wal",
            "data/clbchat.db-shm",
            "data/pseudonym-keys.toml",
        ] {
            if let Ok(m) = mode(file) {
                assert_eq!(m, 0o600, "{file}");
            } else {
                assert!(
                    file.ends_with("-wal") || file.ends_with("-shm"),
                    "{file} exists"
                );
            }
        }
    }
    let printed = format!("{}\n{}", first.printed(), second.printed());
    assert!(printed.contains("setup-link.txt"), "{printed}");
    assert!(
        !printed.contains(&setup_token),
        "the secret is not on stdout"
    );

    // Anonymity in the logs, at trace level, of both runs.
    let logs = format!("{}\n{}", first.logs(), second.logs());
    assert!(
        !logs.contains(&setup_token),
        "the setup secret is not logged"
    );
    assert!(logs.contains("TRACE"), "trace logging was on");
    assert!(
        !logs.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal (a file, a journal)"
    );
    assert!(
        !logs.contains("deadline reached"),
        "the stop finished well within its deadline:\n{logs}"
    );
    for secret in [
        VISITOR_TEXT,
        COUNSELLOR_TEXT,
        AFTER_TEXT,
        &resume_token,
        &visitor_token,
        PASSWORD,
    ] {
        assert!(!logs.contains(secret), "the logs contain `{secret}`");
    }
    for (i, _) in logs.match_indices("127.0.0.1:") {
        let port_text: String = logs[i + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(
            port_text,
            port.to_string(),
            "only the server's own address is logged"
        );
    }
}
