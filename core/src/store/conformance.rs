//! The conformance suite: the [`Store`] contract as executable checks.
//!
//! Every store runs it: the in-memory reference and the SQL stores (SQLite and PostgreSQL,
//! from `clbchat-store-sql`'s tests). [`run_all`] gives each check a fresh, empty store from
//! a factory; each check is also a `pub async fn` of its own, so an adapter can run one alone
//! while it hunts a failure. Every instant is fixed (no real clock), so every figure is exact.
//!
//! ```
//! use clbchat_core::store::memory::MemoryStore;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! clbchat_core::store::conformance::run_all(|| async { MemoryStore::new() }).await;
//! # });
//! ```

use std::future::Future;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};

use super::{
    ConversationFilter, ConversationMeta, ConversationState, ReadAuditFilter, Store, Summary,
    TranscriptRead,
};
use crate::account::{Account, StaffIdentity, StaffRole};
use crate::appointment::{Appointment, AppointmentFilter, AppointmentStatus};
use crate::calendar::{Calendar, Closure, EventWindow, HolidayPeriod, WeeklyHours};
use crate::centre::Centre;
use crate::error::{Error, StoreErrorKind};
use crate::event::{
    ClientProfile, Discipline, EndReason, EventBody, LoggedEvent, Role, TransferTarget,
};
use crate::flags::{Flag, FlagKind, FlagStatus};
use crate::ids::{
    AppointmentId, CentreId, ClientMsgId, ConversationId, DeskId, FlagId, StaffId, TrajectoryId,
};
use crate::pseudonym::Pseudonym;
use crate::registration::{ChatResult, ClientType, FoundVia, Gender, Rating, Registration};
use crate::review::{EraseRequest, Erasure, Feedback, FeedbackFilter};
use crate::statistics::{
    ClientFigures, CoverageFigures, CoverageSample, DeskFigures, EventFigures, EventQuery, Period,
    PeriodCount, ReportData, ReportQuery, ThemeClient, ThemeFigures, TopicCount, Totals,
};

macro_rules! checks {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The names of all checks, in the order [`run_all`] runs them.
        pub const CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Runs every check, each on a fresh store made by `make`.
        ///
        /// Panics (with the check's name and what differed) at the first failure. The name of
        /// each check is printed to stderr before it runs, which the test harness shows only
        /// when the test fails.
        pub async fn run_all<S, F, Fut>(mut make: F)
        where
            S: Store,
            F: FnMut() -> Fut,
            Fut: Future<Output = S>,
        {
            $(
                {
                    eprintln!("conformance: {}", stringify!($name));
                    let store = make().await;
                    $name(&store).await;
                }
            )*
        }
    };
}

checks! {
    conversation_round_trip,
    conversation_filter,
    append_sequence_rules,
    events_round_trip_exactly,
    concurrent_appends,
    transcript_read_is_audited,
    read_audit,
    purge_transcripts,
    purge_client_files,
    feedback,
    erase_on_request,
    registration_and_rating_once,
    count_visits,
    forget_visits,
    flags,
    rekey_pseudonym,
    accounts,
    calendars,
    centres,
    appointments,
    summary,
    report,
    report_of_one_desk,
    report_of_events,
    coverage,
}

// ---------------------------------------------------------------------------------------
// helpers

/// A fixed instant (UTC).
fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(y, mo, d, h, mi, s) {
        chrono::LocalResult::Single(t) => t,
        _ => panic!("conformance: bad fixed instant {y}-{mo}-{d} {h}:{mi}:{s}"),
    }
}

fn base() -> DateTime<Utc> {
    t(2022, 3, 1, 16, 0, 0)
}

fn desk(name: &str) -> DeskId {
    DeskId::new(name)
}

fn meta(desk_name: &str, arrived_at: DateTime<Utc>) -> ConversationMeta {
    ConversationMeta {
        id: ConversationId::random(),
        desk: desk(desk_name),
        pseudonym: None,
        profile: ClientProfile::default(),
        state: ConversationState::Waiting,
        counsellor: None,
        arrived_at,
        started_at: None,
        ended_at: None,
        end_reason: None,
        resume_token_hash: "0".repeat(64),
    }
}

/// A conversation served at `started` and ended at `ended` for `reason`.
fn served(
    desk_name: &str,
    arrived_at: DateTime<Utc>,
    started: DateTime<Utc>,
    ended: Option<(DateTime<Utc>, EndReason)>,
) -> ConversationMeta {
    let mut m = meta(desk_name, arrived_at);
    m.started_at = Some(started);
    m.counsellor = Some(StaffId::new("c-anna"));
    m.state = ConversationState::Active;
    if let Some((at, reason)) = ended {
        m.state = ConversationState::Ended;
        m.ended_at = Some(at);
        m.end_reason = Some(reason);
    }
    m
}

fn message(conversation: ConversationId, seq: u64, at: DateTime<Utc>, text: &str) -> LoggedEvent {
    LoggedEvent {
        conversation,
        seq,
        at,
        body: EventBody::Message {
            from: Role::Client,
            author: "Vlinder".into(),
            text: text.into(),
            client_msg_id: ClientMsgId::new(format!("m{seq}")),
        },
    }
}

async fn put<S: Store + ?Sized>(store: &S, m: &ConversationMeta) {
    store
        .put_conversation(m)
        .await
        .unwrap_or_else(|e| panic!("put_conversation failed: {e}"));
}

async fn append_ok<S: Store + ?Sized>(store: &S, e: &LoggedEvent) {
    store
        .append(e)
        .await
        .unwrap_or_else(|err| panic!("append of seq {} failed: {err}", e.seq));
}

/// Appends `n` messages numbered from 1, one second apart from `start`.
async fn append_messages<S: Store + ?Sized>(
    store: &S,
    id: ConversationId,
    start: DateTime<Utc>,
    n: u64,
) -> Vec<LoggedEvent> {
    let mut out = Vec::new();
    for seq in 1..=n {
        let e = message(
            id,
            seq,
            start + Duration::seconds(seq as i64),
            &format!("bericht {seq}"),
        );
        append_ok(store, &e).await;
        out.push(e);
    }
    out
}

fn kind_of<T: std::fmt::Debug>(r: &crate::error::Result<T>) -> Option<StoreErrorKind> {
    match r {
        Ok(_) => None,
        Err(e) => e.store_kind(),
    }
}

fn is_invalid(e: &Error) -> bool {
    matches!(e, Error::Invalid(_)) || e.store_kind() == Some(StoreErrorKind::Invalid)
}

fn registration(conversation: ConversationId, desk_name: &str, fake_call: bool) -> Registration {
    Registration {
        conversation,
        desk: desk(desk_name),
        counsellor: StaffId::new("c-anna"),
        client_type: ClientType::Student,
        age: Some(15),
        gender: Some(Gender::F),
        topics: vec!["olb.study_choice".into(), "psf.family".into()],
        results: vec![ChatResult::InformationAdvice, ChatResult::EmotionalSupport],
        found_via: Some(FoundVia::Smartschool),
        fake_call,
        registered_at: t(2022, 3, 1, 21, 0, 0),
    }
}

fn rating(conversation: ConversationId, desk_name: &str, stars: u8) -> Rating {
    Rating {
        conversation,
        desk: desk(desk_name),
        stars,
        comment: Some("Dankjewel, dit hielp!".into()),
        rated_at: t(2022, 3, 1, 21, 0, 0),
    }
}

fn pseudonym(s: &str) -> Pseudonym {
    Pseudonym(format!("k1:{s}"))
}

fn flag(p: &Pseudonym, desk_name: &str, created_at: DateTime<Utc>) -> Flag {
    Flag {
        id: FlagId::random(),
        pseudonym: p.clone(),
        desk: desk(desk_name),
        kind: FlagKind::SuspectedFakeCall,
        status: FlagStatus::Open,
        conversation: None,
        raised_by: Some(StaffId::new("c-anna")),
        reviewed_by: None,
        created_at,
        expires_at: created_at + Duration::days(90),
    }
}

fn account(username: &str) -> Account {
    Account {
        username: username.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${username}"),
        active: true,
        identity: StaffIdentity {
            id: StaffId::new(format!("id-{username}")),
            alias: format!("Alias {username}"),
            role: StaffRole::Counsellor,
            discipline: Discipline::Medical,
            desks: vec![desk("national"), desk("clb-gent")],
            capacity: 2,
            centre: None,
        },
    }
}

fn ids(v: &[ConversationMeta]) -> Vec<ConversationId> {
    v.iter().map(|c| c.id).collect()
}

// ---------------------------------------------------------------------------------------
// the checks

/// Conversation metadata is stored whole, replaced by a second put, and absent ids give `None`.
pub async fn conversation_round_trip<S: Store + ?Sized>(store: &S) {
    let mut m = meta("national", base());
    m.pseudonym = Some(pseudonym("aa"));
    m.profile = ClientProfile {
        client_type: Some(ClientType::Parent),
        nickname: Some("Mama van Lies".into()),
        age: Some(11),
        gender: Some(Gender::X),
        health_question: true,
    };
    put(store, &m).await;
    let got = store.conversation(m.id).await.expect("conversation");
    assert_eq!(
        got.as_ref(),
        Some(&m),
        "conversation_round_trip: the stored metadata differs"
    );

    let mut replaced = m.clone();
    replaced.state = ConversationState::Ended;
    replaced.counsellor = Some(StaffId::new("c-bert"));
    replaced.started_at = Some(base() + Duration::seconds(90));
    replaced.ended_at = Some(base() + Duration::minutes(30));
    replaced.end_reason = Some(EndReason::TimeLimit);
    replaced.pseudonym = None;
    put(store, &replaced).await;
    let got = store.conversation(m.id).await.expect("conversation");
    assert_eq!(
        got,
        Some(replaced),
        "conversation_round_trip: a second put must replace the first"
    );

    let unknown = store
        .conversation(ConversationId::random())
        .await
        .expect("conversation");
    assert_eq!(
        unknown, None,
        "conversation_round_trip: an unknown id must give None"
    );
    let all = store
        .conversations(&ConversationFilter::default())
        .await
        .expect("conversations");
    assert_eq!(
        all.len(),
        1,
        "conversation_round_trip: a replaced conversation is listed once"
    );
}

/// Listing filters by desk, states and arrival range `[from, until)`, newest first, limited.
pub async fn conversation_filter<S: Store + ?Sized>(store: &S) {
    let a = meta("national", base()); // waiting
    let b = served(
        "national",
        base() + Duration::hours(1),
        base() + Duration::hours(1),
        None,
    );
    let c = served(
        "national",
        base() + Duration::hours(2),
        base() + Duration::hours(2),
        Some((base() + Duration::hours(3), EndReason::ClientLeft)),
    );
    let d = meta("clb-gent", base() + Duration::hours(3));
    let e = meta("national", base() + Duration::hours(4));
    // Inserted out of order: the order of the answer comes from the arrival times.
    for m in [&c, &a, &e, &d, &b] {
        put(store, m).await;
    }
    let list = |f: ConversationFilter| async move {
        store.conversations(&f).await.expect("conversations")
    };

    let all = list(ConversationFilter::default()).await;
    assert_eq!(
        ids(&all),
        vec![e.id, d.id, c.id, b.id, a.id],
        "conversation_filter: all conversations, newest arrival first"
    );
    let national = list(ConversationFilter {
        desk: Some(desk("national")),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&national),
        vec![e.id, c.id, b.id, a.id],
        "conversation_filter: by desk"
    );
    let live = list(ConversationFilter {
        states: vec![ConversationState::Waiting, ConversationState::Active],
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&live),
        vec![e.id, d.id, b.id, a.id],
        "conversation_filter: by states"
    );
    let ended = list(ConversationFilter {
        states: vec![ConversationState::Ended],
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&ended), vec![c.id], "conversation_filter: ended only");
    let range = list(ConversationFilter {
        arrived_from: Some(base() + Duration::hours(1)),
        arrived_until: Some(base() + Duration::hours(3)),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&range),
        vec![c.id, b.id],
        "conversation_filter: the range includes its start and excludes its end"
    );
    let limited = list(ConversationFilter {
        desk: Some(desk("national")),
        limit: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&limited),
        vec![e.id, c.id],
        "conversation_filter: the limit keeps the newest"
    );
    let none = list(ConversationFilter {
        limit: Some(0),
        ..Default::default()
    })
    .await;
    assert!(
        none.is_empty(),
        "conversation_filter: limit 0 gives nothing"
    );
    let held = list(ConversationFilter {
        counsellor: Some(StaffId::new("c-anna")),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&held),
        vec![c.id, b.id],
        "conversation_filter: the chats a counsellor held"
    );
    append_messages(store, c.id, base() + Duration::hours(2), 2).await;
    let readable = list(ConversationFilter {
        with_transcript: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&readable),
        vec![c.id],
        "conversation_filter: only those with text stored"
    );
    let combined = list(ConversationFilter {
        desk: Some(desk("national")),
        states: vec![ConversationState::Waiting],
        arrived_from: Some(base()),
        arrived_until: Some(base() + Duration::hours(5)),
        limit: Some(10),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&combined),
        vec![e.id, a.id],
        "conversation_filter: all criteria at once"
    );
    let other = list(ConversationFilter {
        desk: Some(desk("nowhere")),
        ..Default::default()
    })
    .await;
    assert!(
        other.is_empty(),
        "conversation_filter: an unknown desk has no conversations"
    );
}

