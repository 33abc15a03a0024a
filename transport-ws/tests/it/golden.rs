//! Golden files: the wire format of every frame of `clbchat.v1`, pinned.
//!
//! Every sample below (every `ClientFrame` variant, every `ServerFrame` variant, an `event`
//! frame per `ServerEvent` variant and per `EventBody` variant) is serialised and compared,
//! as a JSON value, with `tests/golden/<name>.json`; each file is then decoded back and
//! compared with its sample (client frames with `protocol::decode`, server frames with
//! `serde_json`). Only fixed values are used, so the files never change by themselves.
//!
//! The same samples are the examples of `docs/protocol.md`: each sits there after a
//! `<!-- golden:NAME -->` marker, and the tables and the transcript after a
//! `<!-- generated:NAME -->` marker are generated here too, so the reference cannot drift.
//!
//! After a deliberate change of the format (or of a sample), regenerate the files and the
//! generated parts of the docs, then review the diff:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p clbchat-transport-ws --test it golden
//! ```
//!
//! With `UPDATE_GOLDEN=1` the tests write instead of comparing, and delete `.json` files in
//! `tests/golden/` that no sample produces. A new variant of any of the four enums does not
//! compile until the exhaustive `match`es in [`client_file`], [`server_file`],
//! [`event_file`] and [`body_kind`] name it, and the coverage test fails until it has a
//! sample.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use clbchat_core::account::{AccountView, StaffIdentity, StaffRole};
use clbchat_core::appointment::{AppointmentStatus, AppointmentView, Booking, LinkInfo, LinkState};
use clbchat_core::calendar::{
    Calendar, CalendarMode, Closure, EventWindow, HolidayPeriod, WeeklyHours,
};
use clbchat_core::config::{
    DEFAULT_CHAT_LIMIT, DEFAULT_EXTENSION, DEFAULT_IDLE_END_AFTER_PROMPT,
    DEFAULT_IDLE_PROMPT_AFTER, DEFAULT_MAX_MESSAGE_CHARS, DEFAULT_MAX_QUEUE,
    DEFAULT_OUTBOX_CAPACITY, DEFAULT_RECONNECT_GRACE, DEFAULT_WARNINGS_BEFORE_END,
    MAX_NICKNAME_CHARS,
};
use clbchat_core::engine::appointments::{SessionTranscript, Which};
use clbchat_core::engine::events::EventRequest;
use clbchat_core::engine::DeskAvailability;
use clbchat_core::error::StoreErrorKind;
use clbchat_core::event::{
    ClientProfile, CounsellorStatus, CoverageWarning, DeskBoard, Discipline, EndReason, EventBody,
    LoggedEvent, LoginFailures, PresenceStatus, Role, RunningChat, ServerEvent, TransferTarget,
};
use clbchat_core::flags::{Flag, FlagKind, FlagStatus, FlagSummary, VisitorHistory};
use clbchat_core::ids::{
    AppointmentId, CentreId, ClientMsgId, ConversationId, DeskId, FlagId, StaffId, TrajectoryId,
};
use clbchat_core::pseudonym::{Pseudonym, MAX_TOKEN_CHARS, MIN_TOKEN_CHARS};
use clbchat_core::registration::{
    ChatResult, ClientType, FoundVia, Gender, RegistrationForm, MAX_RATING_COMMENT_CHARS,
};
use clbchat_core::statistics::{
    ClientFigures, CoverageFigures, DeskFigures, PeriodCount, ReportData, ReportQuery,
    ThemeRequest, TopicCount, Totals,
};
use clbchat_core::Error as CoreError;
use clbchat_transport_ws::config::{
    DEFAULT_HEARTBEAT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FRAME,
    DEFAULT_MAX_MESSAGE, DEFAULT_MAX_WRITE_BUFFER, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SEC,
    DEFAULT_READ_BUFFER, DEFAULT_START_TIMEOUT, DEFAULT_WRITE_BUFFER, DEFAULT_WRITE_QUEUE,
};
use clbchat_transport_ws::protocol::{
    decode, ClientEnvelope, ClientFrame, ServerFrame, CLOSE_IDLE, CLOSE_NO_START, CLOSE_REPLACED,
    CLOSE_SLOW, CLOSE_VERSION, PROTOCOL_VERSION, SUBPROTOCOL,
};
use clbchat_transport_ws::reports::RenderedReport;
use serde::de::DeserializeOwned;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Fixed values
// ---------------------------------------------------------------------------------------

/// The id `Uuid::from_u128(n)` gives (the `uuid` crate is not a dev-dependency here, so the
/// id is read from its 32-digit hex form, which is the same value).
fn uuid<T: DeserializeOwned>(n: u128) -> T {
    serde_json::from_value(Value::String(format!("{n:032x}"))).unwrap()
}

fn conv() -> ConversationId {
    uuid(0x5d3c_8e1a_4b7f_4c2e_9a61_2f0d_8b4e_6a17)
}

fn other_conv() -> ConversationId {
    uuid(0x0c7b_2f94_1e3a_4d58_8f26_b1a9_e07c_3d52)
}

fn appointment_id() -> AppointmentId {
    uuid(0x3e9a_71c4_0b5d_4f86_a2e7_54c1_9d08_b6f3)
}

fn trajectory_id() -> TrajectoryId {
    uuid(0x81d2_5a6e_c94f_4b03_8e17_2fa6_0c5b_d749)
}

const JOIN_TOKEN: &str = "jQ4vN8sK2wZ7pL1xR5tY9bC3mF6hD0gA";

fn booking() -> Booking {
    Booking {
        client_name: "Lotte Peeters".into(),
        note: Some("Tweede gesprek: de overstap naar het vijfde jaar.".into()),
        starts_at: day(2022, 3, 16, 15, 0),
        length_minutes: 45,
        stand_in: Some(StaffId::new("bram.wouters")),
        trajectory: Some(trajectory_id()),
    }
}

fn appointment_view() -> AppointmentView {
    AppointmentView {
        id: appointment_id(),
        desk: DeskId::new("blended"),
        centre: CentreId::new("clb-gent"),
        trajectory: trajectory_id(),
        counsellor: sara(),
        stand_in: Some(StaffId::new("bram.wouters")),
        client_name: "Lotte Peeters".into(),
        note: Some("Tweede gesprek: de overstap naar het vijfde jaar.".into()),
        starts_at: day(2022, 3, 16, 15, 0),
        ends_at: day(2022, 3, 16, 15, 45),
        length_minutes: 45,
        status: AppointmentStatus::Planned,
        conversations: Vec::new(),
    }
}

fn flag_id() -> FlagId {
    uuid(0xa8f0_4c2d_61b9_4e57_b3c0_7d12_e95f_0a48)
}

fn desk() -> DeskId {
    DeskId::new("clbchat")
}

fn sara() -> StaffId {
    StaffId::new("sara.claes")
}

fn els() -> StaffId {
    StaffId::new("els.maes")
}

fn kris() -> StaffId {
    StaffId::new("kris.janssens")
}

/// 2022-03-10 (a Thursday; the desk is open 17:00-21:00 Brussels time, 16:00-20:00 UTC).
fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 10, h, m, s).unwrap()
}

