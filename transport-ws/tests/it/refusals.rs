//! Every refusal, over real sockets: the handshake and per-frame authorisation.

use clbchat_core::ids::{ClientMsgId, ConversationId};
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use clbchat_transport_ws::Error;

use crate::support::*;

fn code(r: Result<ServerFrame, Error>) -> String {
    match r {
        Err(Error::Server { code, .. }) => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

async fn http_status(url: &str, origin: Option<&str>) -> u16 {
    match Client::connect(url, origin).await {
        Err(Error::WebSocket(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
            resp.status().as_u16()
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    }
}

#[tokio::test]
async fn the_handshake_refuses_foreign_null_and_missing_origins() {
    let server = start(|_| {}).await;
    assert_eq!(
        http_status(&server.url, Some("https://evil.example")).await,
        403
    );
    assert_eq!(
        http_status(&server.url, Some("https://clbchat.be.evil.example")).await,
        403
    );
    assert_eq!(http_status(&server.url, Some("null")).await, 403);
    assert_eq!(http_status(&server.url, None).await, 403);
    assert_eq!(http_status(&server.url, Some(ORIGIN)).await, 101);
}

#[tokio::test]
async fn each_frame_is_authorised_not_only_the_connection() {
    let server = start(|_| {}).await;
    let mut ann = staff(&server, "ann").await;

    // Nothing before a session.
    let fresh = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let send = |c: Option<ConversationId>| ClientFrame::Send {
        id: ClientMsgId::new("x"),
        conversation: c,
        text: "hoi".into(),
    };
    assert_eq!(code(fresh.request(send(None)).await), "invalid_state");
    assert_eq!(
        code(fresh.request(ClientFrame::Board { desk: desk() }).await),
        "forbidden"
    );
    assert_eq!(
        code(fresh.request(ClientFrame::Leave {}).await),
        "invalid_state"
    );

    // A wrong password; the connection stays usable.
    let login = |pw: &str| ClientFrame::Login {
        username: "ann".into(),
        password: pw.into(),
    };
    assert_eq!(
        code(fresh.request(login("wrong password!")).await),
        "bad_credentials"
    );
    assert_eq!(
        code(
            fresh
                .request(ClientFrame::Login {
                    username: "nobody".into(),
                    password: PASSWORD.into()
                })
                .await
        ),
        "bad_credentials"
    );

    // A visitor in a chat with ann.
    let visitor = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let arrive = || ClientFrame::Arrive {
        desk: desk(),
        visitor_token: None,
        profile: Default::default(),
        appointment: None,
    };
    let ServerFrame::Welcome { conversation, .. } = visitor.request(arrive()).await.unwrap() else {
        panic!()
    };
    assert_eq!(assigned(&mut ann).await, conversation);
    let bob = staff(&server, "bob").await;

    // A visitor's connection cannot start a second session or use staff frames.
    assert_eq!(code(visitor.request(arrive()).await), "invalid_state");
    assert_eq!(
        code(visitor.request(ClientFrame::End { conversation }).await),
        "forbidden"
    );
    assert_eq!(
        code(
            visitor
                .request(ClientFrame::Whisper {
                    conversation,
                    text: "psst".into()
                })
                .await
        ),
        "forbidden"
    );
    // Naming another conversation does not help a visitor: its handle reaches only its own.
    let other = ConversationId::random();
    let ok = visitor
        .request(ClientFrame::Send {
            id: ClientMsgId::new("v1"),
            conversation: Some(other),
            text: "hoi".into(),
        })
        .await
        .unwrap();
    assert!(matches!(ok, ServerFrame::Ack { conversation: c, .. } if c == conversation));

    // Bob is not in this chat.
    assert_eq!(
        code(bob.request(send(Some(conversation))).await),
        "not_yours"
    );
    assert_eq!(
        code(bob.request(ClientFrame::End { conversation }).await),
        "not_yours"
    );
    assert_eq!(
        code(
            bob.request(ClientFrame::Extend {
                conversation,
                reason: "x".into()
            })
            .await
        ),
        "not_yours"
    );
    // Staff must name the chat.
    assert_eq!(code(bob.request(send(None)).await), "invalid");
    // A counsellor is not a coordinator.
    assert_eq!(
        code(ann.request(ClientFrame::Board { desk: desk() }).await),
        "forbidden"
    );
    assert_eq!(
        code(ann.request(ClientFrame::Observe { conversation }).await),
        "forbidden"
    );
    assert_eq!(
        code(
            ann.request(ClientFrame::Transcript {
                conversation,
                purpose: clbchat_core::review::ReadPurpose::ChatScan,
                note: None,
            })
            .await
        ),
        "forbidden"
    );
    // A logged-in connection cannot log in again or arrive.
    assert_eq!(
        code(
            ann.request(ClientFrame::Login {
                username: "ann".into(),
                password: PASSWORD.into()
            })
            .await
        ),
        "invalid_state"
    );
    assert_eq!(code(ann.request(arrive()).await), "invalid_state");
    // Unknown desk and conversation.
    assert_eq!(
        code(
            fresh
                .request(ClientFrame::Availability {
                    desk: clbchat_core::ids::DeskId::new("nope")
                })
                .await
        ),
        "unknown_desk"
    );
    assert_eq!(
        code(ann.request(send(Some(other))).await),
        "unknown_conversation"
    );
    // The coordinator may.
    let cora = staff(&server, "cora").await;
    assert!(matches!(
        cora.request(ClientFrame::Board { desk: desk() })
            .await
            .unwrap(),
        ServerFrame::Board { .. }
    ));
    // And ann can still chat: none of this disturbed her chat.
    let ok = ann.request(send(Some(conversation))).await.unwrap();
    assert!(matches!(ok, ServerFrame::Ack { .. }));
}

#[tokio::test]
async fn a_resume_with_a_wrong_token_is_refused() {
    let server = start(|_| {}).await;
    let visitor = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let ServerFrame::Welcome { conversation, .. } = visitor
        .request(ClientFrame::Arrive {
            desk: desk(),
            visitor_token: None,
            profile: Default::default(),
            appointment: None,
        })
        .await
        .unwrap()
    else {
        panic!()
    };
    let thief = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let r = thief
        .request(ClientFrame::Resume {
            conversation,
            resume_token: "guessed-token-guessed-token".into(),
            last_seq: 0,
        })
        .await;
    assert_eq!(code(r), "resume_refused");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503_until_one_closes() {
    let server = start(|c| c.max_connections = 2).await;
    let a = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let b = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    // Both are really served.
    for c in [&a, &b] {
        assert!(c
            .request(ClientFrame::Availability { desk: desk() })
            .await
            .is_ok());
    }
    match Client::connect(&server.url, Some(ORIGIN)).await {
        Err(Error::WebSocket(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status().as_u16(), 503)
        }
        other => panic!("expected 503, got {other:?}"),
    }
}