/// Sequence numbers start at 1 and have no gaps; a refused append stores nothing.
pub async fn append_sequence_rules<S: Store + ?Sized>(store: &S) {
    let m = meta("national", base());
    put(store, &m).await;
    let at = base();

    let unknown = store
        .append(&message(ConversationId::random(), 1, at, "x"))
        .await;
    assert_eq!(
        kind_of(&unknown),
        Some(StoreErrorKind::NotFound),
        "append_sequence_rules: appending to an unknown conversation is NotFound, got {unknown:?}"
    );
    for bad in [0, 2] {
        let r = store.append(&message(m.id, bad, at, "x")).await;
        assert_eq!(
            kind_of(&r),
            Some(StoreErrorKind::Conflict),
            "append_sequence_rules: the first seq must be 1 (seq {bad} gave {r:?})"
        );
    }
    let stored = append_messages(store, m.id, at, 3).await;
    for bad in [3, 5, 1] {
        let r = store.append(&message(m.id, bad, at, "x")).await;
        assert_eq!(
            kind_of(&r),
            Some(StoreErrorKind::Conflict),
            "append_sequence_rules: seq {bad} after 3 must be a Conflict, got {r:?}"
        );
    }
    let all = store.events_after(m.id, 0).await.expect("events_after");
    assert_eq!(
        all, stored,
        "append_sequence_rules: refused appends must store nothing"
    );

    let four = message(m.id, 4, at + Duration::seconds(10), "vier");
    append_ok(store, &four).await;
    let after2 = store.events_after(m.id, 2).await.expect("events_after");
    assert_eq!(
        after2.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4],
        "append_sequence_rules: events_after(2) gives 3 and 4, in order"
    );
    assert_eq!(
        after2[1], four,
        "append_sequence_rules: the event comes back as appended"
    );
    let after_last = store.events_after(m.id, 4).await.expect("events_after");
    assert!(
        after_last.is_empty(),
        "append_sequence_rules: nothing after the last seq"
    );
    let far = store.events_after(m.id, 1_000).await.expect("events_after");
    assert!(
        far.is_empty(),
        "append_sequence_rules: nothing after a seq beyond the end"
    );

    // Logs are per conversation.
    let other = meta("national", base());
    put(store, &other).await;
    append_ok(store, &message(other.id, 1, at, "andere")).await;
    let other_log = store.events_after(other.id, 0).await.expect("events_after");
    assert_eq!(
        other_log.len(),
        1,
        "append_sequence_rules: each conversation has its own log"
    );
    let first = store.events_after(m.id, 0).await.expect("events_after");
    assert_eq!(
        first.len(),
        4,
        "append_sequence_rules: another conversation's append is not ours"
    );
    let none = store
        .events_after(ConversationId::random(), 0)
        .await
        .expect("events_after");
    assert!(
        none.is_empty(),
        "append_sequence_rules: an unknown conversation has no events"
    );
}

/// Every kind of event comes back exactly as appended, instants to the nanosecond.
pub async fn events_round_trip_exactly<S: Store + ?Sized>(store: &S) {
    let m = meta("national", base());
    put(store, &m).await;
    let staff = StaffId::new("c-anna");
    let coord = StaffId::new("k-karel");
    let bodies = vec![
        EventBody::Joined {
            role: Role::Counsellor,
            alias: "Anna".into(),
        },
        EventBody::Message {
            from: Role::Client,
            author: "Vlinder 🦋".into(),
            text:
                "Hoi, ik weet niet goed wat ik moet kiezen… \"ASO\" of 'TSO'?\nRegel 2\t\u{0}einde"
                    .into(),
            client_msg_id: ClientMsgId::new("b2c1-0001"),
        },
        EventBody::Left {
            role: Role::Client,
            alias: "Vlinder".into(),
        },
        EventBody::TimeWarning { minutes_left: 5 },
        EventBody::Extended { minutes: 10 },
        EventBody::ExtensionReason {
            by: staff.clone(),
            reason: "crisis".into(),
        },
        EventBody::IdlePrompt,
        EventBody::ClientReconnecting,
        EventBody::ClientResumed,
        EventBody::TransferOffered {
            from: staff.clone(),
            to: TransferTarget::Discipline {
                discipline: Discipline::Medical,
            },
            note: "medische vraag".into(),
        },
        EventBody::TransferDeclined { by: coord.clone() },
        EventBody::TransferAccepted {
            from: staff.clone(),
            to: coord.clone(),
        },
        EventBody::PartnerOffered {
            partner: "npio".into(),
            partner_name: "Nu praat ik erover".into(),
            summary: "Leerling, 14, vraag over rechten thuis".into(),
        },
        EventBody::PartnerFailed {
            partner: "npio".into(),
            reason: "niet bereikbaar".into(),
        },
        EventBody::PartnerConsent {
            partner: "npio".into(),
            consent: true,
        },
        EventBody::TransferredOut {
            partner: "npio".into(),
            continue_at: "https://example.invalid/x".into(),
        },
        EventBody::Whisper {
            from: coord.clone(),
            role: Role::Coordinator,
            text: "goed bezig".into(),
        },
        EventBody::TakenOver {
            by: coord,
            from: Some(staff),
        },
        EventBody::Ended {
            reason: EndReason::TransferredOut,
        },
    ];
    let mut appended = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let seq = i as u64 + 1;
        // Nanoseconds that no microsecond clock can hold.
        let at = (base() + Duration::seconds(seq as i64))
            .with_nanosecond(123_456_789 + i as u32)
            .unwrap_or_else(|| panic!("events_round_trip_exactly: bad nanosecond"));
        let e = LoggedEvent {
            conversation: m.id,
            seq,
            at,
            body,
        };
        append_ok(store, &e).await;
        appended.push(e);
    }
    let got = store.events_after(m.id, 0).await.expect("events_after");
    assert_eq!(
        got, appended,
        "events_round_trip_exactly: the log differs from what was appended"
    );

    let mut m2 = m.clone();
    m2.arrived_at = base().with_nanosecond(987_654_321).unwrap_or(base());
    put(store, &m2).await;
    let got = store.conversation(m.id).await.expect("conversation");
    assert_eq!(
        got,
        Some(m2),
        "events_round_trip_exactly: arrival instants keep their nanoseconds"
    );
}

/// Many conversations appending at once (what group commit batches) all succeed, in order;
/// of several appends of the same seq at once, exactly one succeeds.
pub async fn concurrent_appends<S: Store + ?Sized>(store: &S) {
    const CONVERSATIONS: usize = 12;
    const EVENTS: u64 = 15;
    let mut convs = Vec::new();
    for i in 0..CONVERSATIONS {
        let m = meta("national", base() + Duration::seconds(i as i64));
        put(store, &m).await;
        convs.push(m.id);
    }
    // Each conversation appends its events in order; the conversations run concurrently.
    let per_conversation = convs.iter().map(|&id| async move {
        for seq in 1..=EVENTS {
            let e = message(
                id,
                seq,
                base() + Duration::seconds(seq as i64),
                &format!("{id} {seq}"),
            );
            store
                .append(&e)
                .await
                .map_err(|err| format!("{id} seq {seq}: {err}"))?;
        }
        Ok::<_, String>(())
    });
    for r in futures::future::join_all(per_conversation).await {
        r.unwrap_or_else(|e| panic!("concurrent_appends: an append failed: {e}"));
    }
    for &id in &convs {
        let log = store.events_after(id, 0).await.expect("events_after");
        let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=EVENTS).collect::<Vec<_>>(),
            "concurrent_appends: log of {id}"
        );
        for e in &log {
            let EventBody::Message { text, .. } = &e.body else {
                panic!("concurrent_appends: unexpected event {e:?}")
            };
            assert_eq!(
                text,
                &format!("{id} {}", e.seq),
                "concurrent_appends: event in the wrong place"
            );
        }
    }

    // The same seq from several writers at once: one wins, the others are told Conflict.
    let id = convs[0];
    let racers = (0..8).map(|i| async move {
        store
            .append(&message(id, EVENTS + 1, base(), &format!("racer {i}")))
            .await
    });
    let results = futures::future::join_all(racers).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        won, 1,
        "concurrent_appends: exactly one of the racing appends wins: {results:?}"
    );
    for r in &results {
        if r.is_err() {
            assert_eq!(
                kind_of(r),
                Some(StoreErrorKind::Conflict),
                "concurrent_appends: the losers get Conflict, got {r:?}"
            );
        }
    }
    let log = store.events_after(id, EVENTS).await.expect("events_after");
    assert_eq!(
        log.len(),
        1,
        "concurrent_appends: the winner is stored once"
    );
}

/// Reading a transcript writes one audit row (who, when, why) per read; no purpose, no read.
pub async fn transcript_read_is_audited<S: Store + ?Sized>(store: &S) {
    let m = meta("national", base());
    put(store, &m).await;
    let log = append_messages(store, m.id, base(), 3).await;
    let read1 = TranscriptRead {
        conversation: m.id,
        reader: StaffId::new("k-karel"),
        at: t(2022, 3, 2, 10, 0, 0),
        purpose: "chat scan".into(),
    };
    let got = store
        .read_transcript(&read1)
        .await
        .expect("read_transcript");
    assert_eq!(
        got, log,
        "transcript_read_is_audited: the transcript is the whole log"
    );
    let reads = store
        .transcript_reads(m.id)
        .await
        .expect("transcript_reads");
    assert_eq!(
        reads,
        vec![read1.clone()],
        "transcript_read_is_audited: one read, one audit row"
    );

    for purpose in ["", "   "] {
        let bad = TranscriptRead {
            purpose: purpose.into(),
            ..read1.clone()
        };
        let r = store.read_transcript(&bad).await;
        match r {
            Err(e) => assert!(
                is_invalid(&e),
                "transcript_read_is_audited: an empty purpose is Invalid, got {e:?}"
            ),
            Ok(events) => panic!(
                "transcript_read_is_audited: a read without a purpose returned {} events",
                events.len()
            ),
        }
    }
    let unknown = TranscriptRead {
        conversation: ConversationId::random(),
        ..read1.clone()
    };
    let r = store.read_transcript(&unknown).await;
    assert_eq!(
        kind_of(&r),
        Some(StoreErrorKind::NotFound),
        "transcript_read_is_audited: reading an unknown conversation is NotFound, got {r:?}"
    );
    let none = store
        .transcript_reads(unknown.conversation)
        .await
        .expect("transcript_reads");
    assert!(
        none.is_empty(),
        "transcript_read_is_audited: a refused read leaves no audit row"
    );

    // The participants' own resume path is not a staff read.
    store.events_after(m.id, 0).await.expect("events_after");
    let read2 = TranscriptRead {
        conversation: m.id,
        reader: StaffId::new("c-anna"),
        at: t(2022, 3, 3, 10, 0, 0),
        purpose: "intervisie".into(),
    };
    store
        .read_transcript(&read2)
        .await
        .expect("read_transcript");
    let reads = store
        .transcript_reads(m.id)
        .await
        .expect("transcript_reads");
    assert_eq!(
        reads,
        vec![read1, read2],
        "transcript_read_is_audited: exactly one row per read, oldest first; none for refused \
         reads or events_after"
    );
    let other = meta("national", base());
    put(store, &other).await;
    let reads = store
        .transcript_reads(other.id)
        .await
        .expect("transcript_reads");
    assert!(
        reads.is_empty(),
        "transcript_read_is_audited: audit rows belong to their conversation"
    );
}

