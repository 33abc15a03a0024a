//! The annual report: a small demo year played through the real engine into a real SQLite
//! file gives back, in the report, what the demo generated; the `report` and `demo-data`
//! commands write the same figures in every format and refuse what they cannot do.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use clbchat_assembly::demo_data::{play_school_year, DemoOptions, Ledger, StoreRuntime};
use clbchat_assembly::report::{render, Format, Lang, Options};
use clbchat_core::calendar::Calendar;
use clbchat_core::config::DeskConfig;
use clbchat_core::registration::{ChatResult, ClientType, FoundVia, Gender};
use clbchat_core::statistics::{ReportData, ReportQuery, REPORT_TIME_ZONE};
use clbchat_core::store::Store;
use clbchat_store_sql::{Durability, SqlOptions, SqlStore};

use crate::support::{run_binary, DESK};

const CALENDAR_2021_2022: &str = include_str!("../../../../core/tests/data/clbchat-2021-2022.toml");

/// A counted thing per client type, from the ledger.
type PerType<K> = BTreeMap<(u8, K), u64>;

fn rank(t: Option<ClientType>) -> u8 {
    clbchat_core::statistics::client_type_rank(t)
}

/// Plays a small 2021-2022 year into a fresh SQLite file; returns the store (which lives
/// on the returned runtime) and the ledger.
async fn small_year(dir: &std::path::Path, chats: u32) -> (Arc<SqlStore>, StoreRuntime, Ledger) {
    let mut options = SqlOptions::new();
    options.durability = Durability::Normal;
    options.group_commit_max_delay = std::time::Duration::ZERO;
    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let runtime = StoreRuntime::start().unwrap();
    let store = runtime
        .run(async move {
            let store = SqlStore::connect(&url, options).await?;
            store.migrate().await?;
            Ok::<_, clbchat_core::Error>(store)
        })
        .await
        .unwrap()
        .unwrap();
    let store = Arc::new(store);
    let calendar: Calendar = toml::from_str(CALENDAR_2021_2022).unwrap();
    let ledger = play_school_year(
        store.clone(),
        &runtime,
        DemoOptions {
            desk: DeskConfig::national(DESK, Calendar::always_open()),
            school_year: 2021,
            calendar,
            chats,
            chatboxes: true,
            seed: 7,
        },
    )
    .await
    .unwrap();
    (store, runtime, ledger)
}

