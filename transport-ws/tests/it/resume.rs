//! Cutting the visitor's TCP connection mid-chat: it reconnects and resumes, and every
//! acknowledged message arrives exactly once, in order, on both sides.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clbchat_core::engine::Arrival;
use clbchat_core::event::{EventBody, Role, ServerEvent};
use clbchat_core::ids::ClientMsgId;
use clbchat_transport_ws::client::{Reconnect, VisitorClient};
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::*;

/// A TCP proxy whose live connections can be cut at once.
struct Proxy {
    url: String,
    live: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let live: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let l = live.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.lock().unwrap().push(task);
            }
        });
        Proxy { url, live }
    }

    /// Drops every proxied connection (both sockets close); returns how many were alive.
    fn cut(&self) -> usize {
        let tasks: Vec<_> = self.live.lock().unwrap().drain(..).collect();
        let alive = tasks.iter().filter(|t| !t.is_finished()).count();
        for t in tasks {
            t.abort();
        }
        alive
    }
}

fn fast_reconnect() -> Reconnect {
    Reconnect {
        attempts: 200,
        first_pause: Duration::from_millis(1),
        max_pause: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn a_visitor_cut_mid_chat_resumes_with_no_gap_and_no_duplicate() {
    let server = start(|_| {}).await;
    let proxy = Proxy::start(server.addr).await;
    let mut ann = staff(&server, "ann").await;
    let mut v = VisitorClient::arrive(&proxy.url, Some(ORIGIN), &desk(), Arrival::default())
        .await
        .unwrap();
    v.set_reconnect(fast_reconnect());
    let conv = assigned(&mut ann).await;
    assert_eq!(conv, v.conversation());

    let mine = v.send("Mijn wifi is slecht").await.unwrap();
    assert!(proxy.cut() >= 1);
    // While the visitor is away, the counsellor writes.
    for i in 0..3 {
        ann.request(ClientFrame::Send {
            id: ClientMsgId::new(format!("a{i}")),
            conversation: Some(conv),
            text: format!("bericht {i}"),
        })
        .await
        .unwrap();
    }
    // The visitor's next events come after a transparent reconnect.
    let mut texts = Vec::new();
    let mut seqs = Vec::new();
    while texts.len() < 3 {
        if let ServerEvent::Log(l) = v.next_event().await.unwrap() {
            seqs.push(l.seq);
            if let EventBody::Message { text, .. } = l.body {
                texts.push(text);
            }
        }
    }
    // Its own message is not among the events: its ack holds its place in the log.
    assert_eq!(texts, vec!["bericht 0", "bericht 1", "bericht 2"]);
    assert!(!seqs.contains(&mine.seq), "{seqs:?}");
    seqs.push(mine.seq);
    seqs.sort_unstable();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no duplicate: {seqs:?}"
    );
    assert_eq!(v.last_seq(), *seqs.last().unwrap_or(&0));
    assert!(v.resumes >= 1);
}

/// At least 1,000 cut/resume sequences with messages in flight both ways: after each
/// message the visitor sends, its connection is cut at a random moment while the
/// counsellor's reply and the visitor's next message are on their way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_random_cuts_lose_and_duplicate_nothing() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const CUTS: usize = 1_000;
    let server = start(|c| {
        c.rate_burst = 1_000_000;
        c.rate_per_sec = 1_000_000;
    })
    .await;
    let proxy = Arc::new(Proxy::start(server.addr).await);
    let mut ann = staff(&server, "ann").await;
    let mut v = VisitorClient::arrive(&proxy.url, Some(ORIGIN), &desk(), Arrival::default())
        .await
        .unwrap();
    v.set_reconnect(fast_reconnect());
    let conv = assigned(&mut ann).await;

    // The counsellor, on a connection that is never cut, answers every visitor message.
    let stop = Arc::new(AtomicBool::new(false));
    let ann_acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let ann_seen: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let (acked, seen, halt) = (ann_acked.clone(), ann_seen.clone(), stop.clone());
    let counsellor = tokio::spawn(async move {
        let mut i = 0u64;
        loop {
            let e = match tokio::time::timeout(Duration::from_millis(200), ann.next_event()).await {
                Ok(Some(e)) => e,
                Ok(None) => panic!("the counsellor's connection closed"),
                Err(_) if halt.load(Ordering::Relaxed) => break,
                Err(_) => continue,
            };
            let Some((seq, text)) = message_text(&e) else {
                continue;
            };
            seen.lock().unwrap().push((seq, text.clone()));
            if text.starts_with('v') {
                i += 1;
                let reply = format!("a{i}");
                let f = ann
                    .request(ClientFrame::Send {
                        id: ClientMsgId::new(&reply),
                        conversation: Some(conv),
                        text: reply.clone(),
                    })
                    .await
                    .unwrap();
                let ServerFrame::Ack { seq, .. } = f else {
                    panic!("{f:?}")
                };
                acked.lock().unwrap().push((seq, reply));
            }
        }
    });

    // The cutter: after each round the visitor starts, one cut at a random moment in it.
    let cuts = Arc::new(AtomicUsize::new(0));
    let round = Arc::new(tokio::sync::Notify::new());
    let (p, c, r) = (proxy.clone(), cuts.clone(), round.clone());
    let cutter = tokio::spawn(async move {
        let mut seed: u64 = 0x5eed;
        while c.load(Ordering::Relaxed) < CUTS {
            r.notified().await;
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            tokio::time::sleep(Duration::from_micros((seed >> 33) % 1_500)).await;
            if p.cut() > 0 {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let mut v_acked: Vec<(u64, String)> = Vec::new();
    let mut v_seen: Vec<(u64, Role, String)> = Vec::new();
    let mut n = 0u64;
    while cuts.load(Ordering::Relaxed) < CUTS {
        n += 1;
        round.notify_one();
        let text = format!("v{n}");
        let ack = v.send(&text).await.unwrap();
        v_acked.push((ack.seq, text));
        // Read (through cuts) until the visitor has seen everything up to its own message
        // (which does not come back as an event: its ack holds the place).
        while v.last_seq() < ack.seq {
            if let ServerEvent::Log(l) = v.next_event().await.unwrap() {
                if let EventBody::Message { from, text, .. } = l.body {
                    v_seen.push((l.seq, from, text));
                }
            }
        }
    }
    round.notify_one();
    cutter.await.unwrap();
    // Wait until the counsellor has answered the last message, then stop it.
    let expected_replies = v_acked.len();
    while ann_acked.lock().unwrap().len() < expected_replies {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    counsellor.await.unwrap();
    let last_ack = ann_acked
        .lock()
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(0);
    while v.last_seq() < last_ack {
        match tokio::time::timeout(Duration::from_secs(10), v.next_event()).await {
            Ok(Ok(ServerEvent::Log(l))) => {
                if let EventBody::Message { from, text, .. } = l.body {
                    v_seen.push((l.seq, from, text));
                }
            }
            Ok(Ok(_)) => {}
            other => panic!("the visitor stopped receiving: {other:?}"),
        }
    }

    // Everything acknowledged, on both sides, exactly once and in order.
    let mut all_acked: BTreeMap<u64, String> = BTreeMap::new();
    for (seq, text) in v_acked.iter().chain(ann_acked.lock().unwrap().iter()) {
        assert!(
            all_acked.insert(*seq, text.clone()).is_none(),
            "seq {seq} acknowledged twice"
        );
    }
    let expected: Vec<(u64, String)> = all_acked.iter().map(|(s, t)| (*s, t.clone())).collect();
    let visitor_view: Vec<(u64, String)> = v_seen.iter().map(|(s, _, t)| (*s, t.clone())).collect();
    let own: std::collections::HashSet<u64> = v_acked.iter().map(|(s, _)| *s).collect();
    let theirs: Vec<(u64, String)> = expected
        .iter()
        .filter(|(s, _)| !own.contains(s))
        .cloned()
        .collect();
    assert_eq!(
        visitor_view, theirs,
        "the visitor saw every acknowledged message of the counsellor once, in order, and \
         none of its own again"
    );
    let counsellor_view = ann_seen.lock().unwrap().clone();
    let hers: std::collections::HashSet<u64> =
        ann_acked.lock().unwrap().iter().map(|(s, _)| *s).collect();
    let from_visitor: Vec<(u64, String)> = expected
        .iter()
        .filter(|(s, _)| !hers.contains(s))
        .cloned()
        .collect();
    assert_eq!(
        counsellor_view, from_visitor,
        "the counsellor saw every acknowledged message of the visitor once, in order"
    );
    assert!(v_seen.iter().any(|(_, r, _)| *r == Role::Counsellor));
    assert!(cuts.load(Ordering::Relaxed) >= CUTS);
    assert!(v.resumes as usize >= CUTS / 2, "only {} resumes", v.resumes);
    eprintln!(
        "{} cuts, {} resumes, {} messages acknowledged",
        cuts.load(Ordering::Relaxed),
        v.resumes,
        all_acked.len()
    );
}