/// The read audit lists the rows of a desk's chats in a period, newest first (equal
/// instants: the later written first), by reader and by purpose name (with or without a
/// note), with each chat's desk and counsellor, at most `limit`.
pub async fn read_audit<S: Store + ?Sized>(store: &S) {
    let gent = served(
        "clb-gent",
        base(),
        base(),
        Some((base(), EndReason::ClientLeft)),
    );
    let genk = served(
        "clb-genk",
        base(),
        base(),
        Some((base(), EndReason::ClientLeft)),
    );
    for m in [&gent, &genk] {
        put(store, m).await;
        append_messages(store, m.id, base(), 1).await;
    }
    let read = |conversation, reader: &str, minutes: i64, purpose: &str| TranscriptRead {
        conversation,
        reader: StaffId::new(reader),
        at: base() + Duration::minutes(minutes),
        purpose: purpose.into(),
    };
    let rows = [
        read(gent.id, "cora", 10, "chat_scan"),
        read(gent.id, "cora", 20, "flag_review: frequent_visitor"),
        read(gent.id, "dirk", 20, "chat_scan: nieuwe collega"),
        read(genk.id, "eva", 30, "chat_scan"),
        read(gent.id, "cora", 40, "chat_scanner"),
    ];
    for r in &rows {
        store.read_transcript(r).await.expect("read_transcript");
    }
    let list = |desk: Option<&str>, reader: Option<&str>, purpose: Option<&str>, limit| {
        let filter = ReadAuditFilter {
            desk: desk.map(DeskId::new),
            from: base(),
            to: base() + Duration::minutes(35),
            reader: reader.map(StaffId::new),
            purpose: purpose.map(str::to_owned),
            limit,
        };
        async move {
            store
                .read_audit(&filter)
                .await
                .expect("read_audit")
                .into_iter()
                .map(|r| (r.read.reader.0, r.read.purpose, r.desk.0))
                .collect::<Vec<_>>()
        }
    };
    let owned = |v: &[(&str, &str, &str)]| {
        v.iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(Some("clb-gent"), None, None, 100).await,
        owned(&[
            ("dirk", "chat_scan: nieuwe collega", "clb-gent"),
            ("cora", "flag_review: frequent_visitor", "clb-gent"),
            ("cora", "chat_scan", "clb-gent"),
        ]),
        "read_audit: a desk's rows in the period, newest first, the later written first"
    );
    assert_eq!(
        list(Some("clb-gent"), None, Some("chat_scan"), 100).await,
        owned(&[
            ("dirk", "chat_scan: nieuwe collega", "clb-gent"),
            ("cora", "chat_scan", "clb-gent"),
        ]),
        "read_audit: by purpose, with or without a note (and not `chat_scanner`)"
    );
    assert_eq!(
        list(Some("clb-gent"), Some("cora"), None, 100).await,
        owned(&[
            ("cora", "flag_review: frequent_visitor", "clb-gent"),
            ("cora", "chat_scan", "clb-gent"),
        ]),
        "read_audit: by reader"
    );
    assert_eq!(
        list(None, None, Some("chat_scan"), 100).await.len(),
        3,
        "read_audit: every desk's"
    );
    assert_eq!(
        list(Some("clb-gent"), None, None, 1).await,
        owned(&[("dirk", "chat_scan: nieuwe collega", "clb-gent")]),
        "read_audit: at most `limit`"
    );
    let rows = store
        .read_audit(&ReadAuditFilter {
            desk: Some(desk("clb-genk")),
            from: base(),
            to: base() + Duration::hours(1),
            reader: None,
            purpose: None,
            limit: 10,
        })
        .await
        .expect("read_audit");
    assert_eq!(
        rows.iter()
            .map(|r| (r.read.conversation, r.counsellor.clone()))
            .collect::<Vec<_>>(),
        [(genk.id, Some(StaffId::new("c-anna")))],
        "read_audit: each row names its chat and who held it"
    );
}

/// Forgetting visits takes the pseudonym from conversations that arrived before the cut-off,
/// and only those: a visitor's history then reaches back no further.
pub async fn forget_visits<S: Store + ?Sized>(store: &S) {
    let p = pseudonym("history");
    let cutoff = base() + Duration::days(10);
    let mut old = meta("national", base());
    old.pseudonym = Some(p.clone());
    let mut recent = meta("national", cutoff + Duration::hours(1));
    recent.pseudonym = Some(p.clone());
    let anonymous = meta("national", base());
    for m in [&old, &recent, &anonymous] {
        put(store, m).await;
    }
    assert_eq!(
        store.count_visits(&p, base()).await.expect("count_visits"),
        2
    );
    let forgot = store.forget_visits(cutoff).await.expect("forget_visits");
    assert_eq!(
        forgot, 1,
        "forget_visits: only the old conversation with a pseudonym"
    );
    assert_eq!(
        store.count_visits(&p, base()).await.expect("count_visits"),
        1,
        "forget_visits: the old visit no longer counts"
    );
    let kept = store.conversation(old.id).await.expect("conversation");
    assert_eq!(
        kept.map(|m| (m.pseudonym, m.desk)),
        Some((None, desk("national"))),
        "forget_visits: the conversation stays, without its pseudonym"
    );
    assert_eq!(
        store.forget_visits(cutoff).await.expect("forget_visits"),
        0,
        "forget_visits: a second run finds nothing more"
    );
}

/// Purging removes the events of conversations ended before the cut-off, and nothing else.
pub async fn purge_transcripts<S: Store + ?Sized>(store: &S) {
    let cutoff = t(2022, 4, 1, 0, 0, 0);
    let day = Duration::days(1);
    let mut old = served(
        "national",
        base(),
        base(),
        Some((cutoff - day, EndReason::ClientLeft)),
    );
    old.profile.nickname = Some("Vlinder".into());
    old.profile.age = Some(15);
    let at_cutoff = served(
        "national",
        base(),
        base(),
        Some((cutoff, EndReason::ClientLeft)),
    );
    let recent = served(
        "national",
        base(),
        base(),
        Some((cutoff + day, EndReason::ClientLeft)),
    );
    let live = served("national", base(), base(), None);
    let old_empty = served(
        "national",
        base(),
        base(),
        Some((cutoff - day, EndReason::Abandoned)),
    );
    for m in [&old, &at_cutoff, &recent, &live, &old_empty] {
        put(store, m).await;
    }
    for m in [&old, &at_cutoff, &recent, &live] {
        append_messages(store, m.id, base(), 3).await;
    }
    let p = pseudonym("purge");
    let mut f = flag(&p, "national", base());
    f.conversation = Some(old.id);
    store.put_flag(&f).await.expect("put_flag");
    store
        .save_registration(&registration(old.id, "national", false))
        .await
        .expect("registration");
    store
        .save_rating(&rating(old.id, "national", 4))
        .await
        .expect("rating");
    store
        .save_rating(&rating(recent.id, "national", 5))
        .await
        .expect("rating");
    let before = store
        .summary(None, base() - day, cutoff + day)
        .await
        .expect("summary");

    let purged = store
        .purge_transcripts(cutoff)
        .await
        .expect("purge_transcripts");
    assert_eq!(
        purged, 1,
        "purge_transcripts: one conversation ended before the cut-off had a transcript"
    );
    let gone = store.events_after(old.id, 0).await.expect("events_after");
    assert!(
        gone.is_empty(),
        "purge_transcripts: the old transcript is gone"
    );
    for (m, what) in [
        (&at_cutoff, "ended exactly at the cut-off"),
        (&recent, "ended after"),
        (&live, "live"),
    ] {
        let log = store.events_after(m.id, 0).await.expect("events_after");
        assert_eq!(
            log.len(),
            3,
            "purge_transcripts: the transcript of a conversation {what} stays"
        );
    }
    let mut without_nickname = old.clone();
    without_nickname.profile.nickname = None;
    assert_eq!(
        store.conversation(old.id).await.expect("conversation"),
        Some(without_nickname),
        "purge_transcripts: the metadata stays, the nickname goes (the age stays)"
    );
    assert!(
        store
            .registration(old.id)
            .await
            .expect("registration")
            .is_some(),
        "purge_transcripts: the registration stays"
    );
    let kept = store.rating(old.id).await.expect("rating");
    assert_eq!(
        kept.as_ref().map(|r| (r.stars, r.comment.clone())),
        Some((4, None)),
        "purge_transcripts: the rating's stars stay, its free-text comment goes with the \
         transcript"
    );
    assert_eq!(
        store
            .rating(recent.id)
            .await
            .expect("rating")
            .and_then(|r| r.comment),
        Some("Dankjewel, dit hielp!".to_owned()),
        "purge_transcripts: the comment of a rating whose chat stays, stays"
    );
    let read = store
        .read_transcript(&TranscriptRead {
            conversation: old.id,
            reader: StaffId::new("coordinator"),
            at: cutoff + day,
            purpose: "chat scan".into(),
        })
        .await
        .expect("read_transcript");
    assert!(
        read.is_empty(),
        "purge_transcripts: a purged transcript reads as nothing"
    );
    assert_eq!(
        store.flag(f.id).await.expect("flag"),
        Some(f),
        "purge_transcripts: flags stay"
    );
    let after = store
        .summary(None, base() - day, cutoff + day)
        .await
        .expect("summary");
    assert_eq!(
        after, before,
        "purge_transcripts: the statistics do not change"
    );

    let again = store
        .purge_transcripts(cutoff)
        .await
        .expect("purge_transcripts");
    assert_eq!(
        again, 0,
        "purge_transcripts: a second purge finds nothing more"
    );
}

fn feedback_on(
    m: &ConversationMeta,
    asked: Option<DateTime<Utc>>,
    written: Option<DateTime<Utc>>,
) -> Feedback {
    Feedback {
        conversation: m.id,
        desk: m.desk.clone(),
        counsellor: m
            .counsellor
            .clone()
            .unwrap_or_else(|| StaffId::new("c-anna")),
        asked_at: asked,
        question: asked.map(|_| "Hoe kon ik beter afronden?".to_owned()),
        written_by: written.map(|_| StaffId::new("coordinator")),
        written_at: written,
        text: written.map(|_| "Mooi doorgevraagd; vat samen op het einde.".to_owned()),
    }
}

