//! The door stays open: thousands of connections that send half a request and wait do not
//! keep a visitor from arriving or resuming, and a slow request head is cut off. Bounded,
//! on 127.0.0.1 only, and it stops by itself.

use std::time::Duration;

use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Half-open connections held at once by the flood.
const FLOOD: usize = 3_000;
/// The server's cap on connections that have not sent a request (smaller than the flood).
const PENDING: usize = 256;

const HALF_A_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// Whether the server closed this socket (end of stream or reset), without waiting.
fn closed_by_server(s: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match s.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_half_open_connections_do_not_shut_the_door() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.server.max_pending_connections = PENDING;
    // Long enough that the deadline does not clear the flood during the test: the cap must.
    settings.server.request_head_timeout_secs = 120;
    let server = InProcess::start(settings).await;

    // A visitor in the queue before the flood, to come back during it.
    let before = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .unwrap();
    let (conversation, resume_token, _) = arrive(&before).await;

    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(HALF_A_REQUEST).await.unwrap();
        flood.push(s);
    }

    // Health answers, a new visitor arrives, and the first one resumes.
    let health = reqwest::get(server.http("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let newcomer = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .expect("a visitor still gets in");
    let (other, _, _) = arrive(&newcomer).await;
    assert_ne!(other, conversation);
    drop(before);
    let back = Client::connect(&server.ws(), Some(&server.origin()))
        .await
        .expect("a visitor can still come back");
    match back
        .request(ClientFrame::Resume {
            conversation,
            resume_token,
            last_seq: 0,
        })
        .await
        .unwrap()
    {
        ServerFrame::Resumed {
            conversation: c, ..
        } => assert_eq!(c, conversation),
        other => panic!("resume: {other:?}"),
    }

    // The server let go of the flood's descriptors: it holds at most the hard cap of
    // connections that sent nothing (a burst younger than the grace may exceed the cap).
    let holds_at_most = PENDING * clbchat_assembly::edge::HARD_CAP_FACTOR;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let closed = flood.iter().filter(|s| closed_by_server(s)).count();
        if closed >= FLOOD - holds_at_most {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {closed} of {FLOOD} half-open connections were closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(flood);
    drop(newcomer);
    drop(back);
    server.stop().await;
}

#[tokio::test]
async fn a_request_head_that_takes_too_long_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.server.request_head_timeout_secs = 1;
    let server = InProcess::start(settings).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(HALF_A_REQUEST).await.unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    for s in [&mut slow, &mut silent] {
        let mut buf = Vec::new();
        // The server closes it (after at most a 408 it may write first): the read ends.
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "still open after 10 s");
    }
    // A whole request is answered as ever.
    let health = reqwest::get(server.http("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}
