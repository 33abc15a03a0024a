//! A simulated school year of the national desk (issue 19, item 4): the example parameters
//! and schedule (`examples/simulate/`) played for 40 school weeks through the real engine
//! on tokio's paused clock, about 9,000 visitors, as `clbchat simulate --weeks 40` plays
//! them. One iteration is the whole year; the bench prints how many visitors and chats it
//! held.

use std::time::Duration;

use clbchat_assembly::simulate::model::{ParameterFile, Schedule};
use clbchat_assembly::simulate::run::{play, Outcome};
use criterion::Criterion;

fn school_year() -> clbchat_assembly::simulate::model::Scenario {
    let params = ParameterFile::parse(
        include_str!("../../examples/simulate/params.toml"),
        "examples/simulate/params.toml",
    )
    .expect("the example parameters");
    let schedule = Schedule::from_csv(
        include_str!("../../examples/simulate/schedule.csv"),
        "examples/simulate/schedule.csv",
    )
    .expect("the example schedule");
    let mut scenario = params.scenario(schedule).expect("a scenario");
    scenario.weeks = 40;
    scenario
}

fn bench(c: &mut Criterion) {
    let scenario = school_year();
    let played = play(&scenario).expect("the year plays");
    let served = played
        .visits
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::Served { .. }))
        .count();
    println!(
        "simulate/school_year: {} visitors, {served} chats in {} weeks",
        played.visits.len(),
        played.weeks
    );
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("school_year", |b| {
        b.iter(|| play(&scenario).expect("the year plays"))
    });
    group.finish();
}

// What `criterion_group!`/`criterion_main!` expand to, written out (as in `queue.rs`): the
// macro's public function would need documentation the workspace lints ask for.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
