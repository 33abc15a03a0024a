//! When the database cannot be used, calls fail with `Unavailable` (which the engine turns
//! into "sending is temporarily impossible"), and nothing is reported as stored.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use clbchat_core::error::StoreErrorKind;
use clbchat_core::event::{EventBody, LoggedEvent, Role};
use clbchat_core::ids::{ClientMsgId, ConversationId};
use clbchat_core::store::Store;
use clbchat_store_sql::{SqlOptions, SqlStore};
use sqlx::Connection;

use crate::helpers::{active_chat as meta, options, TestDb};

fn message(id: ConversationId, seq: u64) -> LoggedEvent {
    LoggedEvent {
        conversation: id,
        seq,
        at: Utc
            .with_ymd_and_hms(2022, 3, 1, 17, 1, 0)
            .single()
            .expect("instant"),
        body: EventBody::Message {
            from: Role::Client,
            author: "Vlinder".into(),
            text: format!("bericht {seq}"),
            client_msg_id: ClientMsgId::new(format!("m{seq}")),
        },
    }
}

fn assert_unavailable<T: std::fmt::Debug>(r: clbchat_core::Result<T>, what: &str) {
    match r {
        Ok(v) => panic!("{what}: expected Unavailable, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(
                e.store_kind(),
                Some(StoreErrorKind::Unavailable),
                "{what}: {e}"
            );
            assert_eq!(e.code(), "store_unavailable", "{what}: {e}");
            assert!(
                e.to_string().contains("temporarily impossible"),
                "{what}: {e}"
            );
        }
    }
}

#[tokio::test]
async fn sqlite_locked_by_another_process_is_unavailable_and_stores_nothing() {
    let db = TestDb::sqlite();
    let mut o = options();
    o.busy_timeout = Duration::from_millis(200);
    let store = db.open_with(o).await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    store.append(&message(m.id, 1)).await.expect("append 1");

    // Another process (here: another connection) holds the write lock.
    let mut other = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connecting");
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .expect("locking");
    assert_unavailable(store.append(&message(m.id, 2)).await, "append while locked");
    assert_unavailable(store.put_conversation(&meta()).await, "put while locked");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("unlocking");

    // Nothing of the refused append was stored: seq 2 is still free, and reads never stopped.
    let log = store.events_after(m.id, 0).await.expect("events_after");
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
    store
        .append(&message(m.id, 2))
        .await
        .expect("append 2 after the lock is gone");
    store.close().await;
}

#[tokio::test]
async fn postgres_without_its_schema_is_unavailable() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.open().await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    store.append(&message(m.id, 1)).await.expect("append 1");
    let schema = db.schema().expect("a schema").to_owned();
    db.execute(&format!("DROP SCHEMA {schema} CASCADE")).await;
    assert_unavailable(
        store.append(&message(m.id, 2)).await,
        "append without tables",
    );
    assert_unavailable(store.events_after(m.id, 0).await, "read without tables");
    store.close().await;
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_and_says_where() {
    let mut o = SqlOptions::new();
    o.acquire_timeout = Duration::from_secs(2);
    // Port 1 on loopback: nothing listens there.
    let r = SqlStore::connect("postgres://clb:geheim@127.0.0.1:1/clbchat", o).await;
    let e = r.expect_err("connecting to a closed port");
    assert_eq!(e.store_kind(), Some(StoreErrorKind::Unavailable), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("127.0.0.1:1"),
        "the message names the server: {text}"
    );
    assert!(
        !text.contains("geheim"),
        "the message hides the password: {text}"
    );
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    store.close().await;
    assert_unavailable(store.append(&message(m.id, 1)).await, "append after close");
    assert_unavailable(store.conversation(m.id).await, "read after close");
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_with_the_forms_that_work() {
    let e = SqlStore::connect("mysql://localhost/clbchat", SqlOptions::new())
        .await
        .expect_err("mysql is not supported");
    assert_eq!(e.store_kind(), Some(StoreErrorKind::Invalid));
    assert!(e.to_string().contains("sqlite://"), "{e}");
}
