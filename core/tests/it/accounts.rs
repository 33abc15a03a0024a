//! Coordinators manage staff accounts: create, change, deactivate; the rules that keep a
//! desk manageable; password hashes never leave the engine.

use clbchat_core::account::AccountChange;
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::auth::{AccountAuthenticator, Authenticator, Credential};
use clbchat_core::event::Discipline;
use clbchat_core::ids::{DeskId, StaffId};
use clbchat_core::store::Store;
use clbchat_core::Error;

use crate::support::open_world;

fn identity(id: &str, role: StaffRole, desks: &[&str]) -> StaffIdentity {
    StaffIdentity {
        id: StaffId::new(id),
        alias: format!("Alias {id}"),
        role,
        discipline: Discipline::Medical,
        desks: desks.iter().map(|d| DeskId::new(*d)).collect(),
        capacity: 2,
        centre: None,
    }
}

fn change(
    username: &str,
    password: Option<&str>,
    active: bool,
    who: StaffIdentity,
) -> AccountChange {
    AccountChange {
        username: username.into(),
        create: false,
        password: password.map(str::to_owned),
        active,
        identity: who,
    }
}

fn new_account(
    username: &str,
    password: Option<&str>,
    active: bool,
    who: StaffIdentity,
) -> AccountChange {
    AccountChange {
        create: true,
        ..change(username, password, active, who)
    }
}

async fn can_log_in(store: std::sync::Arc<dyn Store>, user: &str, password: &str) -> bool {
    AccountAuthenticator::new(store)
        .authenticate(&Credential::Password {
            username: user.into(),
            password: password.into(),
        })
        .await
        .is_ok()
}

#[tokio::test]
async fn a_coordinator_creates_an_account_that_can_log_in_and_then_deactivates_it() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let store: std::sync::Arc<dyn Store> = world.store.clone();
    let nina = identity("nina", StaffRole::Counsellor, &["clbchat"]);

    let view = cora
        .handle
        .save_account(new_account(
            "nina",
            Some("een lang wachtwoord"),
            true,
            nina.clone(),
        ))
        .await
        .expect("created");
    assert_eq!(view.identity, nina);
    assert!(can_log_in(store.clone(), "nina", "een lang wachtwoord").await);
    let listed = cora.handle.accounts().await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].username, "nina");
    // The stored hash is Argon2id, and the listing type has no field for it at all.
    let stored = world.store.account("nina").await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));

    // Deactivate without touching the password: the old password no longer logs in.
    cora.handle
        .save_account(change("nina", None, false, nina.clone()))
        .await
        .expect("deactivated");
    assert!(!can_log_in(store.clone(), "nina", "een lang wachtwoord").await);
    // Reactivate with a new password.
    cora.handle
        .save_account(change("nina", Some("nog een ander wachtwoord"), true, nina))
        .await
        .expect("reactivated");
    assert!(can_log_in(store.clone(), "nina", "nog een ander wachtwoord").await);
    assert!(!can_log_in(store, "nina", "een lang wachtwoord").await);
}