/// Feedback is one per chat, replaced by a second put, listed by desk and counsellor with
/// the newest change first, and purged with its chat's transcript.
pub async fn feedback<S: Store + ?Sized>(store: &S) {
    let cutoff = t(2022, 4, 1, 0, 0, 0);
    let day = Duration::days(1);
    let old = served(
        "national",
        base(),
        base(),
        Some((cutoff - day, EndReason::ClientLeft)),
    );
    let recent = served(
        "national",
        base(),
        base(),
        Some((cutoff + day, EndReason::ClientLeft)),
    );
    let mut other = served(
        "clb-gent",
        base(),
        base(),
        Some((cutoff + day, EndReason::ClientLeft)),
    );
    other.counsellor = Some(StaffId::new("c-bart"));
    for m in [&old, &recent, &other] {
        put(store, m).await;
        append_messages(store, m.id, base(), 2).await;
    }
    assert_eq!(
        store.feedback(old.id).await.expect("feedback"),
        None,
        "feedback: none before any is asked or written"
    );
    let asked = feedback_on(&old, Some(base() + day), None);
    store.put_feedback(&asked).await.expect("put_feedback");
    assert_eq!(
        store.feedback(old.id).await.expect("feedback"),
        Some(asked.clone()),
        "feedback: a question reads back whole"
    );
    let answered = feedback_on(&old, Some(base() + day), Some(base() + day * 3));
    store.put_feedback(&answered).await.expect("put_feedback");
    assert_eq!(
        store.feedback(old.id).await.expect("feedback"),
        Some(answered.clone()),
        "feedback: a second put replaces the first"
    );
    let scan = feedback_on(&recent, None, Some(base() + day * 2));
    let gent = feedback_on(&other, Some(base() + day * 4), None);
    store.put_feedback(&scan).await.expect("put_feedback");
    store.put_feedback(&gent).await.expect("put_feedback");

    let list = |desk: Option<&str>, counsellor: Option<&str>, limit: u32| FeedbackFilter {
        desk: desk.map(DeskId::new),
        counsellor: counsellor.map(StaffId::new),
        limit,
    };
    let convs = |v: Vec<Feedback>| v.iter().map(|f| f.conversation).collect::<Vec<_>>();
    assert_eq!(
        convs(
            store
                .feedback_list(&list(Some("national"), None, 10))
                .await
                .expect("feedback_list")
        ),
        vec![old.id, recent.id],
        "feedback: a desk's list, the newest change first (written on day 3, then day 2)"
    );
    assert_eq!(
        convs(
            store
                .feedback_list(&list(None, Some("c-bart"), 10))
                .await
                .expect("feedback_list")
        ),
        vec![other.id],
        "feedback: one counsellor's list"
    );
    assert_eq!(
        convs(
            store
                .feedback_list(&list(None, None, 2))
                .await
                .expect("feedback_list")
        ),
        vec![other.id, old.id],
        "feedback: every desk's, at most `limit`"
    );

    store
        .purge_transcripts(cutoff)
        .await
        .expect("purge_transcripts");
    assert_eq!(
        store.feedback(old.id).await.expect("feedback"),
        None,
        "feedback: the purge takes it with the transcript"
    );
    assert_eq!(
        store.feedback(recent.id).await.expect("feedback"),
        Some(scan),
        "feedback: the feedback on a chat the purge leaves, stays"
    );
}

/// An erasure on request takes, for the chat named and every ended chat of its pseudonym,
/// the text, the feedback, the rating comment, the visitor's profile and the pseudonym
/// itself, and the pseudonym's flags; a chat still going on, another visitor's chats and
/// the statistics stay; the audit row says who and when.
pub async fn erase_on_request<S: Store + ?Sized>(store: &S) {
    let day = Duration::days(1);
    let ended = |at| Some((at, EndReason::ClientLeft));
    let p = pseudonym("erase-me");
    let q = pseudonym("someone-else");
    let mut asked_from = served("national", base(), base(), ended(base() + day));
    asked_from.pseudonym = Some(p.clone());
    asked_from.profile = ClientProfile {
        nickname: Some("Vlinder".into()),
        age: Some(15),
        ..ClientProfile::default()
    };
    let mut earlier = served(
        "clb-gent",
        base() - day * 5,
        base() - day * 5,
        ended(base() - day * 5),
    );
    earlier.pseudonym = Some(p.clone());
    let mut live = served("national", base() + day * 2, base() + day * 2, None);
    live.pseudonym = Some(p.clone());
    let mut other = served("national", base(), base(), ended(base() + day));
    other.pseudonym = Some(q.clone());
    for m in [&asked_from, &earlier, &live, &other] {
        put(store, m).await;
        append_messages(store, m.id, m.arrived_at, 2).await;
        store.save_rating(&rating(m.id, &m.desk.0, 4)).await.ok();
    }
    store
        .put_feedback(&feedback_on(&asked_from, None, Some(base() + day * 2)))
        .await
        .expect("put_feedback");
    let own_flag = flag(&p, "national", base());
    let other_flag = flag(&q, "national", base());
    store.put_flag(&own_flag).await.expect("put_flag");
    store.put_flag(&other_flag).await.expect("put_flag");
    let before = store
        .summary(None, base() - day * 10, base() + day * 10)
        .await
        .expect("summary");

    let at = base() + day * 3;
    let erased = store
        .erase(&EraseRequest {
            conversation: asked_from.id,
            pseudonym: Some(p.clone()),
            record: Erasure {
                desk: desk("national"),
                by: StaffId::new("c-anna"),
                at,
            },
        })
        .await
        .expect("erase");
    assert_eq!(
        erased, 2,
        "erase: the chat asked from and the earlier ended one"
    );
    for m in [&asked_from, &earlier] {
        assert!(
            store
                .events_after(m.id, 0)
                .await
                .expect("events_after")
                .is_empty(),
            "erase: the text is gone"
        );
        let kept = store
            .conversation(m.id)
            .await
            .expect("conversation")
            .expect("kept");
        assert_eq!(
            kept.pseudonym, None,
            "erase: the chat forgets the pseudonym"
        );
        assert_eq!(
            kept.profile,
            ClientProfile::default(),
            "erase: the profile goes"
        );
        assert_eq!(
            (kept.started_at, kept.ended_at),
            (m.started_at, m.ended_at),
            "erase: the times stay for the statistics"
        );
        let r = store
            .rating(m.id)
            .await
            .expect("rating")
            .expect("rating stays");
        assert_eq!(
            (r.stars, r.comment),
            (4, None),
            "erase: the stars stay, the comment goes"
        );
    }
    assert_eq!(
        store.feedback(asked_from.id).await.expect("feedback"),
        None,
        "erase: the feedback goes"
    );
    assert_eq!(
        store
            .events_after(live.id, 0)
            .await
            .expect("events_after")
            .len(),
        2,
        "erase: a chat still going on is left alone"
    );
    assert_eq!(
        store
            .events_after(other.id, 0)
            .await
            .expect("events_after")
            .len(),
        2,
        "erase: another visitor's chat stays"
    );
    assert_eq!(
        store.flag(own_flag.id).await.expect("flag"),
        None,
        "erase: the visitor's flags go"
    );
    assert_eq!(
        store.flag(other_flag.id).await.expect("flag"),
        Some(other_flag),
        "erase: another visitor's flags stay"
    );
    assert_eq!(
        store
            .count_visits(&p, base() - day * 10)
            .await
            .expect("count_visits"),
        1,
        "erase: only the chat still going on is still counted as the visitor's"
    );
    let after = store
        .summary(None, base() - day * 10, base() + day * 10)
        .await
        .expect("summary");
    assert_eq!(after, before, "erase: the statistics keep their counts");

    let rows = store
        .erasures(Some(&desk("national")), base(), base() + day * 10)
        .await
        .expect("erasures");
    assert_eq!(
        rows,
        vec![Erasure {
            desk: desk("national"),
            by: StaffId::new("c-anna"),
            at
        }],
        "erase: one audit row: the desk, who, when"
    );
    assert!(
        store
            .erasures(Some(&desk("clb-gent")), base(), base() + day * 10)
            .await
            .expect("erasures")
            .is_empty(),
        "erase: the audit row is the desk's the request came through"
    );
    assert!(
        store
            .erasures(None, at + Duration::seconds(1), base() + day * 10)
            .await
            .expect("erasures")
            .is_empty(),
        "erase: the audit rows of a period"
    );
}

/// A client file (a trajectory's chats, the client's name, the notes) is emptied only when
/// the trajectory's last appointment ended before the cut-off, and the desk's own purge
/// never touches it.
pub async fn purge_client_files<S: Store + ?Sized>(store: &S) {
    let cutoff = t(2023, 1, 1, 0, 0, 0);
    let day = Duration::days(1);
    let chat = |at: DateTime<Utc>| {
        let mut m = served(
            "blended",
            at,
            at,
            Some((at + Duration::minutes(40), EndReason::ClientLeft)),
        );
        m.profile.nickname = Some("Lotte Peeters".into());
        m
    };
    let session =
        |trajectory: TrajectoryId, at: DateTime<Utc>, chats: &[&ConversationMeta]| Appointment {
            id: AppointmentId::random(),
            desk: DeskId::new("blended"),
            centre: CentreId::new("clb-gent"),
            trajectory,
            counsellor: StaffId::new("ann"),
            stand_in: None,
            client_name: "Lotte Peeters".into(),
            note: Some("over de studiekeuze".into()),
            starts_at: at,
            length_minutes: 45,
            status: AppointmentStatus::Planned,
            token_hash: format!("hash-{}", AppointmentId::random()),
            conversations: chats.iter().map(|c| c.id).collect(),
            created_at: base(),
        };
    // An old trajectory: two sessions (the second held in two chats) and a cancelled one.
    let old_t = TrajectoryId::random();
    let (a1, a2, a3) = (chat(base()), chat(base() + day), chat(base() + day));
    let s1 = session(old_t, base(), &[&a1]);
    let s2 = session(old_t, base() + day, &[&a2, &a3]);
    let mut s3 = session(old_t, base() + day * 2, &[]);
    s3.status = AppointmentStatus::Cancelled;
    // A trajectory that goes on: an old session and one after the cut-off.
    let going_t = TrajectoryId::random();
    let b1 = chat(base());
    let going = [
        session(going_t, base(), &[&b1]),
        session(going_t, cutoff + day, &[]),
    ];
    // An anonymous chat of the same age.
    let anonymous = served(
        "national",
        base(),
        base(),
        Some((base() + Duration::minutes(30), EndReason::ClientLeft)),
    );
    for m in [&a1, &a2, &a3, &b1, &anonymous] {
        put(store, m).await;
        append_messages(store, m.id, m.arrived_at, 3).await;
    }
    for a in [&s1, &s2, &s3, &going[0], &going[1]] {
        store
            .put_appointment(a)
            .await
            .unwrap_or_else(|e| panic!("purge_client_files: put_appointment: {e}"));
    }
    let events = |id: ConversationId| async move {
        store
            .events_after(id, 0)
            .await
            .unwrap_or_else(|e| panic!("purge_client_files: events_after: {e}"))
            .len()
    };
    let stats = || async move {
        store
            .summary(None, base() - day, cutoff + day * 2)
            .await
            .unwrap_or_else(|e| panic!("purge_client_files: summary: {e}"))
    };
    let before = stats().await;

    let purged = store
        .purge_transcripts(cutoff)
        .await
        .unwrap_or_else(|e| panic!("purge_client_files: purge_transcripts: {e}"));
    assert_eq!(
        purged, 1,
        "purge_client_files: the desk's purge takes the anonymous chat only"
    );
    for m in [&a1, &a2, &a3, &b1] {
        assert_eq!(
            events(m.id).await,
            3,
            "purge_client_files: the desk's purge leaves a client file's chat alone"
        );
    }

    let emptied = store
        .purge_client_files(cutoff)
        .await
        .unwrap_or_else(|e| panic!("purge_client_files: purge: {e}"));
    assert_eq!(emptied, 1, "purge_client_files: one trajectory is over");
    for m in [&a1, &a2, &a3] {
        assert_eq!(
            events(m.id).await,
            0,
            "purge_client_files: the old trajectory's transcripts are gone"
        );
        let mut expected = m.clone();
        expected.profile = ClientProfile::default();
        assert_eq!(
            store.conversation(m.id).await.ok().flatten(),
            Some(expected),
            "purge_client_files: the chat stays, without the client's name"
        );
    }
    for a in [&s1, &s2, &s3] {
        let mut expected = a.clone();
        expected.client_name.clear();
        expected.note = None;
        assert_eq!(
            store.appointment(a.id).await.ok().flatten(),
            Some(expected),
            "purge_client_files: the appointment stays, without name or note"
        );
    }
    assert_eq!(
        events(b1.id).await,
        3,
        "purge_client_files: a trajectory that goes on keeps its old sessions"
    );
    for a in &going {
        assert_eq!(
            store.appointment(a.id).await.ok().flatten().as_ref(),
            Some(a),
            "purge_client_files: a trajectory that goes on keeps its names"
        );
    }
    assert_eq!(
        stats().await,
        before,
        "purge_client_files: the statistics do not change"
    );
    let again = store
        .purge_client_files(cutoff)
        .await
        .unwrap_or_else(|e| panic!("purge_client_files: second purge: {e}"));
    assert_eq!(
        again, 0,
        "purge_client_files: a second purge finds nothing more"
    );
}