fn day(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

const RESUME_TOKEN: &str = "r3Jd9xq0VbZ1mW7kT2pLs8YcE5uA4nHf6gQiOeXwBvM";
const VISITOR_TOKEN: &str = "vT8kq2ZsN4xW1mR7pL0cJ9bF3hY6dA5eG_uQiOtXnKw";
const PARTNER: &str = "nupraatikerover";

fn mila() -> ClientProfile {
    ClientProfile {
        client_type: Some(ClientType::Student),
        nickname: Some("Mila".into()),
        age: Some(15),
        gender: Some(Gender::F),
        health_question: false,
    }
}

fn sara_identity() -> StaffIdentity {
    StaffIdentity {
        id: sara(),
        alias: "Sara".into(),
        role: StaffRole::Counsellor,
        discipline: Discipline::PsychoPedagogical,
        desks: vec![desk()],
        capacity: 1,
        centre: None,
    }
}

fn logged(seq: u64, at: DateTime<Utc>, body: EventBody) -> LoggedEvent {
    LoggedEvent {
        conversation: conv(),
        seq,
        at,
        body,
    }
}

fn message(from: Role, author: &str, id: &str, text: &str) -> EventBody {
    EventBody::Message {
        from,
        author: author.into(),
        text: text.into(),
        client_msg_id: ClientMsgId::new(id),
    }
}

fn registration_form() -> RegistrationForm {
    RegistrationForm {
        client_type: ClientType::Student,
        age: Some(15),
        gender: Some(Gender::F),
        topics: vec!["olb.study_choice".into(), "psf.family".into()],
        results: vec![ChatResult::EmotionalSupport, ChatResult::InformationAdvice],
        found_via: Some(FoundVia::Smartschool),
        fake_call: false,
    }
}

fn hours(day: Weekday, open: u32, close: u32) -> WeeklyHours {
    WeeklyHours {
        day,
        open: NaiveTime::from_hms_opt(open, 0, 0).unwrap(),
        close: NaiveTime::from_hms_opt(close, 0, 0).unwrap(),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn calendar() -> Calendar {
    use Weekday::{Mon, Thu, Tue, Wed};
    Calendar {
        time_zone: chrono_tz::Europe::Brussels,
        mode: CalendarMode::Weekly,
        weekly: vec![
            hours(Mon, 17, 21),
            hours(Tue, 17, 21),
            hours(Wed, 14, 21),
            hours(Thu, 17, 21),
        ],
        holiday_periods: vec![HolidayPeriod {
            name: "Paasvakantie".into(),
            from: date(2022, 4, 4),
            to: date(2022, 4, 17),
            hours: vec![
                hours(Mon, 14, 21),
                hours(Tue, 14, 21),
                hours(Wed, 14, 21),
                hours(Thu, 14, 21),
            ],
        }],
        closures: vec![
            Closure {
                name: "Paasmaandag".into(),
                from: date(2022, 4, 18),
                to: date(2022, 4, 18),
            },
            Closure {
                name: "Zomersluiting".into(),
                from: date(2022, 7, 15),
                to: date(2022, 8, 15),
            },
        ],
        event_windows: vec![EventWindow {
            name: "Extra avond examenstress".into(),
            welcome: None,
            start: date(2022, 6, 12).and_hms_opt(19, 0, 0).unwrap(),
            end: date(2022, 6, 12).and_hms_opt(21, 0, 0).unwrap(),
        }],
    }
}

// ---------------------------------------------------------------------------------------
// The samples
// ---------------------------------------------------------------------------------------

/// One sample of every `ClientFrame` variant, each with a `req`.
fn client_frames() -> Vec<ClientFrame> {
    use ClientFrame as F;
    vec![
        F::Hello {
            version: PROTOCOL_VERSION,
        },
        F::Availability { desk: desk() },
        F::Arrive {
            desk: desk(),
            visitor_token: Some(VISITOR_TOKEN.into()),
            profile: mila(),
            appointment: None,
        },
        F::Resume {
            conversation: conv(),
            resume_token: RESUME_TOKEN.into(),
            last_seq: 24,
        },
        F::Login {
            username: "sara.claes".into(),
            password: "een lang wachtwoord".into(),
        },
        F::Send {
            id: ClientMsgId::new("s-7"),
            conversation: None,
            text: "Mijn ouders willen dat ik Latijn blijf doen, maar ik wil naar STEM.".into(),
        },
        F::Typing { conversation: None },
        F::Leave {},
        F::PartnerConsent { consent: true },
        F::Rate {
            stars: 5,
            comment: Some("Fijn dat ik mijn verhaal kwijt kon. Bedankt!".into()),
            conversation: None,
            resume_token: None,
        },
        F::Online {
            desk: desk(),
            shift_ends_at: Some(at(19, 30, 0)),
        },
        F::Available {
            desk: desk(),
            available: false,
        },
        F::Offline { desk: desk() },
        F::End {
            conversation: conv(),
        },
        F::Extend {
            conversation: conv(),
            reason: "Ze vertelt net dat ze zichzelf soms pijn doet; nu niet afbreken.".into(),
        },
        F::Transfer {
            conversation: conv(),
            target: TransferTarget::Discipline {
                discipline: Discipline::Medical,
            },
            note: "Vraag over de morning-afterpil; graag een arts of verpleegkundige.".into(),
        },
        F::AnswerTransfer {
            conversation: conv(),
            accept: true,
        },
        F::OfferPartner {
            conversation: conv(),
            partner: PARTNER.into(),
            summary: "Meisje van 15, wordt thuis geslagen en wil daar met iemand over praten."
                .into(),
        },
        F::Whisper {
            conversation: conv(),
            text: "Goed bezig. Vraag eens of er op school een vertrouwensleerkracht is.".into(),
        },
        F::Register {
            conversation: conv(),
            form: registration_form(),
        },
        F::ReleaseRegistration {
            conversation: conv(),
        },
        F::Rejoin {
            conversation: conv(),
        },
        F::Board { desk: desk() },
        F::Observe {
            conversation: conv(),
        },
        F::TakeOver {
            conversation: conv(),
        },
        F::Flags { desk: desk() },
        F::ReviewFlag {
            flag: flag_id(),
            confirm: true,
        },
        F::Transcript {
            conversation: conv(),
            purpose: clbchat_core::review::ReadPurpose::ChatScan,
            note: Some("chatscan voor een nieuwe medewerker".into()),
        },
        F::IntervisionExport {
            conversation: conv(),
        },
        F::ReadAudit {
            desk: desk(),
            from: day(2022, 3, 1, 0, 0),
            to: day(2022, 4, 1, 0, 0),
            reader: None,
            purpose: Some(clbchat_core::review::ReadPurpose::ChatScan),
        },
        F::MyChats {},
        F::AskFeedback {
            conversation: conv(),
            question: Some("Hoe kon ik het gesprek beter afronden?".into()),
        },
        F::WriteFeedback {
            conversation: conv(),
            text: "Mooi hoe je doorvroeg naar wat er thuis speelt. Rond volgende keer af \
                   met een samenvatting en een volgende stap."
                .into(),
        },
        F::Feedback { desk: desk() },
        F::EraseOnRequest {
            conversation: conv(),
        },
        F::PlanStaffing {
            desk: desk(),
            target: Some("p90-wait=2m,abandon=5%".into()),
            lang: Some("nl".into()),
        },
        F::DrawScan {
            desk: desk(),
            counsellor: Some(StaffId::new("sara.peeters")),
            from: day(2022, 3, 1, 0, 0),
            to: day(2022, 4, 1, 0, 0),
            count: 5,
        },
        F::SetCalendar {
            desk: desk(),
            calendar: calendar(),
        },
        F::Calendar { desk: desk() },
        F::OpenEvent {
            desk: DeskId::new("clb-hasselt"),
            event: EventRequest {
                title: "Infoavond studiekeuze".into(),
                welcome: Some(
                    "Vragen over je studiekeuze? Drie medewerkers van CLB Hasselt chatten met je."
                        .into(),
                ),
                starts_at: Some(day(2022, 3, 10, 18, 0)),
                ends_at: day(2022, 3, 10, 20, 0),
            },
        },
        F::CloseEvent {
            desk: DeskId::new("clb-hasselt"),
        },
        F::CancelEvent {
            desk: DeskId::new("clb-hasselt"),
            start: chrono::NaiveDate::from_ymd_opt(2022, 3, 10)
                .unwrap()
                .and_hms_opt(19, 0, 0)
                .unwrap(),
        },
        F::Accounts {},
        F::SaveAccount {
            username: "sara.peeters".into(),
            create: true,
            password: Some("lang-genoeg-wachtwoord".into()),
            active: true,
            identity: sara_identity(),
        },
        F::SaveCentre {
            id: CentreId::new("clb-hasselt"),
            create: true,
            name: "CLB Hasselt".into(),
            origins: vec!["https://www.clbhasselt.be".into()],
        },
        F::Report {
            desk: Some(desk()),
            from: date(2021, 9, 1),
            to: date(2022, 8, 31),
            theme: Some(ThemeRequest {
                name: "COVID-19".into(),
                topics: vec!["pgz.covid_medical".into(), "psf.covid_related".into()],
                from: Some(date(2021, 11, 22)),
                to: Some(date(2021, 12, 8)),
            }),
            format: Some("markdown".into()),
            lang: Some("nl".into()),
        },
        F::AppointmentLink {
            desk: DeskId::new("blended"),
            token: JOIN_TOKEN.into(),
        },
        F::PlanAppointment {
            desk: DeskId::new("blended"),
            booking: booking(),
        },
        F::RescheduleAppointment {
            appointment: appointment_id(),
            booking: Booking {
                starts_at: day(2022, 3, 17, 16, 0),
                ..booking()
            },
        },
        F::CancelAppointment {
            appointment: appointment_id(),
        },
        F::NewAppointmentLink {
            appointment: appointment_id(),
        },
        F::Appointments {
            which: Which::Coming,
        },
        F::Trajectory {
            trajectory: trajectory_id(),
        },
    ]
}

/// The figures of a report of one day with three chats (a sample of every part).
fn report_data() -> ReportData {
    let mut query = ReportQuery::for_dates(
        Some(desk()),
        date(2022, 3, 1),
        date(2022, 3, 1),
        day(2022, 3, 2, 8, 0),
    )
    .expect("a query");
    query.school_years.drain(..query.school_years.len() - 1);
    let month = PeriodCount {
        period: query.months[0].clone(),
        chats: 3,
        students: 2,
        parents: 1,
    };
    let year = PeriodCount {
        period: query.school_years[0].clone(),
        chats: 3,
        students: 2,
        parents: 1,
    };
    let students = ClientFigures {
        client_type: Some(ClientType::Student),
        chats: 2,
        ended: 2,
        mean_duration_secs: Some(1110.0),
        ratings: 1,
        mean_stars: Some(4.0),
        registrations: 2,
        fake_calls: 0,
        topics: vec![TopicCount {
            topic: "olb.study_choice".into(),
            chats: 2,
        }],
        results: ChatResult::ALL
            .iter()
            .map(|r| (*r, u64::from(*r == ChatResult::InformationAdvice) * 2))
            .collect(),
        found_via: FoundVia::ALL
            .iter()
            .map(|f| (*f, u64::from(*f == FoundVia::Smartschool) * 2))
            .collect(),
        ages: 2,
        mean_age: Some(14.5),
        genders: vec![(Gender::F, 2), (Gender::M, 0), (Gender::X, 0)],
    };
    ReportData {
        query,
        totals: Totals {
            arrivals: 4,
            chats: 3,
            ended: 3,
            mean_duration_secs: Some(1110.0),
            mean_wait_secs: Some(90.0),
            p90_wait_secs: Some(180.0),
            abandoned_in_queue: 1,
            mean_wait_abandoned_secs: Some(300.0),
            refused_before_closing: 0,
            closed_at_closing_time: 0,
            refused_queue_full: 0,
            chats_by_end_reason: vec![(EndReason::ClientLeft, 3)],
            registrations: 2,
            fake_calls: 0,
            ratings: 1,
            mean_stars: Some(4.0),
        },
        clients: vec![students],
        months: vec![month],
        school_years: vec![year],
        theme: None,
        desks: vec![DeskFigures {
            desk: desk(),
            chats: 3,
            mean_duration_secs: Some(1110.0),
            ratings: 1,
            mean_stars: Some(4.0),
        }],
        coverage: vec![CoverageFigures {
            desk: desk(),
            open_secs: 4 * 3600,
            below_minimum_secs: 1800,
            no_medical_secs: 0,
        }],
        events: vec![],
    }
}

/// One log entry of every `EventBody` variant.
fn log_events() -> Vec<LoggedEvent> {
    use EventBody as B;
    vec![
        logged(
            1,
            at(17, 6, 30),
            B::Joined {
                role: Role::Counsellor,
                alias: "Sara".into(),
            },
        ),
        logged(
            3,
            at(17, 8, 12),
            message(
                Role::Client,
                "Mila",
                "s-2",
                "Ik moet volgend jaar kiezen tussen Latijn en STEM, en thuis wordt er alleen \
                 nog daarover geruzied.",
            ),
        ),
        logged(9, at(17, 19, 40), B::IdlePrompt),
        logged(23, at(17, 41, 30), B::TimeWarning { minutes_left: 10 }),
        logged(
            24,
            at(17, 41, 55),
            B::ExtensionReason {
                by: sara(),
                reason: "Ze vertelt net dat ze zichzelf soms pijn doet; nu niet afbreken.".into(),
            },
        ),
        logged(25, at(17, 41, 55), B::Extended { minutes: 15 }),
        logged(26, at(17, 43, 2), B::ClientReconnecting),
        logged(28, at(17, 44, 10), B::ClientResumed),
        logged(
            29,
            at(17, 46, 5),
            B::CounsellorLost {
                alias: "Sara".into(),
            },
        ),
        logged(
            30,
            at(17, 47, 0),
            B::Whisper {
                from: kris(),
                role: Role::Coordinator,
                text: "Goed bezig. Vraag eens of er op school een vertrouwensleerkracht is.".into(),
            },
        ),
        logged(
            31,
            at(17, 48, 20),
            B::TransferOffered {
                from: sara(),
                to: TransferTarget::Colleague { staff: els() },
                note: "Vraag over de morning-afterpil; graag een arts of verpleegkundige.".into(),
            },
        ),
        logged(32, at(17, 48, 50), B::TransferDeclined { by: els() }),
        logged(
            34,
            at(17, 50, 5),
            B::TransferAccepted {
                from: sara(),
                to: els(),
            },
        ),
        logged(
            35,
            at(17, 50, 5),
            B::Left {
                role: Role::Counsellor,
                alias: "Sara".into(),
            },
        ),
        logged(
            37,
            at(17, 52, 0),
            B::TakenOver {
                by: kris(),
                from: Some(els()),
            },
        ),
        logged(
            40,
            at(17, 55, 0),
            B::PartnerOffered {
                partner: PARTNER.into(),
                partner_name: "Nu praat ik erover".into(),
                summary: "Meisje van 15, wordt thuis geslagen en wil daar met iemand over praten."
                    .into(),
            },
        ),
        logged(
            41,
            at(17, 55, 40),
            B::PartnerConsent {
                partner: PARTNER.into(),
                consent: true,
            },
        ),
        logged(
            42,
            at(17, 55, 41),
            B::PartnerFailed {
                partner: PARTNER.into(),
                reason: CoreError::Partner {
                    partner: PARTNER.into(),
                    message: "no counsellor free right now".into(),
                }
                .to_string(),
            },
        ),
        logged(
            44,
            at(17, 58, 3),
            B::TransferredOut {
                partner: PARTNER.into(),
                continue_at: format!("https://nupraatikerover.example/verder/{}", conv()),
            },
        ),
        logged(
            45,
            at(17, 58, 3),
            B::Ended {
                reason: EndReason::TransferredOut,
            },
        ),
    ]
}

/// One event of every `ServerEvent` variant; `Log` once per `EventBody` variant.
fn server_events() -> Vec<ServerEvent> {
    let mut events = vec![
        ServerEvent::Queue {
            conversation: conv(),
            position: 2,
            estimated_wait_minutes: Some(6),
        },
        ServerEvent::Typing {
            conversation: conv(),
            role: Role::Client,
        },
        ServerEvent::ChatAssigned {
            conversation: conv(),
            desk: desk(),
            profile: mila(),
            history: VisitorHistory {
                chats_in_window: 6,
                window_days: 30,
                flags: vec![FlagSummary {
                    id: flag_id(),
                    kind: FlagKind::FrequentChatter,
                    status: FlagStatus::Open,
                    created_at: day(2022, 3, 7, 18, 12),
                }],
            },
            ends_at: at(17, 51, 30),
        },
        ServerEvent::TransferRequested {
            conversation: conv(),
            from: sara(),
            note: "Vraag over de morning-afterpil; graag een arts of verpleegkundige.".into(),
        },
        ServerEvent::RegistrationDue {
            conversation: conv(),
        },
        ServerEvent::ClosingNotice {
            conversation: conv(),
            next_opening: Some(day(2022, 3, 14, 16, 0)),
        },
        ServerEvent::Disconnecting {
            kind: clbchat_core::event::DisconnectKind::Restart,
            reason: "the server restarts; your chat will resume in a moment".into(),
        },
    ];
    events.extend(log_events().into_iter().map(ServerEvent::Log));
    events
}

/// One sample of every `ServerFrame` variant but `Event`, plus an `event` frame per event.
fn server_frames() -> Vec<ServerFrame> {
    let mut frames = vec![
        ServerFrame::Appointment {
            req: Some(21),
            appointment: Box::new(appointment_view()),
            token: Some(JOIN_TOKEN.into()),
        },
        ServerFrame::Appointments {
            req: Some(22),
            appointments: vec![appointment_view()],
        },
        ServerFrame::Trajectory {
            req: Some(23),
            sessions: vec![SessionTranscript {
                appointment: AppointmentView {
                    conversations: vec![conv()],
                    ..appointment_view()
                },
                log: vec![logged(
                    3,
                    day(2022, 3, 16, 15, 2),
                    EventBody::Message {
                        from: Role::Client,
                        author: "Lotte Peeters".into(),
                        text: "Ik heb er nog eens over nagedacht.".into(),
                        client_msg_id: ClientMsgId::new("j-1"),
                    },
                )],
            }],
        },
        ServerFrame::AppointmentLink {
            req: Some(20),
            link: LinkInfo {
                state: LinkState::TooEarly,
                starts_at: day(2022, 3, 16, 15, 0),
                ends_at: day(2022, 3, 16, 15, 45),
                opens_at: day(2022, 3, 16, 14, 45),
                counsellor: Some("Sara".into()),
            },
        },
        ServerFrame::IntervisionExport {
            req: Some(31),
            export: clbchat_core::review::IntervisionExport {
                lines: vec![
                    clbchat_core::review::ExportLine {
                        minute: 0,
                        from: Role::Client,
                        text: "Hoi, ik ben [naam] en ik zit op het [school] in [plaats].".into(),
                    },
                    clbchat_core::review::ExportLine {
                        minute: 2,
                        from: Role::Counsellor,
                        text: "Dag [naam], fijn dat je er bent. Wat wil je vertellen?".into(),
                    },
                ],
                limits_nl: clbchat_core::masking::LIMITS_NL.into(),
                limits_en: clbchat_core::masking::LIMITS_EN.into(),
            },
        },
        ServerFrame::ReadAudit {
            req: Some(30),
            audit: clbchat_core::review::ReadAudit {
                entries: vec![clbchat_core::review::AuditEntry {
                    at: day(2022, 3, 8, 10, 15),
                    reader: StaffId::new("cora.janssens"),
                    conversation: conv(),
                    counsellor: Some(StaffId::new("sara.peeters")),
                    purpose: Some(clbchat_core::review::ReadPurpose::ChatScan),
                    note: Some("nieuwe collega".into()),
                }],
                truncated: false,
                erasures: vec![clbchat_core::review::Erasure {
                    desk: desk(),
                    by: StaffId::new("sara.peeters"),
                    at: day(2022, 3, 9, 20, 5),
                }],
            },
        },
        ServerFrame::MyChats {
            req: Some(31),
            chats: vec![clbchat_core::review::OwnChat {
                conversation: conv(),
                desk: desk(),
                started_at: Some(day(2022, 3, 1, 17, 4)),
                ended_at: Some(day(2022, 3, 1, 17, 31)),
                feedback: Some(feedback()),
            }],
        },
        ServerFrame::Feedback {
            req: Some(32),
            feedback: vec![feedback()],
        },
        ServerFrame::StaffingPlan {
            req: Some(33),
            plan: Box::new(clbchat_transport_ws::planning::StaffingPlan {
                target: "p90-wait=2m,abandon=5%".into(),
                html: "<article class=\"report\" lang=\"nl\">…</article>".into(),
                schedule_csv: "day,hour,counsellors,medical,capacity\nwed,14,3,1,1\n".into(),
                unmet: vec![],
            }),
        },
        ServerFrame::Scan {
            req: Some(29),
            picks: vec![clbchat_core::review::ScanPick {
                conversation: conv(),
                counsellor: Some(StaffId::new("sara.peeters")),
                started_at: Some(day(2022, 3, 1, 17, 4)),
                ended_at: Some(day(2022, 3, 1, 17, 31)),
            }],
        },
        ServerFrame::Report {
            req: Some(9),
            data: Box::new(report_data()),
            document: Some(RenderedReport {
                format: "markdown".into(),
                content_type: "text/markdown; charset=utf-8".into(),
                file_name: "rapport-clbchat-2022-03-01.md".into(),
                content: "# Rapport 2022-03-01 – 2022-03-01\n\n…".into(),
            }),
        },
        ServerFrame::Calendar {
            req: Some(7),
            calendar: calendar(),
        },
        ServerFrame::Accounts {
            req: Some(8),
            accounts: vec![AccountView {
                username: "sara.peeters".into(),
                active: true,
                identity: sara_identity(),
            }],
        },
        ServerFrame::Welcome {
            req: Some(2),
            conversation: conv(),
            resume_token: RESUME_TOKEN.into(),
            visitor_token: Some(VISITOR_TOKEN.into()),
        },
        ServerFrame::Resumed {
            req: Some(1),
            conversation: conv(),
        },
        ServerFrame::LoggedIn {
            req: Some(1),
            identity: sara_identity(),
        },
        ServerFrame::Ack {
            req: Some(7),
            id: ClientMsgId::new("s-7"),
            conversation: conv(),
            seq: 11,
            at: at(17, 21, 4),
        },
        ServerFrame::Ok { req: Some(4) },
        ServerFrame::Availability {
            req: Some(1),
            availability: DeskAvailability {
                desk: desk(),
                name: "CLBch@t".into(),
                open: true,
                closes_at: Some(at(20, 0, 0)),
                next_opening: None,
                queue_length: 2,
                estimated_wait_minutes: Some(9),
                event: None,
            },
        },
        ServerFrame::TransferOffered {
            req: Some(12),
            to: els(),
        },
        ServerFrame::Log {
            req: Some(3),
            events: vec![
                logged(
                    1,
                    at(17, 6, 30),
                    EventBody::Joined {
                        role: Role::Counsellor,
                        alias: "Sara".into(),
                    },
                ),
                logged(
                    2,
                    at(17, 7, 5),
                    message(
                        Role::Counsellor,
                        "Sara",
                        "c-1",
                        "Hoi Mila, ik ben Sara. Waarover wil je chatten?",
                    ),
                ),
                logged(
                    3,
                    at(17, 8, 12),
                    message(
                        Role::Client,
                        "Mila",
                        "s-2",
                        "Ik moet volgend jaar kiezen tussen Latijn en STEM, en thuis wordt er \
                         alleen nog daarover geruzied.",
                    ),
                ),
            ],
        },
        ServerFrame::Board {
            req: Some(2),
            board: DeskBoard {
                desk: desk(),
                open: true,
                counsellors: vec![
                    CounsellorStatus {
                        staff: sara(),
                        alias: "Sara".into(),
                        discipline: Discipline::PsychoPedagogical,
                        load: 1,
                        capacity: 1,
                        available: true,
                        registrations_due: 0,
                        shift_ends_at: Some(at(19, 30, 0)),
                        status: PresenceStatus::Full,
                        connected: true,
                        away_secs: None,
                        pending_registrations: vec![],
                    },
                    CounsellorStatus {
                        staff: els(),
                        alias: "Els".into(),
                        discipline: Discipline::Medical,
                        load: 0,
                        capacity: 1,
                        available: false,
                        registrations_due: 1,
                        shift_ends_at: None,
                        status: PresenceStatus::Disconnected,
                        connected: false,
                        away_secs: Some(75),
                        pending_registrations: vec![conv()],
                    },
                ],
                queue_length: 4,
                longest_wait_secs: 540,
                running: vec![RunningChat {
                    conversation: conv(),
                    counsellor: Some(sara()),
                    minutes: 23,
                    reconnecting: false,
                }],
                warnings: vec![CoverageWarning::TooFewCounsellors {
                    online: 2,
                    minimum: 3,
                }],
                login_failures: vec![LoginFailures {
                    username: "els.peeters".into(),
                    last_hour: 12,
                    minutes_ago: 3,
                }],
            },
        },
        ServerFrame::Flags {
            req: Some(5),
            flags: vec![Flag {
                id: flag_id(),
                pseudonym: Pseudonym(
                    "k1:3f9a0c7e5b21d48e6a0f1c93b7d25e84a6c0f3b19d7e52a48c6b0e1f7a3d9c25".into(),
                ),
                desk: desk(),
                kind: FlagKind::SuspectedFakeCall,
                status: FlagStatus::Open,
                conversation: Some(other_conv()),
                raised_by: Some(sara()),
                reviewed_by: None,
                created_at: day(2022, 3, 8, 19, 2),
                expires_at: day(2022, 6, 6, 19, 2),
            }],
        },
        ServerFrame::error(
            Some(2),
            "queue_full",
            CoreError::QueueFull {
                desk: desk(),
                limit: DEFAULT_MAX_QUEUE,
            }
            .to_string(),
        ),
    ];
    frames.extend(
        server_events()
            .into_iter()
            .map(|event| ServerFrame::Event { event }),
    );
    frames
}

// ---------------------------------------------------------------------------------------
// Names: exhaustive matches, so a new variant does not compile without a name here
// ---------------------------------------------------------------------------------------

/// The golden file of a client frame.
fn client_file(frame: &ClientFrame) -> String {
    use ClientFrame as F;
    let kind = match frame {
        F::Hello { .. } => "hello",
        F::Availability { .. } => "availability",
        F::Arrive { .. } => "arrive",
        F::Resume { .. } => "resume",
        F::Login { .. } => "login",
        F::Send { .. } => "send",
        F::Typing { .. } => "typing",
        F::Leave {} => "leave",
        F::PartnerConsent { .. } => "partner_consent",
        F::Rate { .. } => "rate",
        F::Online { .. } => "online",
        F::Available { .. } => "available",
        F::Offline { .. } => "offline",
        F::End { .. } => "end",
        F::Extend { .. } => "extend",
        F::Transfer { .. } => "transfer",
        F::AnswerTransfer { .. } => "answer_transfer",
        F::OfferPartner { .. } => "offer_partner",
        F::Whisper { .. } => "whisper",
        F::Register { .. } => "register",
        F::ReleaseRegistration { .. } => "release_registration",
        F::Rejoin { .. } => "rejoin",
        F::Board { .. } => "board",
        F::Observe { .. } => "observe",
        F::TakeOver { .. } => "take_over",
        F::Flags { .. } => "flags",
        F::ReviewFlag { .. } => "review_flag",
        F::Transcript { .. } => "transcript",
        F::DrawScan { .. } => "draw_scan",
        F::ReadAudit { .. } => "read_audit",
        F::IntervisionExport { .. } => "intervision_export",
        F::MyChats {} => "my_chats",
        F::AskFeedback { .. } => "ask_feedback",
        F::WriteFeedback { .. } => "write_feedback",
        F::Feedback { .. } => "feedback",
        F::EraseOnRequest { .. } => "erase_on_request",
        F::PlanStaffing { .. } => "plan_staffing",
        F::SetCalendar { .. } => "set_calendar",
        F::Calendar { .. } => "calendar",
        F::OpenEvent { .. } => "open_event",
        F::CloseEvent { .. } => "close_event",
        F::CancelEvent { .. } => "cancel_event",
        F::Accounts {} => "accounts",
        F::SaveAccount { .. } => "save_account",
        F::SaveCentre { .. } => "save_centre",
        F::Report { .. } => "report",
        F::AppointmentLink { .. } => "appointment_link",
        F::PlanAppointment { .. } => "plan_appointment",
        F::RescheduleAppointment { .. } => "reschedule_appointment",
        F::CancelAppointment { .. } => "cancel_appointment",
        F::NewAppointmentLink { .. } => "new_appointment_link",
        F::Appointments { .. } => "appointments",
        F::Trajectory { .. } => "trajectory",
    };
    format!("client_{kind}")
}

/// Feedback asked and written on `conv()`.
fn feedback() -> clbchat_core::review::Feedback {
    clbchat_core::review::Feedback {
        conversation: conv(),
        desk: desk(),
        counsellor: StaffId::new("sara.peeters"),
        asked_at: Some(day(2022, 3, 2, 9, 0)),
        question: Some("Hoe kon ik het gesprek beter afronden?".into()),
        written_by: Some(StaffId::new("cora.janssens")),
        written_at: Some(day(2022, 3, 8, 10, 30)),
        text: Some("Mooi hoe je doorvroeg. Rond af met een samenvatting.".into()),
    }
}

/// The golden file of a server frame.
fn server_file(frame: &ServerFrame) -> String {
    use ServerFrame as F;
    let kind = match frame {
        F::Welcome { .. } => "welcome",
        F::Resumed { .. } => "resumed",
        F::LoggedIn { .. } => "logged_in",
        F::Ack { .. } => "ack",
        F::Ok { .. } => "ok",
        F::Availability { .. } => "availability",
        F::TransferOffered { .. } => "transfer_offered",
        F::Log { .. } => "log",
        F::Board { .. } => "board",
        F::Flags { .. } => "flags",
        F::Calendar { .. } => "calendar",
        F::Accounts { .. } => "accounts",
        F::Report { .. } => "report",
        F::Scan { .. } => "scan",
        F::IntervisionExport { .. } => "intervision_export",
        F::ReadAudit { .. } => "read_audit",
        F::MyChats { .. } => "my_chats",
        F::Feedback { .. } => "feedback",
        F::StaffingPlan { .. } => "staffing_plan",
        F::Appointment { .. } => "appointment",
        F::Appointments { .. } => "appointments",
        F::AppointmentLink { .. } => "appointment_link",
        F::Trajectory { .. } => "trajectory",
        F::Error { .. } => "error",
        F::Event { event } => return event_file(event),
    };
    format!("server_{kind}")
}

/// The golden file of an `event` frame.
fn event_file(event: &ServerEvent) -> String {
    use ServerEvent as E;
    let kind = match event {
        E::Queue { .. } => "queue",
        E::Log(e) => return format!("event_log_{}", body_kind(&e.body)),
        E::Typing { .. } => "typing",
        E::ChatAssigned { .. } => "chat_assigned",
        E::TransferRequested { .. } => "transfer_requested",
        E::RegistrationDue { .. } => "registration_due",
        E::ClosingNotice { .. } => "closing_notice",
        E::Disconnecting { .. } => "disconnecting",
    };
    format!("event_{kind}")
}

/// The `type` of a log entry's body.
fn body_kind(body: &EventBody) -> &'static str {
    use EventBody as B;
    match body {
        B::Message { .. } => "message",
        B::Joined { .. } => "joined",
        B::Left { .. } => "left",
        B::TimeWarning { .. } => "time_warning",
        B::Extended { .. } => "extended",
        B::ExtensionReason { .. } => "extension_reason",
        B::IdlePrompt => "idle_prompt",
        B::ClientReconnecting => "client_reconnecting",
        B::ClientResumed => "client_resumed",
        B::CounsellorLost { .. } => "counsellor_lost",
        B::TransferOffered { .. } => "transfer_offered",
        B::TransferDeclined { .. } => "transfer_declined",
        B::TransferAccepted { .. } => "transfer_accepted",
        B::PartnerOffered { .. } => "partner_offered",
        B::PartnerFailed { .. } => "partner_failed",
        B::PartnerConsent { .. } => "partner_consent",
        B::TransferredOut { .. } => "transferred_out",
        B::Whisper { .. } => "whisper",
        B::TakenOver { .. } => "taken_over",
        B::Ended { .. } => "ended",
    }
}

/// Every client sample with its golden name; `req` numbers 1, 2, 3… in order.
pub(crate) fn client_samples() -> Vec<(String, ClientEnvelope)> {
    client_frames()
        .into_iter()
        .enumerate()
        .map(|(i, frame)| {
            (
                client_file(&frame),
                ClientEnvelope {
                    req: Some(i as u64 + 1),
                    frame,
                },
            )
        })
        .collect()
}

/// Every server sample with its golden name.
pub(crate) fn server_samples() -> Vec<(String, ServerFrame)> {
    server_frames()
        .into_iter()
        .map(|f| (server_file(&f), f))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

/// A client frame as JSON with `req` right after `type` (where a reader looks for it).
/// The same value as [`ClientEnvelope::encode`], which puts the keys in another order.
pub(crate) fn client_json(env: &ClientEnvelope, pretty: bool) -> String {
    let body = if pretty {
        serde_json::to_string_pretty(&env.frame)
    } else {
        serde_json::to_string(&env.frame)
    }
    .unwrap();
    let Some(req) = env.req else { return body };
    let key = body.find("\"type\"").unwrap();
    let open = key + body[key + 6..].find('"').unwrap() + 6;
    let close = open + 1 + body[open + 1..].find('"').unwrap();
    let member = if pretty {
        format!(",\n  \"req\": {req}")
    } else {
        format!(",\"req\":{req}")
    };
    format!("{}{member}{}", &body[..=close], &body[close + 1..])
}

fn server_json(frame: &ServerFrame, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(frame).unwrap()
    } else {
        frame.encode()
    }
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn docs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md")
}

const HOW_TO_UPDATE: &str =
    "UPDATE_GOLDEN=1 cargo test -p clbchat-transport-ws --test it golden (then review the diff)";

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Reads a golden file, or says how to create it.
fn read_golden(name: &str, failures: &mut Vec<String>) -> Option<(String, Value)> {
    let path = golden_dir().join(format!("{name}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        failures.push(format!(
            "{name}: {} is missing; create it with {HOW_TO_UPDATE}",
            path.display()
        ));
        return None;
    };
    match serde_json::from_str(&text) {
        Ok(value) => Some((text, value)),
        Err(e) => {
            failures.push(format!("{name}: {} is not JSON: {e}", path.display()));
            None
        }
    }
}

fn finish(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_client_frames_encode_and_decode_as_pinned() {
    let mut failures = Vec::new();
    for (name, env) in client_samples() {
        let pretty = client_json(&env, true);
        let encoded: Value = serde_json::from_str(&env.encode()).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&pretty).unwrap(),
            encoded,
            "{name}: rendering"
        );
        if updating() {
            write_if_changed(
                &golden_dir().join(format!("{name}.json")),
                &format!("{pretty}\n"),
            );
            continue;
        }
        let Some((text, file)) = read_golden(&name, &mut failures) else {
            continue;
        };
        if file != encoded {
            failures.push(format!(
                "{name}: encode() gives\n{pretty}\nbut the golden file has\n{text}\n\
                 If the change is deliberate: {HOW_TO_UPDATE}"
            ));
        }
        match decode(&text) {
            Ok(back) if back == env => {}
            Ok(back) => failures.push(format!("{name}: the file decodes to {back:?}, not {env:?}")),
            Err(e) => failures.push(format!("{name}: the file does not decode: {e:?}")),
        }
    }
    finish(failures);
}

