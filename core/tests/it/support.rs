//! Test helpers: a world with a national desk on the real 2021-2022 calendar, in-memory
//! store, a clock that follows tokio's paused time, staff logins, and event waiting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Brussels;
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::Calendar;
use clbchat_core::clock::TokioClock;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine, Events, StaffSession, VisitorSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, LoggedEvent, ServerEvent};
use clbchat_core::ids::{DeskId, StaffId};
use clbchat_core::partner::RecordingPartner;
use clbchat_core::registration::ClientType;
use clbchat_core::store::memory::MemoryStore;
pub use clbchat_core::store::Store;
use clbchat_core::Error;

/// The password every test account has.
pub const PASSWORD: &str = "correct horse battery";

/// A local Brussels time as UTC.
pub fn brussels(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Brussels
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("unambiguous local time")
        .with_timezone(&Utc)
}

/// The 2021-2022 CLBch@t calendar (test data, also used by the calendar's unit tests).
pub fn clbchat_calendar() -> Calendar {
    toml::from_str(include_str!("../data/clbchat-2021-2022.toml")).expect("calendar data parses")
}

/// Accounts without password hashing cost: username = staff id.
#[derive(Default)]
pub struct TestAuth {
    pub staff: std::sync::Mutex<HashMap<String, StaffIdentity>>,
}

#[async_trait]
impl Authenticator for TestAuth {
    async fn authenticate(&self, credential: &Credential) -> clbchat_core::Result<StaffIdentity> {
        let Credential::Password { username, password } = credential;
        let staff = self.staff.lock().unwrap();
        match staff.get(username) {
            Some(id) if password == PASSWORD => Ok(id.clone()),
            _ => Err(Error::BadCredentials),
        }
    }
}

pub struct World {
    pub engine: Engine,
    pub store: Arc<MemoryStore>,
    pub auth: Arc<TestAuth>,
    pub desk: DeskId,
    pub partner: RecordingPartner,
}

pub const DESK: &str = "clbchat";
pub const PARTNER: &str = "nu-praat-ik-erover";

impl World {
    /// A national desk on the 2021-22 calendar; the wall clock starts at `start` and moves
    /// with tokio's clock.
    pub async fn at(start: DateTime<Utc>) -> World {
        Self::with_desk(start, DeskConfig::national(DESK, clbchat_calendar())).await
    }

    pub async fn with_desk(start: DateTime<Utc>, desk: DeskConfig) -> World {
        let store = Arc::new(MemoryStore::new());
        let auth = Arc::new(TestAuth::default());
        let partner = RecordingPartner::new(
            PARTNER,
            "Nu praat ik erover",
            "https://partner.example/chat",
        );
        let engine = Engine::builder(store.clone())
            .clock(Arc::new(TokioClock::starting_at(start)))
            .authenticator(auth.clone())
            .partner(Arc::new(partner.clone()))
            .build();
        let id = desk.id.clone();
        engine.add_desk(desk).await.expect("desk is valid");
        World {
            engine,
            store,
            auth,
            desk: id,
            partner,
        }
    }

    /// An engine over a given store, authenticator and clock (a restart is a second one
    /// over the same three), with the national desk on the 2021-22 calendar.
    pub async fn over(
        store: Arc<MemoryStore>,
        auth: Arc<TestAuth>,
        clock: Arc<TokioClock>,
    ) -> World {
        let engine = Engine::builder(store.clone())
            .clock(clock)
            .authenticator(auth.clone())
            .build();
        engine
            .add_desk(DeskConfig::national(DESK, clbchat_calendar()))
            .await
            .expect("desk is valid");
        World {
            engine,
            store,
            auth,
            desk: DeskId::new(DESK),
            partner: RecordingPartner::new("p", "p", "p"),
        }
    }

    /// Stores an account for a logged-in staff member (what recovery and the login guard
    /// look staff up by; [`TestAuth`] itself needs none).
    pub async fn keep_account(&self, identity: &StaffIdentity) {
        self.store
            .put_account(&clbchat_core::account::Account {
                username: identity.id.0.clone(),
                password_hash: String::new(),
                active: true,
                identity: identity.clone(),
            })
            .await
            .expect("stored");
    }

    /// Creates an account and logs in.
    pub async fn login(
        &self,
        id: &str,
        role: StaffRole,
        discipline: Discipline,
        capacity: u32,
    ) -> StaffSession {
        self.login_for(id, role, discipline, capacity, vec![self.desk.clone()])
            .await
    }

    pub async fn login_for(
        &self,
        id: &str,
        role: StaffRole,
        discipline: Discipline,
        capacity: u32,
        desks: Vec<DeskId>,
    ) -> StaffSession {
        let identity = StaffIdentity {
            id: StaffId::new(id),
            alias: format!("Medewerker {id}"),
            role,
            discipline,
            desks,
            capacity,
            centre: None,
        };
        self.auth
            .staff
            .lock()
            .unwrap()
            .insert(id.to_owned(), identity);
        self.engine
            .login(&Credential::Password {
                username: id.into(),
                password: PASSWORD.into(),
            })
            .await
            .expect("login")
    }

    /// A counsellor of `centre` on this (blended) desk, logged in, with a stored account
    /// (the engine finds a stand-in's centre by their account); online when `online`.
    pub async fn centre_counsellor(&self, id: &str, centre: &str, online: bool) -> StaffSession {
        let identity = StaffIdentity {
            id: StaffId::new(id),
            alias: format!("Medewerker {id}"),
            role: StaffRole::Counsellor,
            discipline: Discipline::PsychoPedagogical,
            desks: vec![self.desk.clone()],
            capacity: 1,
            centre: Some(clbchat_core::ids::CentreId::new(centre)),
        };
        self.keep_account(&identity).await;
        self.auth
            .staff
            .lock()
            .unwrap()
            .insert(id.to_owned(), identity);
        let s = self
            .engine
            .login(&Credential::Password {
                username: id.into(),
                password: PASSWORD.into(),
            })
            .await
            .expect("login");
        if online {
            s.handle.go_online(&self.desk, None).await.expect("online");
        }
        s
    }