/// One registration and one rating per conversation; a second is a `Conflict`.
pub async fn registration_and_rating_once<S: Store + ?Sized>(store: &S) {
    let m = served(
        "national",
        base(),
        base(),
        Some((base() + Duration::minutes(20), EndReason::ClientLeft)),
    );
    put(store, &m).await;
    let reg = registration(m.id, "national", true);
    store
        .save_registration(&reg)
        .await
        .expect("save_registration");
    assert_eq!(
        store.registration(m.id).await.expect("registration"),
        Some(reg.clone()),
        "registration_and_rating_once: the registration comes back whole"
    );
    let mut second = registration(m.id, "national", false);
    second.topics = vec!["psf.bullying".into()];
    let r = store.save_registration(&second).await;
    assert_eq!(
        kind_of(&r),
        Some(StoreErrorKind::Conflict),
        "registration_and_rating_once: a second registration is a Conflict, got {r:?}"
    );
    assert_eq!(
        store.registration(m.id).await.expect("registration"),
        Some(reg),
        "registration_and_rating_once: the first registration stays"
    );

    let mut rate = rating(m.id, "national", 5);
    rate.comment = None;
    store.save_rating(&rate).await.expect("save_rating");
    assert_eq!(
        store.rating(m.id).await.expect("rating"),
        Some(rate.clone()),
        "registration_and_rating_once: the rating comes back whole"
    );
    let r = store.save_rating(&rating(m.id, "national", 1)).await;
    assert_eq!(
        kind_of(&r),
        Some(StoreErrorKind::Conflict),
        "registration_and_rating_once: a second rating is a Conflict, got {r:?}"
    );
    assert_eq!(
        store.rating(m.id).await.expect("rating"),
        Some(rate),
        "registration_and_rating_once: the first rating stays"
    );

    let unknown = ConversationId::random();
    assert_eq!(
        store.registration(unknown).await.expect("registration"),
        None,
        "registration_and_rating_once: none for an unknown conversation"
    );
    assert_eq!(
        store.rating(unknown).await.expect("rating"),
        None,
        "registration_and_rating_once: none for an unknown conversation"
    );
}

/// Visits are counted per pseudonym from `since` (inclusive).
pub async fn count_visits<S: Store + ?Sized>(store: &S) {
    let p = pseudonym("visits");
    let q = pseudonym("other");
    for (who, days) in [(&p, 0), (&p, 10), (&p, 20), (&q, 20)] {
        let mut m = meta("national", base() + Duration::days(days));
        m.pseudonym = Some(who.clone());
        put(store, &m).await;
    }
    put(store, &meta("national", base() + Duration::days(20))).await;
    let count = |who: Pseudonym, since: DateTime<Utc>| async move {
        store.count_visits(&who, since).await.expect("count_visits")
    };
    assert_eq!(
        count(p.clone(), base() - Duration::days(1)).await,
        3,
        "count_visits: all visits"
    );
    assert_eq!(
        count(p.clone(), base() + Duration::days(10)).await,
        2,
        "count_visits: `since` is inclusive"
    );
    assert_eq!(
        count(p.clone(), base() + Duration::days(21)).await,
        0,
        "count_visits: none since"
    );
    assert_eq!(
        count(q, base()).await,
        1,
        "count_visits: another pseudonym counts its own"
    );
    assert_eq!(
        count(pseudonym("nobody"), base()).await,
        0,
        "count_visits: unknown pseudonym"
    );
}

/// Flags: stored whole and replaced; per pseudonym oldest first; review list filtered.
pub async fn flags<S: Store + ?Sized>(store: &S) {
    let p = pseudonym("flags");
    let now = t(2022, 5, 15, 12, 0, 0);
    let mut old = flag(&p, "national", t(2022, 3, 1, 17, 0, 0));
    old.conversation = Some(ConversationId::random());
    let mut expired = flag(&p, "national", t(2022, 1, 1, 17, 0, 0));
    expired.expires_at = now; // expires exactly now: no longer to review
    let mut confirmed = flag(&p, "national", t(2022, 4, 1, 17, 0, 0));
    confirmed.status = FlagStatus::Confirmed;
    confirmed.reviewed_by = Some(StaffId::new("k-karel"));
    let mut auto = flag(&p, "clb-gent", t(2022, 5, 1, 17, 0, 0));
    auto.kind = FlagKind::FrequentChatter;
    auto.raised_by = None;
    let mut dismissed = flag(&p, "national", t(2022, 5, 2, 17, 0, 0));
    dismissed.status = FlagStatus::Dismissed;
    let other = flag(
        &pseudonym("someone-else"),
        "national",
        t(2022, 5, 3, 17, 0, 0),
    );
    for f in [&auto, &other, &dismissed, &old, &confirmed, &expired] {
        store.put_flag(f).await.expect("put_flag");
    }
    assert_eq!(
        store.flag(old.id).await.expect("flag"),
        Some(old.clone()),
        "flags: a flag comes back whole"
    );
    assert_eq!(
        store.flag(FlagId::random()).await.expect("flag"),
        None,
        "flags: unknown flag"
    );

    let mine = store.flags_for(&p).await.expect("flags_for");
    assert_eq!(
        mine.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![expired.id, old.id, confirmed.id, auto.id, dismissed.id],
        "flags: all flags of a pseudonym, active or not, oldest first"
    );
    let review = store
        .flags_to_review(None, now)
        .await
        .expect("flags_to_review");
    assert_eq!(
        review.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![old.id, auto.id, other.id],
        "flags: to review are the open, unexpired flags, oldest first"
    );
    let national = store
        .flags_to_review(Some(&desk("national")), now)
        .await
        .expect("flags_to_review");
    assert_eq!(
        national.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![old.id, other.id],
        "flags: to review, of one desk"
    );

    let mut reviewed = old.clone();
    reviewed.status = FlagStatus::Dismissed;
    reviewed.reviewed_by = Some(StaffId::new("k-karel"));
    store.put_flag(&reviewed).await.expect("put_flag");
    assert_eq!(
        store.flag(old.id).await.expect("flag"),
        Some(reviewed),
        "flags: a second put replaces"
    );
    let review = store
        .flags_to_review(Some(&desk("national")), now)
        .await
        .expect("flags_to_review");
    assert_eq!(
        review.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![other.id],
        "flags: a reviewed flag leaves the review list"
    );
    assert_eq!(
        store.flags_for(&p).await.expect("flags_for").len(),
        5,
        "flags: replacing does not duplicate"
    );
}

/// Key rotation moves conversations and flags from the old pseudonym to the new one.
pub async fn rekey_pseudonym<S: Store + ?Sized>(store: &S) {
    let old = pseudonym("old");
    let new = pseudonym("new");
    let bystander = pseudonym("bystander");
    let mut ms = Vec::new();
    for (who, days) in [(&old, 0), (&old, 1), (&bystander, 2)] {
        let mut m = meta("national", base() + Duration::days(days));
        m.pseudonym = Some(who.clone());
        put(store, &m).await;
        ms.push(m);
    }
    let f_old = flag(&old, "national", base());
    let f_by = flag(&bystander, "national", base());
    store.put_flag(&f_old).await.expect("put_flag");
    store.put_flag(&f_by).await.expect("put_flag");

    store
        .rekey_pseudonym(&old, &new)
        .await
        .expect("rekey_pseudonym");
    assert_eq!(
        store
            .count_visits(&new, base())
            .await
            .expect("count_visits"),
        2,
        "rekey_pseudonym: visits move"
    );
    assert_eq!(
        store
            .count_visits(&old, base())
            .await
            .expect("count_visits"),
        0,
        "rekey_pseudonym: nothing stays under the old pseudonym"
    );
    assert_eq!(
        store
            .count_visits(&bystander, base())
            .await
            .expect("count_visits"),
        1,
        "rekey_pseudonym: others are untouched"
    );
    let moved = store.conversation(ms[0].id).await.expect("conversation");
    assert_eq!(
        moved.and_then(|m| m.pseudonym),
        Some(new.clone()),
        "rekey_pseudonym: the metadata says the new pseudonym"
    );
    let flags = store.flags_for(&new).await.expect("flags_for");
    assert_eq!(
        flags.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![f_old.id],
        "rekey_pseudonym: flags move"
    );
    assert_eq!(
        flags[0].pseudonym, new,
        "rekey_pseudonym: the flag says the new pseudonym"
    );
    assert!(
        store.flags_for(&old).await.expect("flags_for").is_empty(),
        "rekey_pseudonym: no flag stays behind"
    );
    assert_eq!(
        store.flags_for(&bystander).await.expect("flags_for"),
        vec![f_by],
        "rekey_pseudonym: others' flags are untouched"
    );
    store
        .rekey_pseudonym(&pseudonym("absent"), &new)
        .await
        .expect("rekey of an unknown pseudonym is a no-op");
}

/// Accounts by user name: stored whole, replaced, listed in byte order of the name.
pub async fn accounts<S: Store + ?Sized>(store: &S) {
    // Byte order: upper case before lower case, whatever the database's collation.
    let names = ["marie", "Zeno", "anna", "bert"];
    for n in names {
        store.put_account(&account(n)).await.expect("put_account");
    }
    assert_eq!(
        store.account("anna").await.expect("account"),
        Some(account("anna")),
        "accounts: an account comes back whole"
    );
    assert_eq!(
        store.account("Anna").await.expect("account"),
        None,
        "accounts: user names are case-sensitive"
    );
    assert_eq!(
        store.account("nobody").await.expect("account"),
        None,
        "accounts: unknown user"
    );
    let mut changed = account("bert");
    changed.active = false;
    changed.identity.role = StaffRole::Coordinator;
    changed.identity.desks = vec![];
    store.put_account(&changed).await.expect("put_account");
    assert_eq!(
        store.account("bert").await.expect("account"),
        Some(changed.clone()),
        "accounts: a second put replaces"
    );
    let all = store.accounts().await.expect("accounts");
    assert_eq!(
        all.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(),
        vec!["Zeno", "anna", "bert", "marie"],
        "accounts: listed by user name (byte order), each once"
    );
    assert_eq!(
        all[2], changed,
        "accounts: the list has the replaced account"
    );
}

