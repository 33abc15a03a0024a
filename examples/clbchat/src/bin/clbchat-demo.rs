//! Run with `cargo run --bin clbchat-demo` (from the workspace root).
//!
//! An evening at the national desk, played through the real engine in-process on a paused
//! clock, so three hours take a moment: counsellors on overlapping shifts, students and
//! parents arriving, chats with the 45-minute limit, registrations and ratings, then the
//! evening's figures: the engine alone, for embedders. The reference server is `clbchat`
//! (`cargo run`); `clbchat demo-data` plays a whole school year into its database.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::{Calendar, WeeklyHours};
use clbchat_core::clock::TokioClock;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine, StaffSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, ServerEvent};
use clbchat_core::ids::{ClientMsgId, DeskId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::memory::MemoryStore;
use clbchat_core::store::Store;

/// Demo accounts: anyone whose user name is known, with the demo password.
struct DemoAuth(Vec<StaffIdentity>);

#[async_trait::async_trait]
impl Authenticator for DemoAuth {
    async fn authenticate(&self, credential: &Credential) -> clbchat_core::Result<StaffIdentity> {
        let Credential::Password { username, password } = credential;
        self.0
            .iter()
            .find(|s| s.id.0 == *username && password == "demo-password")
            .cloned()
            .ok_or(clbchat_core::Error::BadCredentials)
    }
}

fn staff(id: &str, discipline: Discipline) -> StaffIdentity {
    StaffIdentity {
        id: StaffId::new(id),
        alias: format!("Medewerker {}", &id[..1].to_uppercase()),
        role: StaffRole::Counsellor,
        discipline,
        desks: vec![DeskId::new("clbchat")],
        capacity: 1,
        centre: None,
    }
}

async fn counsellor(mut s: StaffSession, desk: DeskId, shift_end: DateTime<Utc>) {
    let _ = s.handle.go_online(&desk, Some(shift_end)).await;
    let mut n = 0;
    while let Some(e) = s.events.next().await {
        n += 1;
        let id = ClientMsgId::new(format!("{}-{n}", s.identity.id));
        match e {
            ServerEvent::ChatAssigned { conversation, .. } => {
                let _ = s
                    .handle
                    .send(conversation, id, "Dag! Waarover wil je chatten?")
                    .await;
            }
            ServerEvent::Log(l)
                if matches!(
                    l.body,
                    EventBody::Message {
                        from: clbchat_core::event::Role::Client,
                        ..
                    }
                ) =>
            {
                let _ = s.handle.send(l.conversation, id, "Dat begrijp ik.").await;
            }
            ServerEvent::RegistrationDue { conversation } => {
                let form = RegistrationForm {
                    client_type: ClientType::Student,
                    age: Some(15),
                    gender: None,
                    topics: vec!["olb.study_choice".into()],
                    results: vec![ChatResult::InformationAdvice],
                    found_via: None,
                    fake_call: false,
                };
                let _ = s.handle.register(conversation, form).await;
            }
            _ => {}
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .context("starting the runtime")?;
    rt.block_on(evening())
}

async fn evening() -> anyhow::Result<()> {
    let brussels = |h, m| {
        chrono_tz::Europe::Brussels
            .with_ymd_and_hms(2022, 3, 2, h, m, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .context("local time")
    };
    let start = brussels(16, 55)?;
    let store = Arc::new(MemoryStore::new());
    let people = vec![
        staff("an", Discipline::Medical),
        staff("bert", Discipline::SocialWork),
        staff("chloe", Discipline::PsychoPedagogical),
    ];
    let engine = Engine::builder(store.clone())
        .clock(Arc::new(TokioClock::starting_at(start)))
        .authenticator(Arc::new(DemoAuth(people.clone())))
        .build();
    let mut calendar = Calendar::default();
    for day in [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
    ] {
        let open = chrono::NaiveTime::from_hms_opt(17, 0, 0).context("time")?;
        let close = chrono::NaiveTime::from_hms_opt(20, 0, 0).context("time")?;
        calendar.weekly.push(WeeklyHours { day, open, close });
    }
    let desk = DeskConfig::national("clbchat", calendar);
    let desk_id = desk.id.clone();
    engine.add_desk(desk).await?;
    println!("CLBch@t demo: Wednesday 2 March 2022, 17:00-20:00 (Brussels), on a paused clock\n");

    for p in &people {
        let s = engine
            .login(&Credential::Password {
                username: p.id.0.clone(),
                password: "demo-password".into(),
            })
            .await?;
        tokio::spawn(counsellor(s, desk_id.clone(), brussels(20, 30)?));
    }
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;

    let mut visits = Vec::new();
    for k in 0..24u64 {
        let engine = engine.clone();
        let desk_id = desk_id.clone();
        visits.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(k * 7 * 60)).await;
            let profile = ClientProfile {
                client_type: Some(if k % 6 == 5 {
                    ClientType::Parent
                } else {
                    ClientType::Student
                }),
                nickname: None,
                age: Some(13 + (k % 5) as u8),
                gender: None,
                health_question: k % 7 == 3,
            };
            let mut v = match engine
                .arrive(
                    &desk_id,
                    Arrival {
                        profile,
                        ..Arrival::default()
                    },
                )
                .await
            {
                Ok(v) => v,
                Err(e) => return format!("refused: {e}"),
            };
            loop {
                match v.events.next().await {
                    Some(ServerEvent::Log(l)) if matches!(l.body, EventBody::Joined { .. }) => {
                        break
                    }
                    Some(ServerEvent::Log(l)) if matches!(l.body, EventBody::Ended { .. }) => {
                        return "sent home at closing time".to_owned();
                    }
                    Some(_) => {}
                    None => return "disconnected".to_owned(),
                }
            }
            for i in 0..(3 + k % 9) {
                tokio::time::sleep(Duration::from_secs(150)).await;
                if v.handle
                    .send(ClientMsgId::new(format!("{i}")), "...")
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let _ = v.handle.leave().await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            let _ = v.handle.rate(4 + (k % 2) as u8, None).await;
            "served".to_owned()
        }));
    }
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for v in visits {
        *outcomes.entry(v.await?).or_default() += 1;
    }
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let s = store
        .summary(Some(&desk_id), brussels(0, 0)?, brussels(23, 59)?)
        .await?;
    println!("\nVisitors: {:?}", outcomes);
    println!(
        "Arrivals {}, served {}, left the queue {}, closed while waiting {}",
        s.arrivals, s.served, s.abandoned_in_queue, s.closed_at_closing_time
    );
    if let (Some(d), Some(w), Some(r)) = (s.mean_duration_secs, s.mean_wait_secs, s.mean_stars) {
        println!(
            "Mean chat {:.1} min, mean wait {:.1} min, mean rating {:.2} stars ({} ratings)",
            d / 60.0,
            w / 60.0,
            r,
            s.ratings
        );
    }
    println!("Registrations: {}", s.registrations);
    println!(
        "\nThe reference server (web pages, WebSocket, SQLite) is `cargo run`; see README.md."
    );
    Ok(())
}
