//! Password guessing: wrong passwords slow down per connection and per account, a
//! connection that keeps failing must wait, the right password always gets in, and the
//! coordinator sees repeated failures on the board. On paused time: the waits are measured
//! on tokio's clock, not slept.

use std::time::Duration;

use clbchat_core::account::StaffRole;
use clbchat_core::auth::Credential;
use clbchat_core::engine::logins::{
    LoginAttempts, ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY, CONNECTION_FAILURES_BEFORE_WAIT,
    CONNECTION_WAIT,
};
use clbchat_core::event::Discipline;
use clbchat_core::Error;
use tokio::time::Instant;

use crate::support::*;

fn wrong(user: &str) -> Credential {
    Credential::Password {
        username: user.into(),
        password: "hunter2".into(),
    }
}

fn right(user: &str) -> Credential {
    Credential::Password {
        username: user.into(),
        password: PASSWORD.into(),
    }
}

/// One attempt; how long its answer took on the (paused) clock.
async fn timed(
    world: &World,
    credential: &Credential,
    attempts: &mut LoginAttempts,
) -> (Duration, clbchat_core::Result<()>) {
    let before = Instant::now();
    let r = world
        .engine
        .login_from(credential, attempts)
        .await
        .map(|_| ());
    (Instant::now() - before, r)
}

#[tokio::test(start_paused = true)]
async fn wrong_passwords_on_one_connection_slow_down_then_must_wait() {
    let world = open_world().await;
    let ann = world
        .login("ann", StaffRole::Counsellor, Discipline::Medical, 1)
        .await;
    drop(ann);
    let mut conn = LoginAttempts::default();
    let mut waits = Vec::new();
    for _ in 0..CONNECTION_FAILURES_BEFORE_WAIT {
        let (took, r) = timed(&world, &wrong("ann"), &mut conn).await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
        waits.push(took.as_secs());
    }
    // The first answer is immediate; each next one slower (the account's own delay joins
    // after five failures, whichever is longer counts).
    assert_eq!(waits[0], 0);
    assert!(
        waits.windows(2).all(|w| w[1] >= w[0]) && waits[1] >= 1 && waits[4] >= 8,
        "{waits:?}"
    );
    // Then this connection must wait, and is told for how long, without a check.
    let (took, r) = timed(&world, &right("ann"), &mut conn).await;
    assert_eq!(took, Duration::ZERO);
    assert!(
        matches!(r, Err(Error::TooManyAttempts { wait_secs }) if wait_secs == CONNECTION_WAIT.as_secs()),
        "{r:?}"
    );
    // After the wait the right password works, slowed at most by the account's delay.
    tokio::time::advance(CONNECTION_WAIT).await;
    let (took, r) = timed(&world, &right("ann"), &mut conn).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(took <= ACCOUNT_MAX_DELAY, "{took:?}");
    // Success starts afresh: the next mistake is answered at once again.
    let (took, _) = timed(&world, &wrong("ann"), &mut LoginAttempts::default()).await;
    assert_eq!(took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_attacker_on_many_connections_cannot_lock_a_counsellor_out() {
    let world = open_world().await;
    drop(
        world
            .login("ann", StaffRole::Counsellor, Discipline::Medical, 1)
            .await,
    );
    // Forty guesses, each on a fresh connection: the account's own delay slows them down.
    let mut slowest = Duration::ZERO;
    let mut last = Duration::ZERO;
    for i in 0..40 {
        let (took, r) = timed(&world, &wrong("ann"), &mut LoginAttempts::default()).await;
        assert!(matches!(r, Err(Error::BadCredentials)));
        if i < ACCOUNT_FREE_FAILURES {
            assert_eq!(took, Duration::ZERO, "guess {i}");
        }
        slowest = slowest.max(took);
        last = took;
    }
    assert_eq!(slowest, ACCOUNT_MAX_DELAY);
    assert_eq!(last, ACCOUNT_MAX_DELAY);
    // Ann, on her own connection, still gets in, within the bounded delay.
    let (took, r) = timed(&world, &right("ann"), &mut LoginAttempts::default()).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(took <= ACCOUNT_MAX_DELAY);
}

#[tokio::test(start_paused = true)]
async fn the_coordinator_sees_repeated_failures_of_the_desks_accounts_only() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let ann = world
        .login("ann", StaffRole::Counsellor, Discipline::Medical, 1)
        .await;
    world.keep_account(&ann.identity).await;
    drop(ann);
    for _ in 0..3 {
        let _ = timed(&world, &wrong("ann"), &mut LoginAttempts::default()).await;
    }
    assert!(cora
        .handle
        .board(&world.desk)
        .unwrap()
        .login_failures
        .is_empty());
    for _ in 0..3 {
        let _ = timed(&world, &wrong("Ann"), &mut LoginAttempts::default()).await;
    }
    // A name that is no account is slowed down the same but shown to nobody.
    for _ in 0..10 {
        let _ = timed(&world, &wrong("admin"), &mut LoginAttempts::default()).await;
    }
    let board = cora.handle.board(&world.desk).unwrap();
    assert_eq!(board.login_failures.len(), 1, "{:?}", board.login_failures);
    assert_eq!(board.login_failures[0].username, "ann");
    assert_eq!(board.login_failures[0].last_hour, 6);
    // An hour later it is gone from the board.
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert!(cora
        .handle
        .board(&world.desk)
        .unwrap()
        .login_failures
        .is_empty());
}