/// Appointments round-trip whole (with and without the optional fields, to the
/// nanosecond), are replaced by id, found by token hash, and listed by start with every
/// filter (staff as counsellor or stand-in, centre, trajectory, time, cancelled); a second
/// appointment with the same token hash is a conflict.
pub async fn appointments<S: Store + ?Sized>(store: &S) {
    let trajectory = TrajectoryId::random();
    let make =
        |counsellor: &str, stand_in: Option<&str>, centre: &str, h: u32, token: &str| Appointment {
            id: AppointmentId::random(),
            desk: DeskId::new("blended"),
            centre: CentreId::new(centre),
            trajectory,
            counsellor: StaffId::new(counsellor),
            stand_in: stand_in.map(StaffId::new),
            client_name: "Lotte Peeters".into(),
            note: Some("tweede gesprek; over de studiekeuze".into()),
            starts_at: base()
                + chrono::Duration::hours(i64::from(h))
                + chrono::Duration::nanoseconds(123_456_789),
            length_minutes: 45,
            status: AppointmentStatus::Planned,
            token_hash: token.into(),
            conversations: Vec::new(),
            created_at: base(),
        };
    let first = make("ann", Some("bob"), "clb-gent", 2, "h1");
    let mut second = make("ann", None, "clb-gent", 1, "h2");
    second.trajectory = TrajectoryId::random();
    second.note = None;
    let other_centre = make("cas", None, "clb-brugge", 3, "h3");
    for a in [&first, &second, &other_centre] {
        store
            .put_appointment(a)
            .await
            .unwrap_or_else(|e| panic!("appointments: put: {e}"));
    }
    let got = store
        .appointment(first.id)
        .await
        .unwrap_or_else(|e| panic!("appointments: get: {e}"));
    assert_eq!(got.as_ref(), Some(&first), "appointments: round trip");
    let by_token = store
        .appointment_by_token("h2")
        .await
        .unwrap_or_else(|e| panic!("appointments: by token: {e}"));
    assert_eq!(by_token.as_ref(), Some(&second), "appointments: by token");
    assert_eq!(
        store.appointment_by_token("nope").await.ok().flatten(),
        None,
        "appointments: an unknown token finds nothing"
    );
    let mut clash = make("dirk", None, "clb-gent", 5, "h1");
    clash.client_name = "Someone else".into();
    match store.put_appointment(&clash).await {
        Err(e) => assert_eq!(
            e.store_kind(),
            Some(StoreErrorKind::Conflict),
            "appointments: a repeated token hash: {e}"
        ),
        Ok(()) => panic!("appointments: a repeated token hash was accepted"),
    }
    let ids = |v: Vec<Appointment>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let list = |f: AppointmentFilter| async move {
        store
            .appointments(&f)
            .await
            .unwrap_or_else(|e| panic!("appointments: list: {e}"))
    };
    assert_eq!(
        ids(list(AppointmentFilter::default()).await),
        vec![second.id, first.id, other_centre.id],
        "appointments: all, by start"
    );
    let staff = |s: &str| AppointmentFilter {
        staff: Some(StaffId::new(s)),
        ..AppointmentFilter::default()
    };
    assert_eq!(ids(list(staff("ann")).await), vec![second.id, first.id]);
    assert_eq!(
        ids(list(staff("bob")).await),
        vec![first.id],
        "appointments: a stand-in sees the appointments they may hold"
    );
    let centre = AppointmentFilter {
        centre: Some(CentreId::new("clb-brugge")),
        ..AppointmentFilter::default()
    };
    assert_eq!(ids(list(centre).await), vec![other_centre.id]);
    let of_trajectory = AppointmentFilter {
        trajectory: Some(trajectory),
        ..AppointmentFilter::default()
    };
    assert_eq!(
        ids(list(of_trajectory).await),
        vec![first.id, other_centre.id]
    );
    let window = AppointmentFilter {
        ending_after: Some(second.ends_at()),
        starting_before: Some(other_centre.starts_at),
        ..AppointmentFilter::default()
    };
    assert_eq!(
        ids(list(window).await),
        vec![first.id],
        "appointments: ending after and starting before are strict"
    );
    // Moved, cancelled, and held: replaced whole.
    let mut moved = first.clone();
    moved.starts_at = base() + chrono::Duration::hours(6);
    moved.length_minutes = 30;
    moved.stand_in = None;
    moved.status = AppointmentStatus::Cancelled;
    moved.conversations = vec![ConversationId::random(), ConversationId::random()];
    store
        .put_appointment(&moved)
        .await
        .unwrap_or_else(|e| panic!("appointments: replace: {e}"));
    assert_eq!(
        store.appointment(first.id).await.ok().flatten().as_ref(),
        Some(&moved),
        "appointments: replaced by id, its chats in order"
    );
    assert_eq!(
        ids(list(staff("ann")).await),
        vec![second.id],
        "appointments: cancelled ones are left out…"
    );
    let with_cancelled = AppointmentFilter {
        include_cancelled: true,
        ..staff("ann")
    };
    assert_eq!(
        ids(list(with_cancelled).await),
        vec![second.id, first.id],
        "appointments: …unless asked for"
    );
}

/// Centres round-trip whole, are listed by id, and a second put replaces the first.
pub async fn centres<S: Store + ?Sized>(store: &S) {
    let centre = |id: &str, name: &str, origins: &[&str]| Centre {
        id: CentreId::new(id),
        name: name.into(),
        origins: origins.iter().map(|s| (*s).to_owned()).collect(),
        created_at: base() + Duration::nanoseconds(987_654_321),
    };
    let gent = centre("clb-gent", "CLB Gent", &["https://www.clbgent.be"]);
    let brugge = centre("clb-brugge", "CLB Brugge", &[]);
    for c in [&gent, &brugge] {
        store
            .put_centre(c)
            .await
            .unwrap_or_else(|e| panic!("centres: put: {e}"));
    }
    assert_eq!(
        store.centre(&gent.id).await.ok().flatten().as_ref(),
        Some(&gent),
        "centres: round trip"
    );
    assert_eq!(
        store
            .centre(&CentreId::new("clb-nergens"))
            .await
            .ok()
            .flatten(),
        None,
        "centres: an unknown id finds nothing"
    );
    let mut renamed = gent.clone();
    renamed.name = "Vrij CLB Gent".into();
    renamed.origins = vec![
        "https://www.clbgent.be".into(),
        "https://studiebeurs.gent".into(),
    ];
    store
        .put_centre(&renamed)
        .await
        .unwrap_or_else(|e| panic!("centres: replace: {e}"));
    assert_eq!(
        store
            .centres()
            .await
            .unwrap_or_else(|e| panic!("centres: list: {e}")),
        vec![brugge, renamed],
        "centres: replaced by id, listed by id"
    );
}

/// A desk's calendar round-trips whole and is replaced by a second put.
pub async fn calendars<S: Store + ?Sized>(store: &S) {
    let time = |h: u32, m: u32| {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_else(|| panic!("calendars: bad time {h}:{m}"))
    };
    let date = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap_or_else(|| panic!("calendars: bad date {y}-{m}-{d}"))
    };
    let hours = |day: Weekday, open: NaiveTime, close: NaiveTime| WeeklyHours { day, open, close };
    let national = Calendar {
        weekly: vec![
            hours(Weekday::Mon, time(17, 0), time(21, 0)),
            hours(Weekday::Tue, time(17, 0), time(21, 0)),
            hours(Weekday::Wed, time(14, 0), time(21, 0)),
            hours(Weekday::Thu, time(17, 0), time(21, 0)),
        ],
        holiday_periods: vec![HolidayPeriod {
            name: "Krokusvakantie".into(),
            from: date(2022, 2, 28),
            to: date(2022, 3, 6),
            hours: vec![hours(Weekday::Mon, time(14, 0), time(21, 0))],
        }],
        closures: vec![
            Closure {
                name: "Kerst tot Nieuwjaar".into(),
                from: date(2021, 12, 25),
                to: date(2022, 1, 1),
            },
            Closure {
                name: "Zomersluiting".into(),
                from: date(2022, 7, 15),
                to: date(2022, 8, 15),
            },
        ],
        event_windows: vec![EventWindow {
            name: "Studiebeurs".into(),
            welcome: None,
            start: date(2022, 3, 10).and_time(time(19, 0)),
            end: date(2022, 3, 12).and_time(time(18, 0)),
        }],
        ..Calendar::default()
    };
    store
        .put_calendar(&desk("national"), &national)
        .await
        .expect("put_calendar");
    store
        .put_calendar(&desk("blended"), &Calendar::always_open())
        .await
        .expect("put_calendar");
    assert_eq!(
        store.calendar(&desk("national")).await.expect("calendar"),
        Some(national),
        "calendars: a calendar comes back whole"
    );
    assert_eq!(
        store.calendar(&desk("blended")).await.expect("calendar"),
        Some(Calendar::always_open()),
        "calendars: per desk"
    );
    let events = Calendar::events_only(vec![]);
    store
        .put_calendar(&desk("national"), &events)
        .await
        .expect("put_calendar");
    assert_eq!(
        store.calendar(&desk("national")).await.expect("calendar"),
        Some(events.clone()),
        "calendars: a second put replaces"
    );
    assert_eq!(
        store.calendar(&desk("nowhere")).await.expect("calendar"),
        None,
        "calendars: unknown desk"
    );
    assert_eq!(
        store.calendars().await.expect("calendars"),
        vec![
            (desk("blended"), Calendar::always_open()),
            (desk("national"), events)
        ],
        "calendars: every desk's, by desk"
    );
}

/// The headline figures, on a small data set whose figures are computed by hand.
pub async fn summary<S: Store + ?Sized>(store: &S) {
    let from = t(2022, 3, 1, 0, 0, 0);
    let until = t(2022, 4, 1, 0, 0, 0);
    let min = Duration::minutes;
    let sec = Duration::seconds;
    let day = |d: u32, h: u32| t(2022, 3, d, h, 0, 0);

    // c1: waited 60 s, 20 min chat, ended by the counsellor; registered; 5 stars.
    let c1 = served(
        "national",
        day(1, 17),
        day(1, 17) + sec(60),
        Some((day(1, 17) + sec(60) + min(20), EndReason::CounsellorEnded)),
    );
    // c2: waited 120 s, 10 min chat, the client left; registered as fake call; 4 stars.
    let c2 = served(
        "national",
        day(2, 17),
        day(2, 17) + sec(120),
        Some((day(2, 17) + sec(120) + min(10), EndReason::ClientLeft)),
    );
    // c3: left the queue after 5 minutes.
    let mut c3 = meta("national", day(3, 18));
    c3.state = ConversationState::Ended;
    c3.ended_at = Some(day(3, 18) + min(5));
    c3.end_reason = Some(EndReason::AbandonedInQueue);
    // c4: still waiting at closing time.
    let mut c4 = meta("national", day(4, 20) + min(50));
    c4.state = ConversationState::Ended;
    c4.ended_at = Some(day(4, 21));
    c4.end_reason = Some(EndReason::ClosedAtClosingTime);
    // c5: waited 30 s, still running.
    let c5 = served("national", day(5, 17), day(5, 17) + sec(30), None);
    // c6: served at once, 45 min to the time limit; 3 stars, not registered.
    let c6 = served(
        "national",
        day(6, 17),
        day(6, 17),
        Some((day(6, 17) + min(45), EndReason::TimeLimit)),
    );
    // c7: another desk: waited 10 s, 11 min, the client left; registered; 2 stars.
    let c7 = served(
        "clb-gent",
        day(7, 10),
        day(7, 10) + sec(10),
        Some((day(7, 10) + sec(10) + min(11), EndReason::ClientLeft)),
    );
    // c8: arrived exactly at `until`: outside. c9: a second before `from`: outside.
    let c8 = served(
        "national",
        until,
        until + sec(5),
        Some((until + min(30), EndReason::ClientLeft)),
    );
    let c9 = served(
        "national",
        from - sec(1),
        from + sec(5),
        Some((from + min(30), EndReason::BrokenOff)),
    );
    // c10: waiting now.
    let c10 = meta("national", day(10, 17));
    for m in [&c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &c9, &c10] {
        put(store, m).await;
    }
    for (m, desk_name, fake) in [
        (&c1, "national", false),
        (&c2, "national", true),
        (&c7, "clb-gent", false),
        (&c8, "national", true),
        (&c9, "national", true),
    ] {
        store
            .save_registration(&registration(m.id, desk_name, fake))
            .await
            .expect("save_registration");
    }
    for (m, desk_name, stars) in [
        (&c1, "national", 5),
        (&c2, "national", 4),
        (&c6, "national", 3),
        (&c7, "clb-gent", 2),
        (&c8, "national", 1),
        (&c9, "national", 1),
    ] {
        store
            .save_rating(&rating(m.id, desk_name, stars))
            .await
            .expect("save_rating");
    }

    let national = store
        .summary(Some(&desk("national")), from, until)
        .await
        .expect("summary");
    let expected = Summary {
        arrivals: 7, // c1 c2 c3 c4 c5 c6 c10
        served: 4,   // c1 c2 c5 c6
        abandoned_in_queue: 1,
        closed_at_closing_time: 1,
        by_end_reason: vec![
            (EndReason::ClientLeft, 1),
            (EndReason::CounsellorEnded, 1),
            (EndReason::TimeLimit, 1),
        ],
        mean_duration_secs: Some((1200.0 + 600.0 + 2700.0) / 3.0),
        mean_wait_secs: Some((60.0 + 120.0 + 30.0 + 0.0) / 4.0),
        ratings: 3,
        mean_stars: Some(4.0),
        registrations: 2,
        fake_calls: 1,
    };
    assert_summary(&national, &expected, "one desk");

    let all = store.summary(None, from, until).await.expect("summary");
    let expected = Summary {
        arrivals: 8,
        served: 5,
        abandoned_in_queue: 1,
        closed_at_closing_time: 1,
        by_end_reason: vec![
            (EndReason::ClientLeft, 2),
            (EndReason::CounsellorEnded, 1),
            (EndReason::TimeLimit, 1),
        ],
        mean_duration_secs: Some((1200.0 + 600.0 + 2700.0 + 660.0) / 4.0),
        mean_wait_secs: Some((60.0 + 120.0 + 30.0 + 0.0 + 10.0) / 5.0),
        ratings: 4,
        mean_stars: Some(3.5),
        registrations: 3,
        fake_calls: 1,
    };
    assert_summary(&all, &expected, "all desks");

    let empty = store
        .summary(None, t(2021, 1, 1, 0, 0, 0), t(2021, 2, 1, 0, 0, 0))
        .await
        .expect("summary");
    assert_summary(&empty, &Summary::default(), "an empty period");
    let nowhere = store
        .summary(Some(&desk("nowhere")), from, until)
        .await
        .expect("summary");
    assert_summary(&nowhere, &Summary::default(), "an unknown desk");
}

