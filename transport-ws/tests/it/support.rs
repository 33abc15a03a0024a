//! A real server on 127.0.0.1:0 over an in-memory store, accounts with real password
//! hashes, and small helpers to drive clients.

use std::sync::Arc;
use std::time::Duration;

use clbchat_core::account::{Account, StaffIdentity, StaffRole};
use clbchat_core::auth::hash_password;
use clbchat_core::calendar::Calendar;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::Engine;
use clbchat_core::event::{Discipline, EventBody, ServerEvent};
use clbchat_core::ids::{ConversationId, DeskId, StaffId};
use clbchat_core::store::memory::MemoryStore;
use clbchat_core::store::Store;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use clbchat_transport_ws::{OriginPolicy, WsConfig, WsServer};
use tokio::net::TcpListener;

pub const ORIGIN: &str = "https://clbchat.be";
pub const DESK: &str = "clbchat";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub store: Arc<MemoryStore>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn desk() -> DeskId {
    DeskId::new(DESK)
}

/// A server with the origin allow-list [`ORIGIN`], an always-open national desk, and
/// `config` adjusted by `tune`.
pub async fn start(tune: impl FnOnce(&mut WsConfig)) -> TestServer {
    let store = Arc::new(MemoryStore::new());
    for (id, role, discipline) in [
        ("ann", StaffRole::Counsellor, Discipline::Medical),
        ("bob", StaffRole::Counsellor, Discipline::SocialWork),
        (
            "cora",
            StaffRole::Coordinator,
            Discipline::PsychoPedagogical,
        ),
    ] {
        store
            .put_account(&Account {
                username: id.into(),
                password_hash: hash_password(PASSWORD).unwrap(),
                active: true,
                identity: StaffIdentity {
                    id: StaffId::new(id),
                    alias: format!("Medewerker {id}"),
                    role,
                    discipline,
                    desks: vec![desk()],
                    capacity: 1,
                    centre: None,
                },
            })
            .await
            .unwrap();
    }
    let engine = Engine::builder(store.clone()).build();
    let mut d = DeskConfig::national(DESK, Calendar::always_open());
    d.require_registration = false;
    engine.add_desk(d).await.unwrap();
    let mut config = WsConfig::new(OriginPolicy::AllowList(vec![ORIGIN.into()]));
    tune(&mut config);
    let server = WsServer::new(engine.clone(), config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(server.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    TestServer {
        url: format!("ws://{addr}/"),
        addr,
        store,
        stop: Some(stop),
    }
}

/// A logged-in staff client, online at the desk.
pub async fn staff(server: &TestServer, id: &str) -> Client {
    let c = Client::connect(&server.url, Some(ORIGIN)).await.unwrap();
    let f = c
        .request(ClientFrame::Login {
            username: id.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert!(matches!(f, ServerFrame::LoggedIn { .. }), "{f:?}");
    c.request(ClientFrame::Online {
        desk: desk(),
        shift_ends_at: None,
    })
    .await
    .unwrap();
    c
}

/// Waits (at most 10 s of real time: these tests use real sockets) for a matching event.
pub async fn wait_event<T>(
    client: &mut Client,
    mut pick: impl FnMut(&ServerEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let e = client
                .next_event()
                .await
                .expect("connection closed while waiting for an event");
            if let Some(t) = pick(&e) {
                return t;
            }
        }
    })
    .await
    .expect("the expected event did not come within 10 s")
}

/// The conversation of the next chat assigned to a counsellor.
pub async fn assigned(client: &mut Client) -> ConversationId {
    wait_event(client, |e| match e {
        ServerEvent::ChatAssigned { conversation, .. } => Some(*conversation),
        _ => None,
    })
    .await
}

/// The text of a logged message event.
pub fn message_text(e: &ServerEvent) -> Option<(u64, String)> {
    match e {
        ServerEvent::Log(l) => match &l.body {
            EventBody::Message { text, .. } => Some((l.seq, text.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// The next frame that answers no request, within 10 s.
pub async fn next_frame(client: &mut Client) -> Option<ServerFrame> {
    tokio::time::timeout(Duration::from_secs(10), client.next_frame())
        .await
        .expect("no frame within 10 s")
}
