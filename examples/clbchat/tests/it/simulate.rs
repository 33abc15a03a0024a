//! `clbchat simulate` as a planner runs it: the example files shipped in
//! `examples/simulate/` give a plan in three files; each mistake in a file stops it with a
//! message that says where, and exit code 78.

use std::path::PathBuf;

use crate::support::*;

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../simulate")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn the_example_files_give_a_plan_in_markdown_csv_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let (code, stdout, stderr) = run_binary(
        dir.path(),
        &[
            "simulate",
            "--params",
            &example("params.toml"),
            "--schedule",
            &example("schedule.csv"),
            "--weeks",
            "2",
            "--output",
            &out.display().to_string(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("visitors in 2 week(s) played"), "{stdout}");
    assert!(
        !stderr.contains("client arrived"),
        "the play does not log every visitor: {stderr}"
    );
    let md = std::fs::read_to_string(out.join("simulation.md")).unwrap();
    assert!(
        md.starts_with("# Simulatie van de bezetting: 2 weken"),
        "{md}"
    );
    assert!(md.contains("| wo 14-15 u | 3 | 1 | 1 |"), "{md}");
    let csv = std::fs::read_to_string(out.join("simulation.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("day,hour,counsellors,medical,capacity,offered,served"));
    // One row per staffed hour of the example schedule (19), Monday first.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 19, "{csv}");
    assert!(rows[0].starts_with("mon,17,4,1,1,"), "{csv}");
    // Wednesday 16:00 has no medical counsellor: two weeks without one.
    let wed16: Vec<&str> = rows
        .iter()
        .find(|r| r.starts_with("wed,16,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(wed16[13], "2", "{csv}");
    let html = std::fs::read_to_string(out.join("simulation.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("role=\"img\""),
        "charts are drawn"
    );
    assert!(html.contains("Per uur van de week"));
}

#[test]
fn a_mistake_in_a_file_is_named_and_nothing_is_played() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = dir.path().join("schedule.csv");
    // Wednesday 16:00 left out: a gap where visitors are expected.
    let text = std::fs::read_to_string(example("schedule.csv")).unwrap();
    std::fs::write(&schedule, text.replace("wed,16,3,0,1\n", "")).unwrap();
    let (code, _, stderr) = run_binary(
        dir.path(),
        &[
            "simulate",
            "--params",
            &example("params.toml"),
            "--schedule",
            &schedule.display().to_string(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("simulation: the schedule has no row for wed 16:00-17:00"),
        "{stderr}"
    );
    let params = dir.path().join("params.toml");
    let text = std::fs::read_to_string(example("params.toml")).unwrap();
    std::fs::write(
        &params,
        text.replace("mean_minutes = 18.5", "mean_minutes = -3"),
    )
    .unwrap();
    let (code, _, stderr) = run_binary(
        dir.path(),
        &[
            "simulate",
            "--params",
            &params.display().to_string(),
            "--schedule",
            &example("schedule.csv"),
        ],
        &[],
        "",
    );
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("lengths: mean_minutes and sd_minutes must both be more than 0"),
        "{stderr}"
    );
    let (code, _, stderr) = run_binary(
        dir.path(),
        &[
            "simulate",
            "--params",
            "missing.toml",
            "--schedule",
            &example("schedule.csv"),
        ],
        &[],
        "",
    );
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn a_target_gives_a_schedule_to_plan_with_and_says_when_it_cannot_be_met() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let run = |target: &str, max: &str| {
        run_binary(
            dir.path(),
            &[
                "simulate",
                "--params",
                &example("params.toml"),
                "--schedule",
                &example("schedule.csv"),
                "--weeks",
                "1",
                "--target",
                target,
                "--max-counsellors",
                max,
                "--output",
                &out.display().to_string(),
            ],
            &[],
            "",
        )
    };
    let (code, stdout, stderr) = run("p90-wait=3m,abandon=10%", "12");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let staffing = std::fs::read_to_string(out.join("staffing.md")).unwrap();
    assert!(
        staffing.starts_with("# Aanbevolen bezetting (p90-wait=3m,abandon=10%)"),
        "{staffing}"
    );
    assert!(staffing.contains("| wo 14-15 u |"), "{staffing}");
    // The recommended schedule is a schedule: it plays as one.
    let schedule = out.join("recommended-schedule.csv");
    let text = std::fs::read_to_string(&schedule).unwrap();
    assert!(
        text.starts_with("day,hour,counsellors,medical,capacity\n"),
        "{text}"
    );
    assert_eq!(
        text.lines().count(),
        20,
        "a row per hour with visitors: {text}"
    );
    let (code, _, stderr) = run_binary(
        dir.path(),
        &[
            "simulate",
            "--params",
            &example("params.toml"),
            "--schedule",
            &schedule.display().to_string(),
            "--weeks",
            "1",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{stderr}");

    // Nobody waits and nobody leaves, with at most two counsellors: not possible.
    let (code, stdout, stderr) = run("p90-wait=0s,abandon=0%", "2");
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("not met: mon 17:00-18:00 even with 2 counsellors"),
        "{stdout}"
    );
    assert!(stderr.contains("the target is not met in every hour; the best found is written"));
    let staffing = std::fs::read_to_string(out.join("staffing.md")).unwrap();
    assert!(staffing.contains("niet gehaald"), "{staffing}");

    let (code, _, stderr) = run("p90=2m", "12");
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("`p90` is not a target (p90-wait, abandon)"),
        "{stderr}"
    );
}

/// The desk's own history as the visitors: the chats in the database (metadata only) give
/// the arrivals, the lengths and the patience; an empty database says it has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_in_the_database_gives_the_visitors() {
    use clbchat_core::ids::DeskId;
    use clbchat_store_sql::{SqlOptions, SqlStore};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let simulate = |args: &[&str]| {
        let mut all = vec!["simulate", "--from-history", "--weeks", "1"];
        all.extend_from_slice(args);
        run_binary(d, &all, &[], "")
    };
    let (code, _, stderr) = simulate(&["--target", "p90-wait=5m"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("desk `clbchat` has no visitors from"),
        "{stderr}"
    );

    // Eight weeks of a Wednesday 15:00 hour: six chats of 20 minutes, one who left.
    let url = format!("sqlite://{}", d.join("data/clbchat.db").display());
    let store = SqlStore::connect(&url, SqlOptions::new()).await.unwrap();
    clbchat_assembly::testing::wednesday_history(&store, &DeskId::new("clbchat"), 8).await;
    store.close().await;
    let out = d.join("plan");
    let (code, stdout, stderr) = simulate(&[
        "--target",
        "p90-wait=5m,abandon=20%",
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let schedule = std::fs::read_to_string(out.join("recommended-schedule.csv")).unwrap();
    assert_eq!(
        schedule.lines().collect::<Vec<_>>()[1..]
            .iter()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>(),
        ["wed,15"],
        "staffing only where the history had visitors: {schedule}"
    );
    let md = std::fs::read_to_string(out.join("simulation.md")).unwrap();
    assert!(md.contains("| wo 15-16 u |"), "{md}");
}

/// The simulator and the server agree: the same seeded visitors played on the server's own
/// desk (its rules, from its settings) and its own store (SQLite, durable, in a file) get
/// exactly the waits and outcomes they get on the in-memory store the simulator uses.
#[test]
fn the_same_visitors_get_the_same_waits_on_the_servers_desk_and_store() {
    use clbchat_assembly::demo_data::{StoreRuntime, Unhurried};
    use clbchat_assembly::simulate::model::{ParameterFile, Schedule};
    use clbchat_assembly::simulate::run::{play, play_on, Outcome};
    use clbchat_core::store::{ConversationFilter, Store};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let settings = settings_in(dir.path());
    let params = ParameterFile::parse(
        &std::fs::read_to_string(example("params.toml")).unwrap(),
        "params.toml",
    )
    .unwrap();
    let schedule = Schedule::from_csv(
        &std::fs::read_to_string(example("schedule.csv")).unwrap(),
        "schedule.csv",
    )
    .unwrap();
    let mut scenario = params.scenario(schedule).unwrap();
    scenario.weeks = 1;
    scenario.desk = Some(clbchat_assembly::app::desk_config(&settings).unwrap());

    let simulated = play(&scenario).unwrap();

    let store_runtime = StoreRuntime::start().unwrap();
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opening = settings.clone();
    let store = Arc::new(
        caller
            .block_on(
                store_runtime.run(async move { clbchat_assembly::app::open_store(&opening).await }),
            )
            .unwrap()
            .unwrap(),
    );
    let on_server = play_on(
        &scenario,
        Arc::new(Unhurried::new(store.clone(), &store_runtime)),
    )
    .unwrap();
    assert!(simulated.visits.len() > 150, "{}", simulated.visits.len());
    assert!(
        simulated
            .visits
            .iter()
            .any(|v| matches!(v.outcome, Outcome::Served { wait, .. } if wait > 1.0)),
        "some visitors waited"
    );
    assert_eq!(
        on_server.visits, simulated.visits,
        "every visitor's outcome and wait"
    );
    let kept = store.clone();
    let stored = caller
        .block_on(store_runtime.run(async move {
            let n = kept
                .conversations(&ConversationFilter::default())
                .await
                .map(|c| c.len());
            kept.close().await;
            n
        }))
        .unwrap()
        .unwrap();
    let came = on_server
        .visits
        .iter()
        .filter(|v| !matches!(v.outcome, Outcome::TooLate | Outcome::QueueFull))
        .count();
    assert!(
        stored >= came,
        "the server's database holds the chats: {stored} < {came}"
    );
}