fn assert_summary(got: &Summary, want: &Summary, what: &str) {
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (None, None) => true,
        _ => false,
    };
    let counts = |s: &Summary| {
        (
            s.arrivals,
            s.served,
            s.abandoned_in_queue,
            s.closed_at_closing_time,
            s.by_end_reason.clone(),
            s.ratings,
            s.registrations,
            s.fake_calls,
        )
    };
    assert_eq!(
        counts(got),
        counts(want),
        "summary ({what}): counts differ:\n got {got:?}\nwant {want:?}"
    );
    assert!(
        close(got.mean_duration_secs, want.mean_duration_secs),
        "summary ({what}): mean duration {:?}, want {:?}",
        got.mean_duration_secs,
        want.mean_duration_secs
    );
    assert!(
        close(got.mean_wait_secs, want.mean_wait_secs),
        "summary ({what}): mean wait {:?}, want {:?}",
        got.mean_wait_secs,
        want.mean_wait_secs
    );
    assert!(
        close(got.mean_stars, want.mean_stars),
        "summary ({what}): mean stars {:?}, want {:?}",
        got.mean_stars,
        want.mean_stars
    );
}

// ---------------------------------------------------------------------------------------
// the report

/// An instant given in Brussels local time.
fn brussels(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    match chrono_tz::Europe::Brussels.with_ymd_and_hms(y, mo, d, h, mi, 0) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        _ => panic!("conformance: bad local instant {y}-{mo}-{d} {h}:{mi}"),
    }
}

/// A chat: arrived, waited `wait` seconds, lasted `length` seconds (or still runs).
fn chat(
    desk_name: &str,
    arrived: DateTime<Utc>,
    self_report: Option<ClientType>,
    wait: i64,
    end: Option<(i64, EndReason)>,
) -> ConversationMeta {
    let started = arrived + Duration::seconds(wait);
    let mut m = served(
        desk_name,
        arrived,
        started,
        end.map(|(length, reason)| (started + Duration::seconds(length), reason)),
    );
    m.profile.client_type = self_report;
    m
}

/// An arrival that was never served, ended `after` seconds later for `reason`.
fn unserved(arrived: DateTime<Utc>, after: i64, reason: EndReason) -> ConversationMeta {
    let mut m = meta("clbchat", arrived);
    m.state = ConversationState::Ended;
    m.ended_at = Some(arrived + Duration::seconds(after));
    m.end_reason = Some(reason);
    m
}

#[allow(clippy::too_many_arguments)]
fn registered(
    m: &ConversationMeta,
    client_type: ClientType,
    age: Option<u8>,
    gender: Option<Gender>,
    topics: &[&str],
    results: &[ChatResult],
    found_via: Option<FoundVia>,
    fake_call: bool,
) -> Registration {
    Registration {
        conversation: m.id,
        desk: m.desk.clone(),
        counsellor: StaffId::new("c-anna"),
        client_type,
        age,
        gender,
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        results: results.to_vec(),
        found_via,
        fake_call,
        registered_at: m.ended_at.unwrap_or(m.arrived_at),
    }
}

/// The report fixture: chats of two desks in the 2021-2022 school year, one of the year
/// before and one of the year after, with registrations and ratings.
async fn report_fixture<S: Store + ?Sized>(store: &S) {
    use ChatResult::*;
    use ClientType::*;
    use EndReason::*;
    let student = Some(Student);
    // 1: 23:30 on 31 October in Brussels is 22:30 UTC: it counts in October.
    let c1 = chat(
        "clbchat",
        brussels(2021, 10, 31, 23, 30),
        student,
        120,
        Some((600, ClientLeft)),
    );
    // 2: 00:30 on 1 November in Brussels is still 31 October in UTC: November.
    let c2 = chat(
        "clbchat",
        brussels(2021, 11, 1, 0, 30),
        student,
        60,
        Some((1200, CounsellorEnded)),
    );
    let c3 = chat(
        "clbchat",
        brussels(2021, 11, 22, 18, 0),
        Some(Parent),
        300,
        Some((900, CounsellorEnded)),
    );
    // 4: not registered: its type is the self-report.
    let c4 = chat(
        "clbchat",
        brussels(2021, 12, 1, 18, 0),
        student,
        30,
        Some((240, EndReason::BrokenOff)),
    );
    // 5: no self-report; the registration says student.
    let c5 = chat(
        "clbchat",
        brussels(2021, 12, 7, 19, 0),
        None,
        900,
        Some((1500, ClientLeft)),
    );
    let c6 = unserved(brussels(2022, 1, 10, 18, 0), 420, AbandonedInQueue);
    let c7 = unserved(brussels(2022, 1, 10, 20, 55), 0, RefusedBeforeClosing);
    let c8 = unserved(brussels(2022, 1, 10, 20, 40), 1200, ClosedAtClosingTime);
    // 9: still running: a chat, without a duration.
    let c9 = chat(
        "clbchat",
        brussels(2022, 2, 1, 18, 0),
        Some(Parent),
        60,
        None,
    );
    // 10: a centre's chatbox.
    let c10 = chat(
        "chatbox-gent",
        brussels(2022, 3, 15, 19, 0),
        student,
        10,
        Some((660, ClientLeft)),
    );
    // 11: the school year before; 12: after the period.
    let c11 = chat(
        "clbchat",
        brussels(2021, 5, 10, 18, 0),
        student,
        5,
        Some((300, ClientLeft)),
    );
    let c12 = chat(
        "clbchat",
        brussels(2022, 9, 5, 18, 0),
        student,
        5,
        Some((300, ClientLeft)),
    );
    for m in [
        &c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8, &c9, &c10, &c11, &c12,
    ] {
        put(store, m).await;
    }
    let regs = [
        registered(
            &c1,
            Student,
            Some(15),
            Some(Gender::F),
            &["olb.study_choice", "psf.family"],
            &[InformationAdvice],
            Some(FoundVia::Smartschool),
            false,
        ),
        registered(
            &c2,
            Student,
            Some(14),
            Some(Gender::M),
            &["olb.study_choice"],
            &[EmotionalSupport, ReferredToClb],
            Some(FoundVia::EarlierChat),
            true,
        ),
        registered(
            &c3,
            Parent,
            Some(11),
            None,
            &["pgz.covid_medical"],
            &[InformationAdvice, ReferredToClb],
            Some(FoundVia::ClbWebsite),
            false,
        ),
        registered(
            &c5,
            Student,
            Some(16),
            Some(Gender::X),
            &["psf.covid_related", "psf.depression"],
            &[EmotionalSupport],
            None,
            false,
        ),
        registered(
            &c10,
            Student,
            Some(17),
            Some(Gender::F),
            &["olb.study_choice"],
            &[InformationAdvice],
            Some(FoundVia::SchoolWebsite),
            false,
        ),
        registered(
            &c11,
            Student,
            Some(12),
            Some(Gender::F),
            &["psf.bullying"],
            &[EmotionalSupport],
            None,
            true,
        ),
        registered(
            &c12,
            Parent,
            Some(9),
            None,
            &["psf.bullying"],
            &[EmotionalSupport],
            None,
            true,
        ),
    ];
    for r in &regs {
        store.save_registration(r).await.expect("save_registration");
    }
    for (m, stars) in [
        (&c1, 4),
        (&c2, 2),
        (&c3, 5),
        (&c5, 4),
        (&c10, 3),
        (&c11, 1),
        (&c12, 1),
    ] {
        store
            .save_rating(&rating(m.id, m.desk.0.as_str(), stars))
            .await
            .expect("save_rating");
    }
}

fn covid(q: ReportQuery) -> ReportQuery {
    q.with_theme(
        "COVID-19",
        vec![
            "pgz.covid_medical".into(),
            "pgz.vaccination_covid".into(),
            "psf.covid_related".into(),
        ],
        NaiveDate::from_ymd_opt(2021, 11, 22).expect("date"),
        NaiveDate::from_ymd_opt(2021, 12, 8).expect("date"),
    )
    .expect("a theme")
}

fn year_query(desk_name: Option<&str>) -> ReportQuery {
    ReportQuery::school_year(desk_name.map(desk), 2021, t(2022, 6, 1, 0, 0, 0))
        .expect("a school year")
}

fn client(client_type: ClientType) -> ClientFigures {
    ClientFigures {
        client_type: Some(client_type),
        results: ChatResult::ALL.iter().map(|r| (*r, 0)).collect(),
        found_via: FoundVia::ALL.iter().map(|f| (*f, 0)).collect(),
        genders: vec![(Gender::F, 0), (Gender::M, 0), (Gender::X, 0)],
        ..ClientFigures::default()
    }
}

fn set<K: PartialEq>(list: &mut [(K, u64)], key: K, n: u64) {
    if let Some(e) = list.iter_mut().find(|(k, _)| *k == key) {
        e.1 = n;
    }
}

fn topics(list: &[(&str, u64)]) -> Vec<TopicCount> {
    list.iter()
        .map(|(t, n)| TopicCount {
            topic: (*t).to_owned(),
            chats: *n,
        })
        .collect()
}

fn months(query: &ReportQuery, rows: &[(&str, u64, u64, u64)]) -> Vec<PeriodCount> {
    query
        .months
        .iter()
        .map(|p| {
            let (chats, students, parents) = rows
                .iter()
                .find(|r| r.0 == p.label)
                .map_or((0, 0, 0), |r| (r.1, r.2, r.3));
            PeriodCount {
                period: p.clone(),
                chats,
                students,
                parents,
            }
        })
        .collect()
}

/// Compares two reports as JSON, numbers within 1e-6, naming the first place they differ.
fn assert_report(got: &ReportData, want: &ReportData, what: &str) {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                ((x - y).abs() > 1e-6).then(|| format!("{path}: got {x}, want {y}"))
            }
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Some(format!(
                        "{path}: got {} entries, want {}:\n got {a}\nwant {b}",
                        x.len(),
                        y.len()
                    ));
                }
                x.iter()
                    .zip(y)
                    .enumerate()
                    .find_map(|(i, (x, y))| walk(&format!("{path}[{i}]"), x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().find_map(|k| {
                    walk(
                        &format!("{path}.{k}"),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    )
                })
            }
            _ => (a != b).then(|| format!("{path}: got {a}, want {b}")),
        }
    }
    let a = serde_json::to_value(got).expect("a report serialises");
    let b = serde_json::to_value(want).expect("a report serialises");
    if let Some(diff) = walk("report", &a, &b) {
        panic!("report ({what}) differs at {diff}");
    }
}

