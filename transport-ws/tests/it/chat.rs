//! A whole chat over real sockets.

use clbchat_core::event::{EndReason, EventBody, ServerEvent};
use clbchat_core::ids::ClientMsgId;
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::Store;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame, SUBPROTOCOL};

use crate::support::*;

#[tokio::test]
async fn a_visitor_and_a_counsellor_complete_a_chat_over_the_socket() {
    let server = start(|_| {}).await;
    let mut ann = staff(&server, "ann").await;

    let mut visitor = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let welcome = visitor
        .request(ClientFrame::Arrive {
            desk: desk(),
            visitor_token: None,
            profile: Default::default(),
            appointment: None,
        })
        .await
        .unwrap();
    let ServerFrame::Welcome {
        conversation,
        resume_token,
        visitor_token,
        ..
    } = welcome
    else {
        panic!("expected welcome, got {welcome:?}");
    };
    assert!(
        visitor_token.is_some_and(|t| t.len() >= 22),
        "a first visit gets a token to keep"
    );
    assert!(resume_token.len() >= 32);

    assert_eq!(assigned(&mut ann).await, conversation);
    wait_event(&mut visitor, |e| {
        matches!(e, ServerEvent::Log(l) if matches!(l.body, EventBody::Joined { .. })).then_some(())
    })
    .await;

    // Messages both ways, acknowledged with their sequence numbers.
    let ack = visitor
        .request(ClientFrame::Send {
            id: ClientMsgId::new("v1"),
            conversation: None,
            text: "Hallo, ik twijfel over mijn studiekeuze".into(),
        })
        .await
        .unwrap();
    let ServerFrame::Ack { seq: v_seq, .. } = ack else {
        panic!("{ack:?}")
    };
    let (seen_seq, text) = wait_event(&mut ann, message_text).await;
    assert_eq!(
        (seen_seq, text.as_str()),
        (v_seq, "Hallo, ik twijfel over mijn studiekeuze")
    );
    let ack = ann
        .request(ClientFrame::Send {
            id: ClientMsgId::new("a1"),
            conversation: Some(conversation),
            text: "Dag! Welke richtingen overweeg je?".into(),
        })
        .await
        .unwrap();
    let ServerFrame::Ack { seq: a_seq, .. } = ack else {
        panic!("{ack:?}")
    };
    assert_eq!(a_seq, v_seq + 1);
    let got = wait_event(&mut visitor, |e| {
        message_text(e).filter(|(_, t)| t.starts_with("Dag!"))
    })
    .await;
    assert_eq!(got.0, a_seq);

    // Typing reaches the other side.
    visitor
        .tell(ClientFrame::Typing { conversation: None })
        .await
        .unwrap();
    wait_event(&mut ann, |e| {
        matches!(e, ServerEvent::Typing { .. }).then_some(())
    })
    .await;

    // The counsellor ends, registers; the visitor sees the end and rates.
    ann.request(ClientFrame::End { conversation })
        .await
        .unwrap();
    let reason = wait_event(&mut visitor, |e| match e {
        ServerEvent::Log(l) => match l.body {
            EventBody::Ended { reason } => Some(reason),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(reason, EndReason::CounsellorEnded);
    let form = RegistrationForm {
        client_type: ClientType::Student,
        age: Some(17),
        gender: None,
        topics: vec!["olb.study_choice".into()],
        results: vec![ChatResult::InformationAdvice],
        found_via: None,
        fake_call: false,
    };
    ann.request(ClientFrame::Register { conversation, form })
        .await
        .unwrap();
    visitor
        .request(ClientFrame::Rate {
            stars: 5,
            comment: Some("Heel fijn, bedankt".into()),
            conversation: None,
            resume_token: None,
        })
        .await
        .unwrap();

    let rating = server.store.rating(conversation).await.unwrap().unwrap();
    assert_eq!(rating.stars, 5);
    assert!(server
        .store
        .registration(conversation)
        .await
        .unwrap()
        .is_some());
    let _ = SUBPROTOCOL;
}

#[tokio::test]
async fn availability_needs_no_session_and_says_when_it_closes() {
    let server = start(|_| {}).await;
    let c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let f = c
        .request(ClientFrame::Availability { desk: desk() })
        .await
        .unwrap();
    let ServerFrame::Availability { availability, .. } = f else {
        panic!("{f:?}")
    };
    assert!(availability.open);
    assert_eq!(availability.queue_length, 0);
}