#[tokio::test(start_paused = true)]
async fn a_small_demo_year_reports_exactly_what_it_generated() {
    let dir = tempfile::tempdir().unwrap();
    let (store, runtime, ledger) = small_year(dir.path(), 200).await;
    let query = ReportQuery::school_year(None, 2021, Utc::now()).unwrap();
    let report: ReportData = runtime
        .run(async move {
            let report = store.report(&query).await;
            store.close().await;
            report
        })
        .await
        .unwrap()
        .unwrap();

    // What the ledger says, counted the report's way.
    let chats = &ledger.chats;
    assert!(
        chats.len() > 150,
        "a year of about 200 chats: {}",
        chats.len()
    );
    let mut per_type: BTreeMap<u8, u64> = BTreeMap::new();
    let mut per_desk: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_month: BTreeMap<String, u64> = BTreeMap::new();
    let mut topics: PerType<String> = BTreeMap::new();
    let mut results: PerType<ChatResult> = BTreeMap::new();
    let mut found: PerType<FoundVia> = BTreeMap::new();
    let mut genders: PerType<Gender> = BTreeMap::new();
    let (mut fake, mut registered, mut stars, mut rated) = (0u64, 0u64, 0u64, 0u64);
    let (mut student_ages, mut students_with_age) = (0u64, 0u64);
    let mut durations = Vec::new();
    for c in chats {
        *per_desk.entry(c.desk.0.clone()).or_default() += 1;
        let month = c
            .started_at
            .with_timezone(&REPORT_TIME_ZONE)
            .format("%Y-%m")
            .to_string();
        *per_month.entry(month).or_default() += 1;
        if let Some(end) = c.ended_at {
            durations.push((end - c.started_at).num_milliseconds() as f64 / 1000.0);
        }
        if let Some(s) = c.stars {
            stars += u64::from(s);
            rated += 1;
        }
        let r = c
            .registration
            .as_ref()
            .expect("the demo counsellors register every chat");
        let t = rank(Some(r.client_type));
        *per_type.entry(t).or_default() += 1;
        registered += 1;
        fake += u64::from(r.fake_call);
        for topic in &r.topics {
            *topics.entry((t, topic.clone())).or_default() += 1;
        }
        for res in &r.results {
            *results.entry((t, *res)).or_default() += 1;
        }
        if let Some(f) = r.found_via {
            *found.entry((t, f)).or_default() += 1;
        }
        if let Some(g) = r.gender {
            *genders.entry((t, g)).or_default() += 1;
        }
        if r.client_type == ClientType::Student {
            if let Some(a) = r.age {
                student_ages += u64::from(a);
                students_with_age += 1;
            }
        }
    }

    let t = &report.totals;
    assert_eq!(
        t.chats as usize,
        chats.len(),
        "every chat the counsellors had"
    );
    assert_eq!(t.registrations, registered);
    assert_eq!(t.fake_calls, fake);
    assert_eq!(t.ratings, rated);
    let mean_stars = t.mean_stars.unwrap();
    assert!(
        (mean_stars - stars as f64 / rated as f64).abs() < 1e-9,
        "{mean_stars}"
    );
    assert!(t.abandoned_in_queue <= ledger.left_queue);
    assert!(t.arrivals >= t.chats + t.abandoned_in_queue);
    assert_eq!(t.ended as usize, durations.len());
    let mean = durations.iter().sum::<f64>() / durations.len() as f64;
    assert!(
        (t.mean_duration_secs.unwrap() - mean).abs() < 1.0,
        "mean duration {:?} s, the ledger {mean} s",
        t.mean_duration_secs
    );
    assert!(
        durations.iter().all(|d| *d <= 47.0 * 60.0),
        "the engine caps every chat at 45 minutes (plus the typing grace)"
    );

    for c in &report.clients {
        let t = rank(c.client_type);
        assert_eq!(c.chats, per_type[&t], "chats of {:?}", c.client_type);
        for tc in &c.topics {
            assert_eq!(
                tc.chats,
                topics[&(t, tc.topic.clone())],
                "topic {}",
                tc.topic
            );
        }
        assert_eq!(
            c.topics.iter().map(|x| x.chats).sum::<u64>(),
            topics
                .iter()
                .filter(|((k, _), _)| *k == t)
                .map(|(_, n)| n)
                .sum::<u64>()
        );
        for (r, n) in &c.results {
            assert_eq!(
                *n,
                results.get(&(t, *r)).copied().unwrap_or(0),
                "result {r:?}"
            );
        }
        for (f, n) in &c.found_via {
            assert_eq!(
                *n,
                found.get(&(t, *f)).copied().unwrap_or(0),
                "found via {f:?}"
            );
        }
        for (g, n) in &c.genders {
            assert_eq!(
                *n,
                genders.get(&(t, *g)).copied().unwrap_or(0),
                "gender {g:?}"
            );
        }
    }
    let students = report.client(Some(ClientType::Student)).unwrap();
    assert!(
        (students.mean_age.unwrap() - student_ages as f64 / students_with_age as f64).abs() < 1e-9
    );
    let desks: BTreeMap<String, u64> = report
        .desks
        .iter()
        .map(|d| (d.desk.0.clone(), d.chats))
        .collect();
    assert_eq!(desks, per_desk, "chats per desk and chatbox");
    let months: BTreeMap<String, u64> = report
        .months
        .iter()
        .filter(|m| m.chats > 0)
        .map(|m| (m.period.label.clone(), m.chats))
        .collect();
    assert_eq!(months, per_month, "chats per month (Brussels time)");
    assert_eq!(
        report.school_years.last().unwrap().chats as usize,
        chats.len()
    );

    // The published shape, loosely (a small year is noisy).
    let parents = per_type
        .get(&rank(Some(ClientType::Parent)))
        .copied()
        .unwrap_or(0);
    let share = parents as f64 / chats.len() as f64;
    assert!((0.03..0.35).contains(&share), "parents' share {share}");
    assert!(
        (10.0 * 60.0..25.0 * 60.0).contains(&mean),
        "mean chat {mean} s"
    );
    // Coverage was recorded for the national desk while it was open.
    let national = report.coverage.iter().find(|c| c.desk.0 == DESK).unwrap();
    assert!(national.open_secs > 100 * 3600, "{national:?}");

    // Every format shows the same figures.
    let options = Options {
        lang: Lang::Nl,
        ..Options::default()
    };
    let md = render(&report, Format::Markdown, &options).unwrap();
    let chats_nl = Lang::Nl.count(t.chats);
    assert!(
        md.contains(&format!("| Chatgesprekken | {chats_nl} |")),
        "{md}"
    );
    let csv = render(&report, Format::Csv, &options).unwrap();
    assert!(csv.starts_with("table,row,row_label,column,value\n"));
    assert!(
        csv.contains(&format!("totals,chats,Chatgesprekken,value,{}\n", t.chats)),
        "{csv}"
    );
    let html = render(&report, Format::Html, &options).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "self-contained"
    );
    let en = render(
        &report,
        Format::Markdown,
        &Options {
            lang: Lang::En,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        en.contains(&format!("| Chats | {} |", Lang::En.count(t.chats))),
        "{en}"
    );
}

