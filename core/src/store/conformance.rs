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
    ConversationFilter, ConversationMeta, ConversationState, Store, Summary, TranscriptRead,
};
use crate::auth::{Account, StaffIdentity, StaffRole};
use crate::calendar::{Calendar, Closure, EventWindow, HolidayPeriod, WeeklyHours};
use crate::error::{Error, StoreErrorKind};
use crate::event::{
    ClientProfile, Discipline, EndReason, EventBody, LoggedEvent, Role, TransferTarget,
};
use crate::flags::{Flag, FlagKind, FlagStatus};
use crate::ids::{ClientMsgId, ConversationId, DeskId, FlagId, StaffId};
use crate::pseudonym::Pseudonym;
use crate::registration::{ChatResult, ClientType, FoundVia, Gender, Rating, Registration};

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
    purge_transcripts,
    registration_and_rating_once,
    count_visits,
    flags,
    rekey_pseudonym,
    accounts,
    calendars,
    summary,
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
    let combined = list(ConversationFilter {
        desk: Some(desk("national")),
        states: vec![ConversationState::Waiting],
        arrived_from: Some(base()),
        arrived_until: Some(base() + Duration::hours(5)),
        limit: Some(10),
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

/// Purging removes the events of conversations ended before the cut-off, and nothing else.
pub async fn purge_transcripts<S: Store + ?Sized>(store: &S) {
    let cutoff = t(2022, 4, 1, 0, 0, 0);
    let day = Duration::days(1);
    let old = served(
        "national",
        base(),
        base(),
        Some((cutoff - day, EndReason::ClientLeft)),
    );
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
    assert_eq!(
        store.conversation(old.id).await.expect("conversation"),
        Some(old.clone()),
        "purge_transcripts: the metadata stays"
    );
    assert!(
        store
            .registration(old.id)
            .await
            .expect("registration")
            .is_some(),
        "purge_transcripts: the registration stays"
    );
    assert!(
        store.rating(old.id).await.expect("rating").is_some(),
        "purge_transcripts: the rating stays"
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
        Some(events),
        "calendars: a second put replaces"
    );
    assert_eq!(
        store.calendar(&desk("nowhere")).await.expect("calendar"),
        None,
        "calendars: unknown desk"
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
