//! What the criterion benches share: a runtime, an engine with one always-open desk, staff
//! without password hashing, and event drains that count what arrives so a bench can wait
//! for exactly the work it caused.
//!
//! Benches are for the benchmarker's own machine: a failure here is a setup error, so
//! these helpers panic with a message instead of returning errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::Calendar;
use clbchat_core::config::{Anonymity, DeskConfig};
use clbchat_core::engine::{Arrival, Engine, Events, StaffSession, VisitorSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, ServerEvent};
use clbchat_core::ids::{ConversationId, DeskId, StaffId};
use clbchat_core::registration::ClientType;
use clbchat_core::store::memory::MemoryStore;
use tokio::sync::Notify;

/// The desk id the benches use.
pub const DESK: &str = "clbchat";

/// A multi-threaded runtime with one worker per core, like the server's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Staff accounts without password hashing: a bench measures chats, not Argon2.
#[derive(Default)]
pub struct BenchAuth {
    staff: Mutex<HashMap<String, StaffIdentity>>,
}

#[async_trait]
impl Authenticator for BenchAuth {
    async fn authenticate(&self, credential: &Credential) -> clbchat_core::Result<StaffIdentity> {
        let Credential::Password { username, .. } = credential;
        self.staff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(username)
            .cloned()
            .ok_or(clbchat_core::Error::BadCredentials)
    }
}

/// An engine on the in-memory store with one desk: the national desk's settings, open
/// around the clock, letting `max_queue` wait, offering the next chat without waiting for
/// the last one's registration, and with identified rather than anonymous visitors, so
/// that the queue is measured and not the recognition of returning visitors (see
/// `benches/README.md`).
pub struct World {
    /// The engine.
    pub engine: Engine,
    /// The desk.
    pub desk: DeskId,
    auth: Arc<BenchAuth>,
}

impl World {
    /// A fresh engine on a [`MemoryStore`].
    pub async fn new(max_queue: usize) -> World {
        let auth = Arc::new(BenchAuth::default());
        let engine = Engine::builder(Arc::new(MemoryStore::new()))
            .authenticator(auth.clone())
            .build();
        let mut desk = DeskConfig::national(DESK, Calendar::always_open());
        desk.limits.max_queue = max_queue;
        desk.require_registration = false;
        desk.anonymity = Anonymity::Identified;
        engine
            .add_desk(desk)
            .await
            .expect("the bench desk is valid");
        World {
            engine,
            desk: DeskId::new(DESK),
            auth,
        }
    }

    /// A counsellor who logged in (not yet online).
    pub async fn login(&self, id: &str, capacity: u32) -> StaffSession {
        let identity = StaffIdentity {
            id: StaffId::new(id),
            alias: format!("Bench {id}"),
            role: StaffRole::Counsellor,
            discipline: Discipline::SocialWork,
            desks: vec![self.desk.clone()],
            capacity,
            centre: None,
        };
        self.auth
            .staff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), identity);
        self.engine
            .login(&Credential::Password {
                username: id.into(),
                password: String::new(),
            })
            .await
            .expect("a bench login")
    }

    /// A counsellor online at the desk.
    pub async fn counsellor(&self, id: &str, capacity: u32) -> StaffSession {
        let s = self.login(id, capacity).await;
        s.handle
            .go_online(&self.desk, None)
            .await
            .expect("online at the bench desk");
        s
    }

    /// A student arrives with a new visitor token.
    pub async fn arrive(&self) -> VisitorSession {
        self.engine
            .arrive(
                &self.desk,
                Arrival {
                    visitor_token: None,
                    profile: profile(),
                    appointment: None,
                },
            )
            .await
            .expect("admitted at the bench desk")
    }
}

/// A student's self-report.
pub fn profile() -> ClientProfile {
    ClientProfile {
        client_type: Some(ClientType::Student),
        nickname: Some("Bench".into()),
        ..ClientProfile::default()
    }
}

/// Counts events of one kind across many drains, and wakes a waiter when a target is
/// reached: the bench waits for exactly the events an operation causes, without polling.
#[derive(Debug, Default)]
pub struct Counter {
    count: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

impl Counter {
    /// Starts counting from zero towards `target`.
    pub fn reset(&self, target: u64) {
        self.target.store(target, Ordering::SeqCst);
        self.count.store(0, Ordering::SeqCst);
    }

    /// One more.
    pub fn hit(&self) {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.target.load(Ordering::SeqCst) {
            self.reached.notify_one();
        }
    }

    /// Waits until the target is reached.
    pub async fn wait(&self) {
        loop {
            let reached = self.reached.notified();
            if self.count.load(Ordering::SeqCst) >= self.target.load(Ordering::SeqCst) {
                return;
            }
            reached.await;
        }
    }
}

/// Reads a participant's events until the stream ends, counting `queue` updates.
pub fn drain_queue_updates(mut events: Events, counter: Arc<Counter>) {
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            if matches!(e, ServerEvent::Queue { .. }) {
                counter.hit();
            }
        }
    });
}

/// Reads a participant's events until the stream ends, counting chat messages from the
/// client.
pub fn drain_client_messages(mut events: Events, counter: Arc<Counter>) {
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            if let ServerEvent::Log(l) = &e {
                if matches!(
                    l.body,
                    EventBody::Message {
                        from: clbchat_core::event::Role::Client,
                        ..
                    }
                ) {
                    counter.hit();
                }
            }
        }
    });
}

/// Reads a participant's events until the stream ends, ignoring them.
pub fn drain(mut events: Events) {
    tokio::spawn(async move { while events.next().await.is_some() {} });
}

/// Waits for a counsellor's next `chat_assigned`.
pub async fn next_assignment(events: &mut Events) -> ConversationId {
    loop {
        match events.next().await {
            Some(ServerEvent::ChatAssigned { conversation, .. }) => return conversation,
            Some(_) => continue,
            None => panic!("the counsellor's event stream ended"),
        }
    }
}

/// Waits for a visitor's first `queue` update.
pub async fn first_queue_update(events: &mut Events) {
    loop {
        match events.next().await {
            Some(ServerEvent::Queue { .. }) => return,
            Some(_) => continue,
            None => panic!("the visitor's event stream ended"),
        }
    }
}

/// Waits until a visitor's counsellor joined.
pub async fn joined(events: &mut Events) {
    loop {
        match events.next().await {
            Some(ServerEvent::Log(l)) if matches!(l.body, EventBody::Joined { .. }) => return,
            Some(_) => continue,
            None => panic!("the visitor's event stream ended"),
        }
    }
}