#[test]
fn golden_server_frames_encode_and_decode_as_pinned() {
    let mut failures = Vec::new();
    for (name, frame) in server_samples() {
        let pretty = server_json(&frame, true);
        if updating() {
            write_if_changed(
                &golden_dir().join(format!("{name}.json")),
                &format!("{pretty}\n"),
            );
            continue;
        }
        let Some((text, file)) = read_golden(&name, &mut failures) else {
            continue;
        };
        if file != serde_json::to_value(&frame).unwrap() {
            failures.push(format!(
                "{name}: the frame serialises as\n{pretty}\nbut the golden file has\n{text}\nIf \
                 the change is deliberate: {HOW_TO_UPDATE}"
            ));
        }
        match serde_json::from_str::<ServerFrame>(&text) {
            Ok(back) if back == frame => {}
            Ok(back) => failures.push(format!(
                "{name}: the file decodes to {back:?}, not {frame:?}"
            )),
            Err(e) => failures.push(format!("{name}: the file does not decode: {e}")),
        }
    }
    finish(failures);
}

#[test]
fn golden_files_on_disk_are_exactly_the_samples() {
    let mut expected = BTreeSet::new();
    for name in client_samples()
        .into_iter()
        .map(|s| s.0)
        .chain(server_samples().into_iter().map(|s| s.0))
    {
        assert!(
            expected.insert(name.clone()),
            "two samples are named {name}"
        );
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    let stale: Vec<&String> = on_disk.difference(&expected).collect();
    if updating() {
        for name in stale {
            std::fs::remove_file(golden_dir().join(format!("{name}.json"))).unwrap();
        }
        return;
    }
    let missing: Vec<&String> = expected.difference(&on_disk).collect();
    assert!(
        stale.is_empty() && missing.is_empty(),
        "golden files without a sample (stale): {stale:?}; samples without a file: {missing:?}; \
         fix with {HOW_TO_UPDATE}"
    );
}

/// The variant names serde knows for an internally tagged enum, in declaration order, read
/// from its "unknown variant" error (which lists them all).
fn serde_variants<T: DeserializeOwned + std::fmt::Debug>(tag: &str) -> Vec<String> {
    let err = serde_json::from_value::<T>(serde_json::json!({ tag: "\u{1}no such variant" }))
        .unwrap_err()
        .to_string();
    let list = err
        .split("expected one of")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected: {err}"));
    list.split(',')
        .map(|v| v.trim().trim_matches('`').to_owned())
        .collect()
}

#[test]
fn golden_samples_cover_every_variant() {
    let kinds = |names: Vec<String>, prefix: &str| -> BTreeSet<String> {
        names
            .iter()
            .filter_map(|n| n.strip_prefix(prefix))
            .map(String::from)
            .collect()
    };
    let client: Vec<String> = client_samples().into_iter().map(|s| s.0).collect();
    let server: Vec<String> = server_samples().into_iter().map(|s| s.0).collect();
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<String>>();
    assert_eq!(
        kinds(client.clone(), "client_"),
        set(serde_variants::<ClientFrame>("type"))
    );
    let mut frames = kinds(server.clone(), "server_");
    frames.insert("event".into());
    assert_eq!(frames, set(serde_variants::<ServerFrame>("type")));
    let mut events: BTreeSet<String> = kinds(server.clone(), "event_")
        .into_iter()
        .filter(|k| !k.starts_with("log_"))
        .collect();
    events.insert("log".into());
    assert_eq!(events, set(serde_variants::<ServerEvent>("event")));
    assert_eq!(
        kinds(server, "event_log_"),
        set(serde_variants::<EventBody>("type"))
    );
    // The names used here are the wire's `type`s.
    for (name, env) in client_samples() {
        assert_eq!(name, format!("client_{}", env.frame.kind()));
    }
}

// ---------------------------------------------------------------------------------------
// docs/protocol.md: the examples, tables and transcript are generated from real values
// ---------------------------------------------------------------------------------------

/// Who speaks in the transcript.
#[derive(Clone, Copy)]
enum Who {
    Student,
    Counsellor,
}

enum Line {
    Note(&'static str),
    Send(Who, ClientEnvelope),
    Recv(Who, ServerFrame),
}

fn req(n: u64, frame: ClientFrame) -> ClientEnvelope {
    ClientEnvelope {
        req: Some(n),
        frame,
    }
}

fn ev(event: ServerEvent) -> ServerFrame {
    ServerFrame::Event { event }
}

fn log_ev(seq: u64, at: DateTime<Utc>, body: EventBody) -> ServerFrame {
    ev(ServerEvent::Log(logged(seq, at, body)))
}

/// One chat from arrival to rating, as the two sockets see it.
fn transcript() -> Vec<Line> {
    use Line::{Note, Recv, Send};
    use Who::{Counsellor as C, Student as S};
    let queue = |position, minutes| {
        Recv(
            S,
            ev(ServerEvent::Queue {
                conversation: conv(),
                position,
                estimated_wait_minutes: minutes,
            }),
        )
    };
    let both = |seq, at, body: EventBody| {
        [
            Recv(S, log_ev(seq, at, body.clone())),
            Recv(C, log_ev(seq, at, body)),
        ]
    };
    let msg_c =
        |seq, t, id: &str, text: &str| both(seq, t, message(Role::Counsellor, "Sara", id, text));
    let msg_s =
        |seq, t, id: &str, text: &str| both(seq, t, message(Role::Client, "Mila", id, text));
    let ack = |req, id: &str, seq, t| ServerFrame::Ack {
        req: Some(req),
        id: ClientMsgId::new(id),
        conversation: conv(),
        seq,
        at: t,
    };
    let send_s = |n, id: &str, text: &str| {
        Send(
            S,
            req(
                n,
                ClientFrame::Send {
                    id: ClientMsgId::new(id),
                    conversation: None,
                    text: text.into(),
                },
            ),
        )
    };
    let send_c = |n, id: &str, text: &str| {
        Send(
            C,
            req(
                n,
                ClientFrame::Send {
                    id: ClientMsgId::new(id),
                    conversation: Some(conv()),
                    text: text.into(),
                },
            ),
        )
    };

    let t1 = "Hoi Mila, ik ben Sara. Fijn dat je er bent. Waarover wil je chatten?";
    let t2 = "Ik moet volgend jaar kiezen tussen Latijn en STEM, en thuis wordt er alleen nog \
              daarover geruzied.";
    let t3 = "Dat klinkt zwaar, zo'n keuze en dan nog ruzie erbij. Wat trekt jou zelf aan in STEM?";
    let t4 = "Over 10 minuten moeten we afronden. Wat wil je zeker nog vragen?";
    let t5 = "Kan ik met iemand van het CLB samen met mijn ouders praten?";
    let t6 = "Mila, ben je er nog?";
    let t7 = "Ja sorry, mijn wifi viel weg op de bus.";
    let t8 = "Geen probleem! Ja, dat kan: je CLB kan een gesprek met jou en je ouders plannen. \
              Zoek de contactgegevens van jouw CLB op onclb.be. Succes, Mila!";

    let mut lines = vec![
        Note("The student's page asks whether the desk is open (no session needed)."),
        Send(S, req(1, ClientFrame::Availability { desk: desk() })),
        Recv(
            S,
            ServerFrame::Availability {
                req: Some(1),
                availability: DeskAvailability {
                    desk: desk(),
                    name: "CLBch@t".into(),
                    open: true,
                    closes_at: Some(at(20, 0, 0)),
                    next_opening: None,
                    queue_length: 2,
                    estimated_wait_minutes: Some(9),
                    event: None,
                },
            },
        ),
        Note("First visit: no visitor_token yet."),
        Note("Keep resume_token (for this chat) and visitor_token (in the browser)."),
        Send(
            S,
            req(
                2,
                ClientFrame::Arrive {
                    desk: desk(),
                    visitor_token: None,
                    profile: mila(),
                    appointment: None,
                },
            ),
        ),
        Recv(
            S,
            ServerFrame::Welcome {
                req: Some(2),
                conversation: conv(),
                resume_token: RESUME_TOKEN.into(),
                visitor_token: Some(VISITOR_TOKEN.into()),
            },
        ),
        queue(3, Some(9)),
        queue(2, Some(5)),
        queue(1, Some(2)),
        Note("A counsellor logs in on her own socket and goes online."),
        Send(
            C,
            req(
                1,
                ClientFrame::Login {
                    username: "sara.claes".into(),
                    password: "een lang wachtwoord".into(),
                },
            ),
        ),
        Recv(
            C,
            ServerFrame::LoggedIn {
                req: Some(1),
                identity: sara_identity(),
            },
        ),
        Send(
            C,
            req(
                2,
                ClientFrame::Online {
                    desk: desk(),
                    shift_ends_at: Some(at(19, 30, 0)),
                },
            ),
        ),
        Recv(C, ServerFrame::Ok { req: Some(2) }),
        Recv(
            C,
            ev(ServerEvent::ChatAssigned {
                conversation: conv(),
                desk: desk(),
                profile: mila(),
                history: VisitorHistory {
                    chats_in_window: 0,
                    window_days: 30,
                    flags: vec![],
                },
                ends_at: at(17, 51, 30),
            }),
        ),
    ];
    lines.extend(both(
        1,
        at(17, 6, 30),
        EventBody::Joined {
            role: Role::Counsellor,
            alias: "Sara".into(),
        },
    ));
    lines.push(Note(
        "Messages: the sender gets an ack (stored under seq) and, like everyone, the log event.",
    ));
    lines.push(send_c(3, "c-1", t1));
    lines.push(Recv(C, ack(3, "c-1", 2, at(17, 7, 5))));
    lines.extend(msg_c(2, at(17, 7, 5), "c-1", t1));
    lines.push(Note("Typing is never answered, so it needs no req."));
    lines.push(Send(
        S,
        ClientEnvelope {
            req: None,
            frame: ClientFrame::Typing { conversation: None },
        },
    ));
    lines.push(Recv(
        C,
        ev(ServerEvent::Typing {
            conversation: conv(),
            role: Role::Client,
        }),
    ));
    lines.push(send_s(3, "s-1", t2));
    lines.push(Recv(S, ack(3, "s-1", 3, at(17, 8, 12))));
    lines.extend(msg_s(3, at(17, 8, 12), "s-1", t2));
    lines.push(send_c(4, "c-2", t3));
    lines.push(Recv(C, ack(4, "c-2", 4, at(17, 9, 0))));
    lines.extend(msg_c(4, at(17, 9, 0), "c-2", t3));
    lines.push(Note("... 30 minutes of chat (seq 5 to 22) ..."));
    lines.push(Note("Ten minutes before the 45-minute limit:"));
    lines.extend(both(
        23,
        at(17, 41, 30),
        EventBody::TimeWarning { minutes_left: 10 },
    ));
    lines.push(send_c(17, "c-12", t4));
    lines.push(Recv(C, ack(17, "c-12", 24, at(17, 41, 48))));
    lines.extend(msg_c(24, at(17, 41, 48), "c-12", t4));
    lines.push(Note(
        "Her connection drops just as she sends a question: no ack comes. Last seq she saw: 24.",
    ));
    lines.push(send_s(12, "s-9", t5));
    lines.push(Note("The counsellor sees the drop."));
    lines.push(Recv(
        C,
        log_ev(25, at(17, 43, 2), EventBody::ClientReconnecting),
    ));
    lines.push(send_c(18, "c-13", t6));
    lines.push(Recv(C, ack(18, "c-13", 26, at(17, 43, 30))));
    lines.push(Recv(
        C,
        log_ev(
            26,
            at(17, 43, 30),
            message(Role::Counsellor, "Sara", "c-13", t6),
        ),
    ));
    lines.push(Note(
        "A new socket within the grace period: resume, get exactly 25 and 26, then live events.",
    ));
    lines.push(Send(
        S,
        req(
            1,
            ClientFrame::Resume {
                conversation: conv(),
                resume_token: RESUME_TOKEN.into(),
                last_seq: 24,
            },
        ),
    ));
    lines.push(Recv(
        S,
        ServerFrame::Resumed {
            req: Some(1),
            conversation: conv(),
        },
    ));
    lines.push(Recv(
        S,
        log_ev(25, at(17, 43, 2), EventBody::ClientReconnecting),
    ));
    lines.push(Recv(
        S,
        log_ev(
            26,
            at(17, 43, 30),
            message(Role::Counsellor, "Sara", "c-13", t6),
        ),
    ));
    lines.extend(both(27, at(17, 44, 10), EventBody::ClientResumed));
    lines.push(Note(
        "The unacknowledged question again, same id: stored once, whether or not it had arrived.",
    ));
    lines.push(send_s(2, "s-9", t5));
    lines.push(Recv(S, ack(2, "s-9", 28, at(17, 44, 31))));
    lines.extend(msg_s(28, at(17, 44, 31), "s-9", t5));
    lines.push(send_s(3, "s-10", t7));
    lines.push(Recv(S, ack(3, "s-10", 29, at(17, 44, 40))));
    lines.extend(msg_s(29, at(17, 44, 40), "s-10", t7));
    lines.push(send_c(19, "c-14", t8));
    lines.push(Recv(C, ack(19, "c-14", 30, at(17, 46, 15))));
    lines.extend(msg_c(30, at(17, 46, 15), "c-14", t8));
    lines.push(Note(
        "The counsellor ends the chat, then registers it; the student rates it.",
    ));
    lines.push(Send(
        C,
        req(
            20,
            ClientFrame::End {
                conversation: conv(),
            },
        ),
    ));
    lines.push(Recv(C, ServerFrame::Ok { req: Some(20) }));
    lines.extend(both(
        31,
        at(17, 47, 2),
        EventBody::Ended {
            reason: EndReason::CounsellorEnded,
        },
    ));
    lines.push(Recv(
        C,
        ev(ServerEvent::RegistrationDue {
            conversation: conv(),
        }),
    ));
    lines.push(Send(
        C,
        req(
            21,
            ClientFrame::Register {
                conversation: conv(),
                form: registration_form(),
            },
        ),
    ));
    lines.push(Recv(C, ServerFrame::Ok { req: Some(21) }));
    lines.push(Send(
        S,
        req(
            4,
            ClientFrame::Rate {
                stars: 5,
                comment: Some("Fijn dat ik mijn verhaal kwijt kon. Bedankt!".into()),
                conversation: None,
                resume_token: None,
            },
        ),
    ));
    lines.push(Recv(S, ServerFrame::Ok { req: Some(4) }));
    lines
}

fn render_transcript() -> String {
    let mut out = String::from("```text\n");
    for line in transcript() {
        let text = match line {
            Line::Note(n) => format!("# {n}"),
            Line::Send(who, env) => {
                let json = client_json(&env, false);
                // The docs show exactly what the decoder accepts.
                assert_eq!(decode(&json).unwrap(), env, "{json}");
                format!("{} → {json}", tag(who))
            }
            Line::Recv(who, frame) => {
                let json = server_json(&frame, false);
                assert_eq!(
                    serde_json::from_str::<ServerFrame>(&json).unwrap(),
                    frame,
                    "{json}"
                );
                format!("{} ← {json}", tag(who))
            }
        };
        out.push_str(&text);
        out.push('\n');
    }
    out.push_str("```");
    out
}

fn tag(who: Who) -> &'static str {
    match who {
        Who::Student => "S",
        Who::Counsellor => "C",
    }
}

/// An `error` frame per error code, with the message the server really sends.
fn error_examples() -> Vec<ServerFrame> {
    let core = [
        CoreError::Closed {
            desk: desk(),
            next_opening: Some(day(2022, 3, 14, 16, 0)),
        },
        CoreError::QueueFull {
            desk: desk(),
            limit: DEFAULT_MAX_QUEUE,
        },
        CoreError::NotAdmittedBeforeClosing {
            desk: desk(),
            closes_at: at(20, 0, 0),
            wait_minutes: 25,
            margin_minutes: 10,
            next_opening: Some(day(2022, 3, 14, 16, 0)),
        },
        CoreError::OverCapacity {
            staff: els(),
            capacity: 1,
        },
        CoreError::UnknownDesk(DeskId::new("clbchatt")),
        CoreError::UnknownConversation(conv()),
        CoreError::NotYours(conv()),
        CoreError::Forbidden(format!(
            "only a coordinator of desk `{}` can do this",
            desk()
        )),
        CoreError::BadCredentials,
        CoreError::ResumeRefused("the resume token does not match".into()),
        CoreError::InvalidState(
            "you are still waiting for a counsellor; the message was not sent".into(),
        ),
        CoreError::Invalid(format!(
            "the message is longer than {DEFAULT_MAX_MESSAGE_CHARS} characters; split it up"
        )),
        CoreError::StoreUnavailable("connection refused".into()),
        CoreError::Store {
            kind: StoreErrorKind::Conflict,
            message: "duplicate key".into(),
        },
        CoreError::Partner {
            partner: PARTNER.into(),
            message: "no counsellor free right now".into(),
        },
        CoreError::ShuttingDown,
        CoreError::TooManyAttempts { wait_secs: 60 },
    ];
    let mut frames: Vec<ServerFrame> = core
        .iter()
        .zip(5..)
        .map(|(e, n)| ServerFrame::error(Some(n), e.code(), e.public_message()))
        .collect();
    for bad in [
        r#"{"type":"send","req":30,"id":"s-4","text":42}"#,
        r#"{"type":"sned","req":31}"#,
    ] {
        let e = decode(bad).unwrap_err();
        frames.push(ServerFrame::error(e.req, e.code, e.message));
    }
    // Written by the connection, not reachable from here: keep in step with connection.rs.
    frames.push(ServerFrame::error(
        Some(32),
        "rate_limited",
        "too many frames; slow down (this one was dropped)",
    ));
    frames
}

fn render_errors() -> String {
    let lines: Vec<String> = error_examples().iter().map(ServerFrame::encode).collect();
    format!("```text\n{}\n```", lines.join("\n"))
}

fn kib(bytes: usize) -> String {
    format!("{} KiB", bytes / 1024)
}

/// `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn render_limits() -> String {
    let warnings: Vec<String> = DEFAULT_WARNINGS_BEFORE_END
        .iter()
        .map(|d| secs(*d))
        .collect();
    let rows: Vec<[String; 3]> = vec![
        [
            "Message size".into(),
            kib(DEFAULT_MAX_MESSAGE),
            "the connection is closed with 1009".into(),
        ],
        [
            "Frame size (a message may span frames)".into(),
            kib(DEFAULT_MAX_FRAME),
            "closed with 1009".into(),
        ],
        [
            "Read buffer per connection".into(),
            kib(DEFAULT_READ_BUFFER),
            "(internal)".into(),
        ],
        [
            "Write buffer / most buffered for writing".into(),
            format!(
                "{} / {}",
                kib(DEFAULT_WRITE_BUFFER),
                kib(DEFAULT_MAX_WRITE_BUFFER)
            ),
            "writes fail, the socket is dropped without a close frame; resume".into(),
        ],
        [
            "Frames queued for one connection's writer".into(),
            DEFAULT_WRITE_QUEUE.to_string(),
            format!("closed with {CLOSE_SLOW}; resume"),
        ],
        [
            "Engine events queued for one participant".into(),
            DEFAULT_OUTBOX_CAPACITY.to_string(),
            format!("closed with {CLOSE_SLOW}; resume"),
        ],
        [
            "Server ping interval".into(),
            secs(DEFAULT_HEARTBEAT),
            "(answer pings; browsers do)".into(),
        ],
        [
            "Silence (no frame, no pong)".into(),
            secs(DEFAULT_IDLE_TIMEOUT),
            format!("closed with {CLOSE_IDLE}"),
        ],
        [
            "First `arrive`, `resume` or `login`".into(),
            secs(DEFAULT_START_TIMEOUT),
            format!("closed with {CLOSE_NO_START}"),
        ],
        [
            "Rate limit (token bucket)".into(),
            format!("burst {DEFAULT_RATE_BURST}, then {DEFAULT_RATE_PER_SEC}/s"),
            "`rate_limited` error, the frame is dropped".into(),
        ],
        [
            "Connections per server".into(),
            thousands(DEFAULT_MAX_CONNECTIONS),
            "HTTP 503 at the handshake".into(),
        ],
        [
            "Chat message text".into(),
            format!("{} characters", thousands(DEFAULT_MAX_MESSAGE_CHARS)),
            "`invalid`".into(),
        ],
        [
            "Nickname".into(),
            format!("{MAX_NICKNAME_CHARS} characters"),
            "`invalid`".into(),
        ],
        [
            "Rating comment".into(),
            format!("{} characters", thousands(MAX_RATING_COMMENT_CHARS)),
            "`invalid`".into(),
        ],
        [
            "Visitor token".into(),
            format!("{MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} URL-safe base64 characters"),
            "`invalid`".into(),
        ],
        [
            "Waiting queue of a desk".into(),
            DEFAULT_MAX_QUEUE.to_string(),
            "`queue_full`".into(),
        ],
        [
            "Chat time limit".into(),
            secs(DEFAULT_CHAT_LIMIT),
            format!(
                "`time_warning` at {} left; then `ended` (`time_limit`)",
                warnings.join(" and ")
            ),
        ],
        [
            "Extension (once, by the counsellor)".into(),
            secs(DEFAULT_EXTENSION),
            "`extended`".into(),
        ],
        [
            "Client silence before `idle_prompt`".into(),
            secs(DEFAULT_IDLE_PROMPT_AFTER),
            format!(
                "no answer within {}: `ended` (`abandoned`)",
                secs(DEFAULT_IDLE_END_AFTER_PROMPT)
            ),
        ],
        [
            "Reconnect grace (to `resume`)".into(),
            secs(DEFAULT_RECONNECT_GRACE),
            "`ended` (`broken_off`, or `abandoned_in_queue` while waiting)".into(),
        ],
    ];
    let mut out = String::from("| Limit | Default | Over it |\n|---|---|---|");
    for [a, b, c] in rows {
        out.push_str(&format!("\n| {a} | {b} | {c} |"));
    }
    out
}

