//! Bad input gets a precise answer and disturbs nobody else.

use std::time::Duration;

use clbchat_core::ids::ClientMsgId;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame, CLOSE_VERSION};
use clbchat_transport_ws::tokio_tungstenite::tungstenite::Message;

use crate::support::*;

async fn error_code(c: &mut Client) -> (String, String) {
    match next_frame(c).await {
        Some(ServerFrame::Error { code, message, .. }) => (code, message),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// A running chat between bob and a visitor, to prove nothing disturbs it.
async fn bystanders(server: &TestServer) -> (Client, Client, clbchat_core::ids::ConversationId) {
    let mut bob = staff(server, "bob").await;
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
    assert_eq!(assigned(&mut bob).await, conversation);
    (bob, visitor, conversation)
}

async fn still_chatting(bob: &mut Client, visitor: &Client, n: u32) {
    let text = format!("nog steeds hier {n}");
    visitor
        .request(ClientFrame::Send {
            id: ClientMsgId::new(format!("b{n}")),
            conversation: None,
            text: text.clone(),
        })
        .await
        .unwrap();
    wait_event(bob, |e| message_text(e).filter(|(_, t)| *t == text)).await;
}

#[tokio::test]
async fn malformed_and_unknown_frames_get_error_frames_and_the_connection_stays() {
    let server = start(|_| {}).await;
    let (mut bob, visitor, _) = bystanders(&server).await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();

    c.send_raw(Message::text("{not json")).await.unwrap();
    let (code, message) = error_code(&mut c).await;
    assert_eq!(code, "malformed");
    assert!(message.contains("not valid JSON"), "{message}");

    c.send_raw(Message::text(r#"{"type":"teleport","req":7}"#))
        .await
        .unwrap();
    let f = next_frame(&mut c).await.unwrap();
    assert!(
        matches!(&f, ServerFrame::Error { code, req: Some(7), message } if code == "unknown_frame" && message.contains("teleport")),
        "{f:?}"
    );

    c.send_raw(Message::text(r#"{"type":"arrive","req":8,"desk":42}"#))
        .await
        .unwrap();
    let f = next_frame(&mut c).await.unwrap();
    assert!(
        matches!(&f, ServerFrame::Error { code, req: Some(8), .. } if code == "malformed"),
        "{f:?}"
    );

    c.send_raw(Message::text(r#"[1,2,3]"#)).await.unwrap();
    assert_eq!(error_code(&mut c).await.0, "malformed");

    c.send_raw(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    let (code, message) = error_code(&mut c).await;
    assert_eq!(code, "malformed");
    assert!(message.contains("binary"), "{message}");

    // Still open and working.
    let f = c
        .request(ClientFrame::Availability { desk: desk() })
        .await
        .unwrap();
    assert!(matches!(f, ServerFrame::Availability { .. }));
    still_chatting(&mut bob, &visitor, 1).await;
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009_and_nobody_else_notices() {
    let server = start(|_| {}).await;
    let (mut bob, visitor, _) = bystanders(&server).await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let big = format!(
        r#"{{"type":"hello","version":1,"pad":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    c.send_raw(Message::text(big)).await.unwrap();
    assert!(next_frame(&mut c).await.is_none(), "the connection closes");
    let reason = c.close_reason().expect("a close frame with a reason");
    assert!(
        reason.starts_with("1009") && reason.contains("64 KiB"),
        "{reason}"
    );
    still_chatting(&mut bob, &visitor, 2).await;
}

#[tokio::test]
async fn another_protocol_version_is_closed_with_a_clear_reason() {
    let server = start(|_| {}).await;
    // Offering only another version: refused at the handshake (a client must get one of
    // the protocols it offered back, so there is no socket to close), with the reason.
    match Client::connect_with_protocol(&server.url, Some(ORIGIN), Some("clbchat.v2")).await {
        Err(clbchat_transport_ws::Error::WebSocket(
            clbchat_transport_ws::tokio_tungstenite::tungstenite::Error::Http(resp),
        )) => {
            assert_eq!(resp.status().as_u16(), 400);
            let body =
                String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).to_string();
            assert!(
                body.contains("clbchat.v2") && body.contains("clbchat.v1"),
                "{body}"
            );
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }

    let mut c = Client::connect_with_protocol(&server.url, Some(ORIGIN), None)
        .await
        .unwrap();
    c.send_raw(Message::text(r#"{"type":"hello","version":2}"#))
        .await
        .unwrap();
    assert!(next_frame(&mut c).await.is_none());
    let reason = c.close_reason().unwrap();
    assert!(
        reason.starts_with(&CLOSE_VERSION.to_string()) && reason.contains("not version 2"),
        "{reason}"
    );
}

#[tokio::test]
async fn too_many_frames_get_rate_limited_without_closing() {
    let server = start(|c| {
        c.rate_burst = 5;
        c.rate_per_sec = 1;
    })
    .await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    for _ in 0..8 {
        c.send_raw(Message::text(r#"{"type":"availability","desk":"clbchat"}"#))
            .await
            .unwrap();
    }
    let mut limited = 0;
    let mut answered = 0;
    while limited + answered < 8 {
        match next_frame(&mut c).await.unwrap() {
            ServerFrame::Error { code, .. } if code == "rate_limited" => limited += 1,
            ServerFrame::Availability { .. } => answered += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((answered, limited), (5, 3));
    // The connection stays open: the next frame is answered (or limited), never closed.
    c.send_raw(Message::text(r#"{"type":"availability","desk":"clbchat"}"#))
        .await
        .unwrap();
    assert!(next_frame(&mut c).await.is_some());
}

#[tokio::test]
async fn a_silent_connection_that_never_starts_is_closed() {
    let server = start(|c| c.start_timeout = Duration::from_millis(200)).await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    assert!(next_frame(&mut c).await.is_none());
    assert!(c.close_reason().unwrap().starts_with("4011"));
}

/// The silence limit counts from the last frame heard: a connection that keeps talking
/// stays open well past it, and is closed (4010) once it falls silent.
#[tokio::test]
async fn a_connection_that_keeps_talking_outlives_the_idle_limit() {
    let idle = Duration::from_secs(1);
    let server = start(|c| {
        c.idle_timeout = idle;
        c.start_timeout = Duration::from_secs(3600);
        c.heartbeat = Duration::from_secs(3600);
    })
    .await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let talking = std::time::Instant::now();
    // A frame every fifth of the limit, for three limits.
    while talking.elapsed() < idle * 3 {
        tokio::time::sleep(idle / 5).await;
        c.send_raw(Message::text(r#"{"type":"availability","desk":"clbchat"}"#))
            .await
            .unwrap();
        match next_frame(&mut c).await {
            Some(ServerFrame::Availability { .. }) => {}
            other => panic!(
                "still talking after {:?}, but got {other:?}",
                talking.elapsed()
            ),
        }
    }
    let silent = std::time::Instant::now();
    assert!(next_frame(&mut c).await.is_none(), "closed once silent");
    assert!(
        c.close_reason().unwrap().starts_with("4010"),
        "{:?}",
        c.close_reason()
    );
    assert!(
        silent.elapsed() >= idle / 2,
        "not before the limit: {:?}",
        silent.elapsed()
    );
}

/// RFC 6455: a text frame that is not UTF-8 closes the connection with 1007, and says why;
/// nobody else notices.
#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    use clbchat_transport_ws::tokio_tungstenite::tungstenite::protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    };
    let server = start(|_| {}).await;
    let (mut bob, visitor, _) = bystanders(&server).await;
    let mut c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    c.send_raw(Message::Frame(Frame::message(
        vec![b'{', 0xff, 0xfe, b'}'],
        OpCode::Data(Data::Text),
        true,
    )))
    .await
    .unwrap();
    assert!(next_frame(&mut c).await.is_none(), "the connection closes");
    let reason = c.close_reason().expect("a close frame with a reason");
    assert!(
        reason.starts_with("1007") && reason.contains("UTF-8"),
        "{reason}"
    );
    still_chatting(&mut bob, &visitor, 3).await;
}

/// Optional fields may be `null` (§1): `"profile": null` arrives like no profile; a value
/// outside a field's choices is `invalid` and names the field's value.
#[tokio::test]
async fn null_optional_fields_are_accepted_and_an_unknown_choice_is_invalid() {
    let server = start(|_| {}).await;
    let c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    c.send_raw(Message::text(
        r#"{"type":"arrive","req":1,"desk":"clbchat","visitor_token":null,"profile":null,"appointment":null}"#,
    ))
    .await
    .unwrap();
    let mut c = c;
    match next_frame(&mut c).await {
        Some(ServerFrame::Welcome { req: Some(1), .. }) => {}
        other => panic!("expected welcome, got {other:?}"),
    }
    let d = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    d.send_raw(Message::text(
        r#"{"type":"arrive","req":2,"desk":"clbchat","profile":{"gender":"Q","health_question":null}}"#,
    ))
    .await
    .unwrap();
    let mut d = d;
    let (code, message) = error_code(&mut d).await;
    assert_eq!(code, "invalid", "{message}");
    assert!(
        message.contains("`Q`") && message.contains("arrive"),
        "{message}"
    );
}