    /// A counsellor logged in and online at the desk.
    pub async fn counsellor(&self, id: &str, discipline: Discipline) -> StaffSession {
        let s = self.login(id, StaffRole::Counsellor, discipline, 1).await;
        s.handle.go_online(&self.desk, None).await.expect("online");
        s
    }

    /// A coordinator logged in and online at the desk (not answering chats).
    pub async fn coordinator(&self, id: &str) -> StaffSession {
        let s = self
            .login(id, StaffRole::Coordinator, Discipline::PsychoPedagogical, 1)
            .await;
        s.handle.go_online(&self.desk, None).await.expect("online");
        s
    }

    /// A student arrives with a fresh token.
    pub async fn student(&self) -> VisitorSession {
        self.arrive(student_profile(false), None)
            .await
            .expect("admitted")
    }

    pub async fn arrive(
        &self,
        profile: ClientProfile,
        token: Option<String>,
    ) -> clbchat_core::Result<VisitorSession> {
        self.engine
            .arrive(
                &self.desk,
                Arrival {
                    visitor_token: token,
                    profile,
                    appointment: None,
                },
            )
            .await
    }
}

pub fn student_profile(health_question: bool) -> ClientProfile {
    ClientProfile {
        client_type: Some(ClientType::Student),
        nickname: Some("Sam".into()),
        age: Some(15),
        gender: None,
        health_question,
    }
}

/// Waits (in virtual time, at most a virtual day) for the first event that matches.
pub async fn wait_for<T>(
    events: &mut Events,
    mut pick: impl FnMut(&ServerEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(Duration::from_secs(24 * 3600), async {
        loop {
            match events.next().await {
                Some(e) => {
                    if let Some(t) = pick(&e) {
                        return t;
                    }
                }
                None => panic!("the event stream ended before the expected event"),
            }
        }
    })
    .await;
    found.expect("the expected event did not come within a virtual day")
}

/// Waits for a logged event whose body matches.
pub async fn wait_log(
    events: &mut Events,
    mut pick: impl FnMut(&EventBody) -> bool,
) -> LoggedEvent {
    wait_for(events, |e| match e {
        ServerEvent::Log(l) if pick(&l.body) => Some(l.clone()),
        _ => None,
    })
    .await
}

/// Drains what is already queued, without waiting.
pub fn drain(events: &mut Events) -> Vec<ServerEvent> {
    let mut v = Vec::new();
    while let Some(e) = events.try_next() {
        v.push(e);
    }
    v
}

/// A barrier on paused time: tokio advances a paused clock only when every task is idle,
/// so when this one-millisecond virtual sleep returns, all work that could run has run.
/// Used before a negative check ("nothing was assigned"); it waits for no real time.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

pub async fn open_world() -> World {
    World::at(brussels(2021, 10, 13, 15, 0)).await
}

/// A student arrives and is served by `counsellor` (who must be the one free counsellor).
pub async fn chat_with(world: &World, counsellor: &mut StaffSession) -> VisitorSession {
    chat_with_token(world, counsellor, None).await
}

/// The same for a student who comes with `token` (a returning visitor), or a new one.
pub async fn chat_with_token(
    world: &World,
    counsellor: &mut StaffSession,
    token: Option<String>,
) -> VisitorSession {
    let mut student = world
        .arrive(student_profile(false), token)
        .await
        .expect("admitted");
    let conversation = student.conversation;
    wait_for(&mut counsellor.events, |e| match e {
        ServerEvent::ChatAssigned {
            conversation: c, ..
        } if *c == conversation => Some(()),
        _ => None,
    })
    .await;
    wait_log(&mut student.events, |b| {
        matches!(b, EventBody::Joined { .. })
    })
    .await;
    student
}

/// Every event up to and including the first one that matches.
pub async fn events_until(
    events: &mut Events,
    mut stop: impl FnMut(&ServerEvent) -> bool,
) -> Vec<ServerEvent> {
    let mut seen = Vec::new();
    wait_for(events, |e| {
        seen.push(e.clone());
        stop(e).then_some(())
    })
    .await;
    seen
}

pub fn body(e: &ServerEvent) -> Option<&EventBody> {
    match e {
        ServerEvent::Log(l) => Some(&l.body),
        _ => None,
    }
}

pub fn is_message_with(e: &ServerEvent, text: &str) -> bool {
    matches!(body(e), Some(EventBody::Message { text: t, .. }) if t == text)
}

pub fn mentions(events: &[ServerEvent], text: &str) -> bool {
    events.iter().any(|e| {
        serde_json::to_string(e)
            .expect("events serialize")
            .contains(text)
    })
}

/// A student and a free social-work counsellor in a running chat.
pub async fn running_chat(world: &World) -> (VisitorSession, StaffSession) {
    let mut c = world.counsellor("c1", Discipline::SocialWork).await;
    let mut v = world.student().await;
    wait_for(&mut c.events, |e| {
        matches!(e, ServerEvent::ChatAssigned { .. }).then_some(())
    })
    .await;
    wait_log(&mut v.events, |b| matches!(b, EventBody::Joined { .. })).await;
    (v, c)
}