fn render_visibility() -> String {
    let visible: BTreeMap<&str, bool> = log_events()
        .iter()
        .map(|e| (body_kind(&e.body), e.body.visible_to_client()))
        .collect();
    let mut out = String::from("| `body.type` | The client sees it |\n|---|---|");
    for kind in serde_variants::<EventBody>("type") {
        let seen = if visible[kind.as_str()] {
            "yes"
        } else {
            "**no, staff only**"
        };
        out.push_str(&format!("\n| `{kind}` | {seen} |"));
    }
    out
}

/// Every region of the docs that is generated: marker name → content.
fn doc_regions() -> BTreeMap<String, String> {
    let mut regions = BTreeMap::new();
    for (name, env) in client_samples() {
        regions.insert(
            format!("golden:{name}"),
            format!("```json\n{}\n```", client_json(&env, true)),
        );
    }
    for (name, frame) in server_samples() {
        regions.insert(
            format!("golden:{name}"),
            format!("```json\n{}\n```", server_json(&frame, true)),
        );
    }
    regions.insert("generated:transcript".into(), render_transcript());
    regions.insert("generated:errors".into(), render_errors());
    regions.insert("generated:limits".into(), render_limits());
    regions.insert("generated:visibility".into(), render_visibility());
    regions
}

/// Replaces (or checks) each region: the lines after its marker up to the next blank line.
fn sync_docs(doc: &str, regions: &BTreeMap<String, String>, failures: &mut Vec<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut lines = doc.lines().peekable();
    let mut in_fence = false;
    while let Some(line) = lines.next() {
        out.push(line.to_owned());
        if line.starts_with("```") {
            if !in_fence && line.trim() == "```json" {
                failures.push(format!(
                    "docs: a ```json block without a golden marker (line {}): use a sample",
                    out.len()
                ));
            }
            in_fence = !in_fence;
            continue;
        }
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        if !(name.starts_with("golden:") || name.starts_with("generated:")) {
            continue;
        }
        let Some(expected) = regions.get(name) else {
            failures.push(format!(
                "docs: marker `{name}` has no sample or generator (stale?)"
            ));
            continue;
        };
        if !seen.insert(name.to_owned()) {
            failures.push(format!("docs: marker `{name}` appears twice"));
        }
        let mut current = Vec::new();
        while let Some(l) = lines.peek() {
            if l.trim().is_empty() {
                break;
            }
            current.push(lines.next().unwrap_or_default().trim_end().to_owned());
        }
        if current.join("\n") != *expected && !updating() {
            failures.push(format!(
                "docs: the region `{name}` differs from what the code produces; \
                 expected:\n{expected}\nfix with {HOW_TO_UPDATE}"
            ));
        }
        out.push(expected.clone());
    }
    for name in regions.keys().filter(|n| !seen.contains(*n)) {
        failures.push(format!(
            "docs: no `<!-- {name} -->` marker in docs/protocol.md: add it (followed by a \
             blank line) where the example belongs, then run {HOW_TO_UPDATE}"
        ));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[test]
fn golden_docs_examples_are_generated_from_the_samples() {
    let path = docs_path();
    let doc = std::fs::read_to_string(&path).expect("docs/protocol.md");
    let mut failures = Vec::new();
    let synced = sync_docs(&doc, &doc_regions(), &mut failures);
    if updating() && synced != doc {
        std::fs::write(&path, &synced).unwrap();
    }
    // The constants the prose names.
    for (code, text) in [
        (CLOSE_VERSION, 4002),
        (CLOSE_SLOW, 4008),
        (CLOSE_REPLACED, 4009),
        (CLOSE_IDLE, 4010),
        (CLOSE_NO_START, 4011),
    ] {
        assert_eq!(code, text);
        if !doc.contains(&format!("| `{code}` |")) {
            failures.push(format!(
                "docs: the close code {code} is not in the close-code table"
            ));
        }
    }
    for code in error_examples().iter().filter_map(|f| match f {
        ServerFrame::Error { code, .. } => Some(code.clone()),
        _ => None,
    }) {
        if !doc.contains(&format!("| `{code}` |")) {
            failures.push(format!(
                "docs: the error code `{code}` is not in the error table"
            ));
        }
    }
    for needle in [
        SUBPROTOCOL.to_owned(),
        format!("\"version\": {PROTOCOL_VERSION}"),
    ] {
        if !doc.contains(&needle) {
            failures.push(format!("docs: `{needle}` is not mentioned"));
        }
    }
    finish(failures);
}

#[test]
fn golden_error_examples_cover_every_code() {
    let codes: BTreeSet<String> = error_examples()
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<String> = [
        "closed",
        "queue_full",
        "not_admitted_before_closing",
        "over_capacity",
        "unknown_desk",
        "unknown_conversation",
        "not_yours",
        "forbidden",
        "bad_credentials",
        "resume_refused",
        "invalid_state",
        "invalid",
        "store_unavailable",
        "store",
        "partner",
        "shutting_down",
        "too_many_attempts",
        "malformed",
        "unknown_frame",
        "rate_limited",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(codes, expected);
}