/// The report counts every figure as `crate::statistics` defines it: chats by local month
/// and school year, client types from the registration or else the self-report, waits with
/// their p90, the unserved, topics, results, how clients found the chat, ages, genders,
/// ratings, a theme in its own period, and each desk's use.
pub async fn report<S: Store + ?Sized>(store: &S) {
    use ChatResult::*;
    use EndReason::*;
    report_fixture(store).await;
    let query = covid(year_query(None));
    let got = store.report(&query).await.expect("report");

    let mut students = client(ClientType::Student);
    students.chats = 5; // 1 2 4 5 10
    students.ended = 5;
    students.mean_duration_secs = Some((600.0 + 1200.0 + 240.0 + 1500.0 + 660.0) / 5.0);
    students.ratings = 4;
    students.mean_stars = Some((4.0 + 2.0 + 4.0 + 3.0) / 4.0);
    students.registrations = 4;
    students.fake_calls = 1;
    students.topics = topics(&[
        ("olb.study_choice", 3),
        ("psf.covid_related", 1),
        ("psf.depression", 1),
        ("psf.family", 1),
    ]);
    set(&mut students.results, EmotionalSupport, 2);
    set(&mut students.results, InformationAdvice, 2);
    set(&mut students.results, ReferredToClb, 1);
    set(&mut students.found_via, FoundVia::Smartschool, 1);
    set(&mut students.found_via, FoundVia::SchoolWebsite, 1);
    set(&mut students.found_via, FoundVia::EarlierChat, 1);
    students.ages = 4;
    students.mean_age = Some((15.0 + 14.0 + 16.0 + 17.0) / 4.0);
    set(&mut students.genders, Gender::F, 2);
    set(&mut students.genders, Gender::M, 1);
    set(&mut students.genders, Gender::X, 1);

    let mut parents = client(ClientType::Parent);
    parents.chats = 2; // 3 9
    parents.ended = 1;
    parents.mean_duration_secs = Some(900.0);
    parents.ratings = 1;
    parents.mean_stars = Some(5.0);
    parents.registrations = 1;
    parents.topics = topics(&[("pgz.covid_medical", 1)]);
    set(&mut parents.results, InformationAdvice, 1);
    set(&mut parents.results, ReferredToClb, 1);
    set(&mut parents.found_via, FoundVia::ClbWebsite, 1);
    parents.ages = 1;
    parents.mean_age = Some(11.0);

    let mut school_years: Vec<PeriodCount> = query
        .school_years
        .iter()
        .map(|p| PeriodCount {
            period: p.clone(),
            chats: 0,
            students: 0,
            parents: 0,
        })
        .collect();
    let n = school_years.len();
    assert!(n >= 2, "the per-year table reaches back");
    school_years[n - 2].chats = 1; // 11
    school_years[n - 2].students = 1;
    school_years[n - 1].chats = 7;
    school_years[n - 1].students = 5;
    school_years[n - 1].parents = 2;

    let want = ReportData {
        query: query.clone(),
        totals: Totals {
            arrivals: 10,
            chats: 7,
            ended: 6,
            mean_duration_secs: Some(5100.0 / 6.0),
            mean_wait_secs: Some((120.0 + 60.0 + 300.0 + 30.0 + 900.0 + 60.0 + 10.0) / 7.0),
            p90_wait_secs: Some(900.0),
            abandoned_in_queue: 1,
            mean_wait_abandoned_secs: Some(420.0),
            refused_before_closing: 1,
            closed_at_closing_time: 1,
            refused_queue_full: 0,
            chats_by_end_reason: vec![
                (EndReason::BrokenOff, 1),
                (ClientLeft, 3),
                (CounsellorEnded, 2),
            ],
            registrations: 5,
            fake_calls: 1,
            ratings: 5,
            mean_stars: Some(18.0 / 5.0),
        },
        clients: vec![students, parents],
        months: months(
            &query,
            &[
                ("2021-10", 1, 1, 0),
                ("2021-11", 2, 1, 1),
                ("2021-12", 2, 2, 0),
                ("2022-02", 1, 0, 1),
                ("2022-03", 1, 1, 0),
            ],
        ),
        school_years,
        theme: Some(ThemeFigures {
            query: query.theme.clone().expect("the theme"),
            chats: 3, // 3 4 5
            about_theme: 2,
            clients: vec![
                ThemeClient {
                    client_type: Some(ClientType::Student),
                    chats: 1,
                    ages: 1,
                    mean_age: Some(16.0),
                },
                ThemeClient {
                    client_type: Some(ClientType::Parent),
                    chats: 1,
                    ages: 1,
                    mean_age: Some(11.0),
                },
            ],
            mean_duration_secs: Some(1200.0),
            ratings: 2,
            mean_stars: Some(4.5),
        }),
        desks: vec![
            DeskFigures {
                desk: desk("chatbox-gent"),
                chats: 1,
                mean_duration_secs: Some(660.0),
                ratings: 1,
                mean_stars: Some(3.0),
            },
            DeskFigures {
                desk: desk("clbchat"),
                chats: 6,
                mean_duration_secs: Some(4440.0 / 5.0),
                ratings: 4,
                mean_stars: Some(3.75),
            },
        ],
        coverage: vec![],
        events: vec![],
    };
    assert_report(&got, &want, "all desks");

    // A period without data has the same shape, with zeros and no means.
    let empty_query = ReportQuery::school_year(None, 2018, t(2022, 6, 1, 0, 0, 0)).expect("query");
    let empty = store.report(&empty_query).await.expect("report");
    assert_eq!(
        empty.totals,
        Totals::default(),
        "an empty year has no figures"
    );
    assert!(empty.clients.is_empty() && empty.desks.is_empty() && empty.theme.is_none());
    assert_eq!(empty.months.len(), 12);
    assert!(empty.months.iter().all(|m| m.chats == 0));

    // A query that names an unknown topic is refused before anything is read.
    let mut bad = query;
    if let Some(theme) = bad.theme.as_mut() {
        theme.topics.push("psf.nonsense".into());
    }
    let err = store.report(&bad).await.expect_err("an unknown topic");
    assert!(is_invalid(&err), "an unknown topic is invalid: {err}");
}

/// With a desk, every figure counts that desk only.
pub async fn report_of_one_desk<S: Store + ?Sized>(store: &S) {
    report_fixture(store).await;
    let got = store
        .report(&year_query(Some("chatbox-gent")))
        .await
        .expect("report");
    assert_eq!(got.totals.arrivals, 1);
    assert_eq!(got.totals.chats, 1);
    assert_eq!(got.totals.registrations, 1);
    assert_eq!(
        got.desks
            .iter()
            .map(|d| d.desk.0.as_str())
            .collect::<Vec<_>>(),
        ["chatbox-gent"]
    );
    assert_eq!(got.clients.len(), 1);
    assert_eq!(got.clients[0].topics, topics(&[("olb.study_choice", 1)]));
    let year = got.school_years.last().expect("the year");
    assert_eq!((year.chats, year.students), (1, 1));
    let national = store
        .report(&year_query(Some("clbchat")))
        .await
        .expect("report");
    assert_eq!((national.totals.arrivals, national.totals.chats), (9, 6));
    let nowhere = store
        .report(&year_query(Some("nowhere")))
        .await
        .expect("report");
    assert_eq!(nowhere.totals, Totals::default());
}

/// Events: the chats that arrived at the event's desk in one of its windows, by client
/// type, with their length and stars; arrivals never served count apart; an event with
/// nothing in it has zeros; an event of another desk than the report's is refused.
pub async fn report_of_events<S: Store + ?Sized>(store: &S) {
    report_fixture(store).await;
    let window = |label: &str, from: DateTime<Utc>, hours: i64| Period {
        label: label.into(),
        from,
        until: from + Duration::hours(hours),
    };
    let event = |d: &str, title: &str, windows: Vec<Period>| EventQuery {
        desk: desk(d),
        title: title.into(),
        windows,
    };
    let evening = event(
        "chatbox-gent",
        "Infoavond",
        vec![
            window("Infoavond", brussels(2022, 3, 15, 18, 0), 3),
            window("Infoavond", brussels(2022, 3, 16, 18, 0), 3),
        ],
    );
    // Chats 3 (a parent's) and 6, 7, 8 (never served) arrived in these windows; chat 2
    // arrived on another day.
    let crisis = event(
        "clbchat",
        "Na het ongeval",
        vec![
            window("Na het ongeval", brussels(2021, 11, 22, 17, 0), 2),
            window("Na het ongeval", brussels(2022, 1, 10, 17, 0), 4),
        ],
    );
    let quiet = event(
        "chatbox-gent",
        "Stille namiddag",
        vec![window("Stille namiddag", brussels(2022, 6, 1, 10, 0), 2)],
    );
    let mut query = year_query(None);
    query.events = vec![crisis.clone(), evening.clone(), quiet.clone()];
    let got = store.report(&query).await.expect("report");
    let figures = |q: &EventQuery| EventFigures::empty(q.clone());
    let want = vec![
        EventFigures {
            arrivals: 4,
            chats: 1,
            clients: vec![(Some(ClientType::Parent), 1)],
            ended: 1,
            mean_duration_secs: Some(900.0),
            ratings: 1,
            mean_stars: Some(5.0),
            ..figures(&crisis)
        },
        EventFigures {
            arrivals: 1,
            chats: 1,
            clients: vec![(Some(ClientType::Student), 1)],
            ended: 1,
            mean_duration_secs: Some(660.0),
            ratings: 1,
            mean_stars: Some(3.0),
            ..figures(&evening)
        },
        figures(&quiet),
    ];
    assert_eq!(got.events, want);

    // A report of one desk counts only its own events.
    let mut one = year_query(Some("chatbox-gent"));
    one.events = vec![evening.clone()];
    let got = store.report(&one).await.expect("report");
    assert_eq!(got.events, want[1..2]);
    one.events.push(crisis);
    let e = store.report(&one).await.expect_err("another desk's event");
    assert_eq!(e.code(), "invalid", "{e}");
}

/// Coverage: each sample holds until the next of its desk, 65 minutes at most, cut to the
/// period and to `as_of`; a second sample at the same instant replaces the first; closed
/// time does not count.
pub async fn coverage<S: Store + ?Sized>(store: &S) {
    // The national desk wants a medical counsellor; the chatboxes do not.
    let sample = |d: &str, at: DateTime<Utc>, open: bool, n: u32, medical: u32, minimum: u32| {
        CoverageSample {
            desk: desk(d),
            at,
            open,
            counsellors: n,
            medical,
            minimum,
            medical_wanted: d == "clbchat",
        }
    };
    let t0 = t(2022, 1, 10, 16, 0, 0);
    let min = Duration::minutes;
    let samples = [
        // Replaced by the next one, at the same instant.
        sample("clbchat", t0, true, 1, 0, 3),
        sample("clbchat", t0, true, 3, 1, 3),
        // 20 minutes below the minimum.
        sample("clbchat", t0 + min(30), true, 2, 1, 3),
        // Below the minimum and no medical counsellor, for 65 minutes at most: the next
        // sample comes 190 minutes later.
        sample("clbchat", t0 + min(50), true, 2, 0, 3),
        sample("clbchat", t0 + min(240), true, 4, 1, 3),
        sample("clbchat", t0 + min(260), false, 0, 0, 3),
        // 30 minutes before `as_of` (2022-06-01 00:00 UTC).
        sample("clbchat", t(2022, 5, 31, 23, 30, 0), true, 3, 1, 3),
        // Before the period (which starts 2021-08-31 22:00 UTC): 10 minutes reach into it,
        // without a medical counsellor, whom a chatbox does not need.
        sample("chatbox-gent", t(2021, 8, 31, 21, 30, 0), true, 1, 0, 1),
        sample("chatbox-gent", t(2021, 8, 31, 22, 10, 0), false, 0, 0, 1),
        // Another year: not in this report.
        sample("chatbox-leuven", t(2020, 3, 1, 10, 0, 0), true, 1, 0, 1),
    ];
    for s in &samples {
        store.record_coverage(s).await.expect("record_coverage");
    }
    let got = store.report(&year_query(None)).await.expect("report");
    let want = vec![
        CoverageFigures {
            desk: desk("chatbox-gent"),
            open_secs: 600,
            below_minimum_secs: 0,
            no_medical_secs: 0, // no medical counsellor is wanted there
        },
        CoverageFigures {
            desk: desk("clbchat"),
            open_secs: 1800 + 1200 + 3900 + 1200 + 1800,
            below_minimum_secs: 1200 + 3900,
            no_medical_secs: 3900,
        },
    ];
    assert_eq!(got.coverage, want, "coverage per desk");
    let one = store
        .report(&year_query(Some("chatbox-gent")))
        .await
        .expect("report");
    assert_eq!(one.coverage, want[..1], "coverage of one desk");
}