#[tokio::test]
async fn the_rules_refuse_with_a_reason_that_names_the_field() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let ann = world.counsellor("ann", Discipline::Medical).await;
    let nina = identity("nina", StaffRole::Counsellor, &["clbchat"]);

    // A counsellor cannot manage accounts.
    assert!(matches!(
        ann.handle.accounts().await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        ann.handle
            .save_account(new_account(
                "nina",
                Some("een lang wachtwoord"),
                true,
                nina.clone()
            ))
            .await,
        Err(Error::Forbidden(_))
    ));
    // A new account needs a password, and a long enough one.
    let e = cora
        .handle
        .save_account(new_account("nina", None, true, nina.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    let e = cora
        .handle
        .save_account(new_account("nina", Some("kort"), true, nina.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least 10"), "{e}");
    // Not for a desk the coordinator does not coordinate.
    let elsewhere = identity("piet", StaffRole::Counsellor, &["clb-gent"]);
    assert!(matches!(
        cora.handle
            .save_account(new_account(
                "piet",
                Some("een lang wachtwoord"),
                true,
                elsewhere
            ))
            .await,
        Err(Error::Forbidden(_))
    ));
    // A staff id is unique and fixed.
    cora.handle
        .save_account(new_account(
            "nina",
            Some("een lang wachtwoord"),
            true,
            nina.clone(),
        ))
        .await
        .unwrap();
    let e = cora
        .handle
        .save_account(new_account(
            "nina2",
            Some("een lang wachtwoord"),
            true,
            nina,
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("taken"), "{e}");
    // Nothing refused was stored.
    assert_eq!(cora.handle.accounts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_coordinator_cannot_lock_themselves_out() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let me = cora.identity.clone();
    cora.handle
        .save_account(new_account(
            "cora",
            Some("een lang wachtwoord"),
            true,
            me.clone(),
        ))
        .await
        .expect("own account saved");
    let e = cora
        .handle
        .save_account(change("cora", None, false, me.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("your own"), "{e}");
    let mut demoted = me;
    demoted.role = StaffRole::Counsellor;
    assert!(cora
        .handle
        .save_account(change("cora", None, true, demoted))
        .await
        .is_err());
    let stored = world.store.account("cora").await.unwrap().unwrap();
    assert!(stored.active);
    assert_eq!(stored.identity.role, StaffRole::Coordinator);
}

#[tokio::test]
async fn the_calendar_in_force_is_readable_by_a_coordinator_only() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let ann = world.counsellor("ann", Discipline::Medical).await;
    let cal = cora.handle.calendar(&world.desk).expect("readable");
    assert_eq!(cal, world.engine.desks()[0].calendar);
    assert!(matches!(
        ann.handle.calendar(&world.desk),
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn adding_never_overwrites_and_a_deactivated_coordinator_loses_account_management() {
    let world = open_world().await;
    let cora = world.coordinator("cora").await;
    let nina = identity("nina", StaffRole::Counsellor, &["clbchat"]);
    cora.handle
        .save_account(new_account(
            "nina",
            Some("een lang wachtwoord"),
            true,
            nina.clone(),
        ))
        .await
        .unwrap();
    // Adding "nina" again (say, for a new colleague with the same name) is refused…
    let mut other = nina.clone();
    other.alias = "Andere Nina".into();
    let e = cora
        .handle
        .save_account(new_account("nina", Some("iets heel anders"), true, other))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("exists already"), "{e}");
    // …and the colleague's account is untouched.
    let store: std::sync::Arc<dyn Store> = world.store.clone();
    assert!(can_log_in(store.clone(), "nina", "een lang wachtwoord").await);
    assert_eq!(
        world
            .store
            .account("nina")
            .await
            .unwrap()
            .unwrap()
            .identity
            .alias,
        "Alias nina"
    );
    // Changing an account that does not exist is refused too.
    let e = cora
        .handle
        .save_account(change(
            "nobody",
            None,
            true,
            identity("nobody", StaffRole::Counsellor, &["clbchat"]),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no account"), "{e}");

    // A second coordinator deactivates cora; cora's open session loses account management.
    let kris = world.coordinator("kris").await;
    let me = cora.identity.clone();
    cora.handle
        .save_account(new_account(
            "cora",
            Some("een lang wachtwoord"),
            true,
            me.clone(),
        ))
        .await
        .unwrap();
    kris.handle
        .save_account(change("cora", None, false, me.clone()))
        .await
        .unwrap();
    assert!(matches!(
        cora.handle.accounts().await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        cora.handle
            .save_account(change("cora", None, true, me))
            .await,
        Err(Error::Forbidden(_))
    ));
}

/// Chat-met-je-CLB: the sector's administrator makes the centres' coordinators and reads
/// every desk's report, but sees no board and joins no team; a centre's coordinator
/// manages their own centre's accounts only, and can never make an administrator.
#[tokio::test]
async fn the_administrator_makes_coordinators_and_each_centre_keeps_to_its_own_accounts() {
    let world = open_world().await;
    let gent = clbchat_core::config::DeskConfig::chatbox(
        "clb-gent",
        "CLB Gent",
        clbchat_core::calendar::Calendar::events_only(Vec::new()),
    );
    let brugge = clbchat_core::config::DeskConfig::chatbox(
        "clb-brugge",
        "CLB Brugge",
        clbchat_core::calendar::Calendar::events_only(Vec::new()),
    );
    world.engine.add_desk(gent).await.unwrap();
    world.engine.add_desk(brugge).await.unwrap();
    let admin = world
        .login_for(
            "sabine",
            StaffRole::Administrator,
            Discipline::Medical,
            1,
            vec![],
        )
        .await;
    let store: std::sync::Arc<dyn Store> = world.store.clone();

    // The administrator makes each centre's coordinator, on desks that exist only.
    for (user, desk) in [("greet", "clb-gent"), ("bart", "clb-brugge")] {
        admin
            .handle
            .save_account(new_account(
                user,
                Some("een lang wachtwoord"),
                true,
                identity(user, StaffRole::Coordinator, &[desk]),
            ))
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        assert!(can_log_in(store.clone(), user, "een lang wachtwoord").await);
    }
    let e = admin
        .handle
        .save_account(new_account(
            "nergens",
            Some("een lang wachtwoord"),
            true,
            identity("nergens", StaffRole::Coordinator, &["clb-nergens"]),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no desk `clb-nergens`"), "{e}");
    // A counsellor who serves both centres.
    admin
        .handle
        .save_account(new_account(
            "ines",
            Some("een lang wachtwoord"),
            true,
            identity("ines", StaffRole::Counsellor, &["clb-gent", "clb-brugge"]),
        ))
        .await
        .unwrap();
    assert_eq!(admin.handle.accounts().await.unwrap().len(), 3);

    // Greet (Gent) sees Gent's accounts and Ines, but cannot change Ines (she also works
    // for Brugge), cannot touch Bart, and cannot make an administrator.
    let greet = world
        .login_for(
            "greet",
            StaffRole::Coordinator,
            Discipline::Medical,
            1,
            vec![DeskId::new("clb-gent")],
        )
        .await;
    let seen: Vec<String> = greet
        .handle
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(seen, vec!["greet", "ines"]);
    for (user, who) in [
        (
            "ines",
            identity("ines", StaffRole::Counsellor, &["clb-gent"]),
        ),
        (
            "bart",
            identity("bart", StaffRole::Coordinator, &["clb-gent"]),
        ),
    ] {
        let e = greet
            .handle
            .save_account(change(user, None, false, who))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "forbidden", "{user}: {e}");
    }
    let e = greet
        .handle
        .save_account(new_account(
            "boss",
            Some("een lang wachtwoord"),
            true,
            identity("boss", StaffRole::Administrator, &[]),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    assert!(world.store.account("boss").await.unwrap().is_none());

    // The administrator reads every desk's report, but no board and no team.
    let report = clbchat_core::statistics::ReportRequest {
        desk: Some(DeskId::new("clb-brugge")),
        from: chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
        to: chrono::NaiveDate::from_ymd_opt(2022, 12, 31).unwrap(),
        theme: None,
    };
    admin
        .handle
        .report(&report)
        .await
        .expect("the sector's view");
    assert_eq!(
        greet.handle.report(&report).await.unwrap_err().code(),
        "forbidden",
        "Gent's coordinator does not read Brugge's report"
    );
    assert_eq!(
        admin
            .handle
            .board(&DeskId::new("clb-gent"))
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        admin
            .handle
            .go_online(&DeskId::new("clb-gent"), None)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
}
