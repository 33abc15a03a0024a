//! Statistics from the engine's own records: the coverage samples it writes as counsellors
//! come and go and the desk opens and closes, as the report counts them.

use std::time::Duration;

use chrono::NaiveDate;
use clbchat_core::event::Discipline;
use clbchat_core::statistics::{CoverageFigures, ReportQuery};

use crate::support::{brussels, Store, World};

const HALF_HOUR: Duration = Duration::from_secs(30 * 60);

#[tokio::test(start_paused = true)]
async fn the_report_shows_the_hours_open_below_the_minimum_and_without_a_medical_counsellor() {
    // Wednesday 13 October 2021: open 14:00-21:00.
    let world = World::at(brussels(2021, 10, 13, 13, 0)).await;
    tokio::time::sleep(3 * HALF_HOUR).await; // 14:30: open since 14:00, nobody online
    let _ann = world.counsellor("ann", Discipline::PsychoPedagogical).await;
    let _bob = world.counsellor("bob", Discipline::SocialWork).await;
    let _cas = world.counsellor("cas", Discipline::Paramedical).await;
    tokio::time::sleep(2 * HALF_HOUR).await; // 15:30: three, none medical
    let mia = world.counsellor("mia", Discipline::Medical).await;
    tokio::time::sleep(HALF_HOUR).await; // 16:00: the doctor leaves
    mia.handle.go_offline(&world.desk).await.unwrap();
    tokio::time::sleep(2 * HALF_HOUR).await; // 17:00

    let day = NaiveDate::from_ymd_opt(2021, 10, 13).unwrap();
    let now = brussels(2021, 10, 13, 17, 0);
    let query = ReportQuery::for_dates(Some(world.desk.clone()), day, day, now).unwrap();
    let report = world.store.report(&query).await.unwrap();
    assert_eq!(
        report.coverage,
        [CoverageFigures {
            desk: world.desk.clone(),
            open_secs: 3 * 3600,
            below_minimum_secs: 1800,
            no_medical_secs: 5400 + 3600,
        }]
    );

    // A clean stop records the desk as closed: the time the server is down is not counted.
    world.engine.shutdown().await;
    tokio::time::sleep(4 * HALF_HOUR).await;
    let later = ReportQuery::for_dates(
        Some(world.desk.clone()),
        day,
        day,
        brussels(2021, 10, 13, 19, 0),
    )
    .unwrap();
    let report = world.store.report(&later).await.unwrap();
    assert_eq!(report.coverage[0].open_secs, 3 * 3600);
}

#[tokio::test(start_paused = true)]
async fn a_quiet_open_desk_is_counted_whole_between_changes_off_the_clock_grid() {
    // Wednesday: open from 14:00. A counsellor comes at 14:07, then nothing happens for
    // two hours: the heartbeat keeps every minute counted.
    let world = World::at(brussels(2021, 10, 13, 13, 0)).await;
    tokio::time::sleep(Duration::from_secs(67 * 60)).await; // 14:07
    let _ann = world.counsellor("ann", Discipline::Medical).await;
    tokio::time::sleep(4 * HALF_HOUR).await; // 16:07
    let day = NaiveDate::from_ymd_opt(2021, 10, 13).unwrap();
    let now = brussels(2021, 10, 13, 16, 7);
    let query = ReportQuery::for_dates(Some(world.desk.clone()), day, day, now).unwrap();
    let report = world.store.report(&query).await.unwrap();
    assert_eq!(
        report.coverage[0].open_secs,
        2 * 3600 + 7 * 60,
        "open 14:00 to 16:07"
    );
    assert_eq!(
        report.coverage[0].no_medical_secs,
        7 * 60,
        "the doctor came at 14:07"
    );
}