#[test]
fn the_report_and_demo_data_commands_work_on_the_configured_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, err) = run_binary(
        d,
        &["demo-data", "--chats", "60", "--no-chatboxes"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("demo data for 2021-2022"), "{out}");
    assert!(
        !err.contains("client arrived"),
        "no log line per visitor: {err}"
    );

    // A second run would mix demo chats into a year that has chats: refused; another year
    // of a database with chats only on purpose; a year that is not over, never.
    let (code, _, err) = run_binary(d, &["demo-data", "--chats", "60"], &[], "");
    assert_eq!(code, 1);
    assert!(err.contains("already has chats in 2021-2022"), "{err}");
    let calendar = d.join("calendar.toml");
    std::fs::write(&calendar, include_str!("../../config/calendar.toml")).unwrap();
    let with_calendar = [("CLBCHAT_DESK__CALENDAR_FILE", calendar.to_str().unwrap())];
    let args = [
        "demo-data",
        "--chats",
        "30",
        "--school-year",
        "2020",
        "--no-chatboxes",
    ];
    let (code, _, err) = run_binary(d, &args, &with_calendar, "");
    assert_eq!(code, 1);
    assert!(err.contains("demo chats must not mix with them"), "{err}");
    let (code, out, err) = run_binary(
        d,
        &[&args[..], &["--alongside-existing-data"]].concat(),
        &with_calendar,
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("demo data for 2020-2021"), "{out}");
    let this_year = clbchat_core::statistics::school_year_of(chrono::Utc::now().date_naive());
    let (code, _, err) = run_binary(
        d,
        &["demo-data", "--school-year", &this_year.to_string()],
        &with_calendar,
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("is not over yet"), "{err}");

    let (code, json, err) = run_binary(
        d,
        &["report", "--school-year", "2021", "--format", "json"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let data: ReportData = serde_json::from_str(&json).unwrap();
    assert!(data.totals.chats > 30, "{:?}", data.totals);
    let (code, csv, _) = run_binary(
        d,
        &[
            "report",
            "--school-year",
            "2021",
            "--format",
            "csv",
            "--lang",
            "en",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0);
    assert!(
        csv.contains(&format!("totals,chats,Chats,value,{}\n", data.totals.chats)),
        "{csv}"
    );
    let (code, _, err) = run_binary(
        d,
        &[
            "report",
            "--from",
            "2021-11-22",
            "--to",
            "2021-12-08",
            "--format",
            "html",
            "--output",
            "covid.html",
            "--theme",
            "pgz.covid_medical,psf.covid_related",
            "--theme-name",
            "COVID-19",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(d.join("covid.html")).unwrap();
    assert!(
        page.contains("Thema: COVID-19") && page.contains("2021-11-22"),
        "{page}"
    );

    // Mistakes get a precise answer.
    let (code, _, err) = run_binary(d, &["report", "--format", "pdf"], &[], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("`pdf` is not a format; write markdown, csv, html or json"),
        "{err}"
    );
    let (code, _, err) = run_binary(d, &["report", "--theme", "psf.nonsense"], &[], "");
    assert_eq!(code, 1);
    assert!(err.contains("`psf.nonsense` is not a topic"), "{err}");
    let (code, _, err) = run_binary(
        d,
        &["report", "--from", "2022-01-02", "--to", "2022-01-01"],
        &[],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("ends (2022-01-01) before it starts (2022-01-02)"),
        "{err}"
    );
    let (code, _, err) = run_binary(
        d,
        &["demo-data"],
        &[("CLBCHAT_STORAGE__URL", "memory:")],
        "",
    );
    assert_ne!(code, 0);
    assert!(err.contains("no database to work on"), "{err}");
}

#[tokio::test]
async fn over_the_socket_a_coordinator_gets_the_report_and_a_counsellor_does_not() {
    use clbchat_core::account::StaffRole;
    use clbchat_core::event::Discipline;
    use clbchat_core::ids::DeskId;
    use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};

    use crate::support::{settings_in, staff, InProcess};

    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(settings_in(dir.path())).await;
    server
        .account("kris", StaffRole::Coordinator, Discipline::Medical)
        .await;
    server
        .account("ann", StaffRole::Counsellor, Discipline::Medical)
        .await;
    let date = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let ask = |format: Option<&str>| ClientFrame::Report {
        desk: Some(DeskId::new(DESK)),
        from: date("2025-09-01"),
        to: date("2026-08-31"),
        theme: None,
        format: format.map(str::to_owned),
        lang: Some("en".into()),
    };

    let kris = staff(&server.ws(), &server.origin(), "kris").await;
    match kris.request(ask(Some("markdown"))).await.unwrap() {
        ServerFrame::Report { data, document, .. } => {
            assert_eq!(data.query.period.label, "2025-2026");
            assert_eq!(data.totals.chats, 0);
            let doc = document.expect("the report written out");
            assert_eq!(doc.content_type, "text/markdown; charset=utf-8");
            assert_eq!(doc.file_name, "report-clbchat-2025-09-01-2026-08-31.md");
            assert!(
                doc.content.starts_with("# Annual report 2025-2026"),
                "{}",
                doc.content
            );
        }
        other => panic!("{other:?}"),
    }
    match kris.request(ask(None)).await.unwrap() {
        ServerFrame::Report { document, .. } => assert!(document.is_none(), "figures only"),
        other => panic!("{other:?}"),
    }
    let refused = |e: clbchat_transport_ws::Error| match e {
        clbchat_transport_ws::Error::Server { code, message } => (code, message),
        other => panic!("{other:?}"),
    };
    let (code, message) = refused(kris.request(ask(Some("pdf"))).await.unwrap_err());
    assert_eq!(code, "invalid");
    assert!(
        message.contains("`pdf` is not a report format"),
        "{message}"
    );
    let mut bad_dates = ask(None);
    if let ClientFrame::Report { to, .. } = &mut bad_dates {
        *to = date("2025-01-01");
    }
    let (code, message) = refused(kris.request(bad_dates).await.unwrap_err());
    assert_eq!(code, "invalid");
    assert!(message.contains("before it starts"), "{message}");

    let ann = staff(&server.ws(), &server.origin(), "ann").await;
    let (code, _) = refused(ann.request(ask(Some("html_fragment"))).await.unwrap_err());
    assert_eq!(code, "forbidden", "a counsellor gets no report");
    server.stop().await;
}
