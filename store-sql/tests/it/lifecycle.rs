//! Opening, reopening, migrating, closing; the faster durability mode.

use chrono::{TimeZone, Utc};
use clbchat_core::error::StoreErrorKind;
use clbchat_core::event::{ClientProfile, LoggedEvent};
use clbchat_core::ids::{ConversationId, DeskId};
use clbchat_core::store::{ConversationMeta, ConversationState, Store};
use clbchat_store_sql::{Backend, Durability, SqlStore};

use crate::helpers::{options, time_warning as event, TestDb};

fn meta() -> ConversationMeta {
    let at = Utc
        .with_ymd_and_hms(2022, 3, 1, 17, 0, 0)
        .single()
        .expect("instant");
    ConversationMeta {
        id: ConversationId::random(),
        desk: DeskId::new("national"),
        pseudonym: None,
        profile: ClientProfile::default(),
        state: ConversationState::Waiting,
        counsellor: None,
        arrived_at: at,
        started_at: None,
        ended_at: None,
        end_reason: None,
        resume_token_hash: "h".into(),
    }
}

/// Appends from many tasks, closes (which commits the queue), reopens, finds everything.
async fn survives_close_and_reopen(db: &TestDb, backend: Backend) {
    let store = db.open().await;
    assert_eq!(store.backend(), backend);
    store.migrate().await.expect("migrating again is a no-op");
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    for seq in 1..=20 {
        store.append(&event(m.id, seq)).await.expect("append");
    }
    store.close().await;

    let again = db.open().await;
    let log = again.events_after(m.id, 0).await.expect("events_after");
    assert_eq!(
        log.len(),
        20,
        "everything acknowledged before close is there after reopening"
    );
    assert_eq!(
        again.conversation(m.id).await.expect("conversation"),
        Some(m)
    );
    again.close().await;
}

#[tokio::test]
async fn sqlite_survives_close_and_reopen() {
    survives_close_and_reopen(&TestDb::sqlite(), Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_survives_close_and_reopen() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    survives_close_and_reopen(&db, Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_uses_wal_and_full_sync_by_default_and_normal_on_request() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.close().await;
    let path = db.sqlite_path().expect("a file");
    assert!(path.exists());
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    // The journal mode is stored in the file: a WAL database keeps saying so.
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
        .await
        .expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut c)
        .await
        .expect("pragma");
    assert_eq!(
        mode,
        "wal",
        "the file is in WAL mode ({} exists: {})",
        wal.display(),
        wal.exists()
    );

    let mut o = options();
    o.durability = Durability::Normal;
    let fast = db.open_with(o).await;
    let m = meta();
    fast.put_conversation(&m).await.expect("put_conversation");
    fast.append(&event(m.id, 1)).await.expect("append");
    fast.close().await;
}

/// The database holds every transcript: a new file, and the WAL and shared-memory files
/// SQLite makes beside it, are readable by their owner only.
#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    store.append(&event(m.id, 1)).await.expect("append");
    let path = db.sqlite_path().expect("a file");
    let mut seen = 0;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            seen += 1;
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
        }
    }
    assert!(seen >= 2, "the database and its WAL while open");
    store.close().await;
}

#[tokio::test]
async fn many_conversations_appending_at_once_all_get_their_answer() {
    // 64 conversations x 10 events, all at once: the group-commit writer batches them.
    let db = TestDb::sqlite();
    let store = db.open().await;
    let mut ids = Vec::new();
    for _ in 0..64 {
        let m = meta();
        store.put_conversation(&m).await.expect("put_conversation");
        ids.push(m.id);
    }
    let started = std::time::Instant::now();
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let store: SqlStore = store.clone();
            tokio::spawn(async move {
                for seq in 1..=10 {
                    store.append(&event(id, seq)).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    eprintln!("640 appends from 64 conversations: {:?}", started.elapsed());
    for id in ids {
        assert_eq!(
            store.events_after(id, 0).await.expect("events_after").len(),
            10
        );
    }
    store.close().await;
}

/// The sequence numbers of a chat's stored events.
async fn seqs(store: &SqlStore, id: ConversationId) -> Vec<u64> {
    store
        .events_after(id, 0)
        .await
        .expect("events_after")
        .iter()
        .map(|e| e.seq)
        .collect()
}

/// Stores event `seq` of chat `id` straight into the database, as another process on the
/// same database would: the store's writer does not know of it.
async fn write_behind_the_stores_back(db: &TestDb, id: ConversationId, seq: u64) {
    let body = serde_json::to_string(&event(id, seq).body).expect("body");
    let conversation = match db.sqlite_path() {
        Some(_) => format!("X'{}'", id.0.simple()),
        None => format!("'{}'::uuid", id.0),
    };
    db.execute(&format!(
        "INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) \
         VALUES ({conversation}, {seq}, 0, 'time_warning', false, '{body}')"
    ))
    .await;
}

/// The writer remembers the last seq it committed per chat instead of reading it for every
/// batch. A row written behind its back (another process on the same database) clashes on
/// the `(conversation, seq)` key; the writer then reads that chat again, so the next event in
/// order is taken.
async fn a_row_written_behind_the_stores_back_is_caught_and_read_again(db: &TestDb) {
    let store = db.open().await;
    let m = meta();
    store.put_conversation(&m).await.expect("put_conversation");
    for seq in 1..=2 {
        store.append(&event(m.id, seq)).await.expect("append");
    }
    write_behind_the_stores_back(db, m.id, 3).await;
    let clash = store.append(&event(m.id, 3)).await;
    assert_eq!(
        clash.err().and_then(|e| e.store_kind()),
        Some(StoreErrorKind::Conflict),
        "seq 3 is taken"
    );
    store
        .append(&event(m.id, 4))
        .await
        .expect("after the clash the writer knows seq 3 is stored, so 4 follows");
    assert_eq!(seqs(&store, m.id).await, vec![1, 2, 3, 4]);
    store.close().await;
}

#[tokio::test]
async fn sqlite_catches_a_row_written_behind_its_back() {
    a_row_written_behind_the_stores_back_is_caught_and_read_again(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_catches_a_row_written_behind_its_back() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_row_written_behind_the_stores_back_is_caught_and_read_again(&db).await;
}

/// A chat removed behind the store's back while the writer still remembers it: the key to
/// the conversation refuses its next event (on SQLite at `COMMIT`, where the key is checked
/// since issue 20), the batch is retried one by one, the other chats' events are stored,
/// and the writer goes on: a failed `COMMIT` leaves no transaction open behind it.
async fn a_chat_removed_behind_the_stores_back_fails_alone(db: &TestDb) {
    let store = db.open().await;
    let chats: Vec<ConversationMeta> = (0..3).map(|_| meta()).collect();
    for m in &chats {
        store.put_conversation(m).await.expect("put_conversation");
        store.append(&event(m.id, 1)).await.expect("append");
    }
    let gone = &chats[0];
    let id = match db.sqlite_path() {
        Some(_) => format!("X'{}'", gone.id.0.simple()),
        None => format!("'{}'::uuid", gone.id.0),
    };
    db.execute(&format!(
        "DELETE FROM events WHERE conversation = {id}; DELETE FROM conversations WHERE id = {id}"
    ))
    .await;
    let next: Vec<LoggedEvent> = chats.iter().map(|m| event(m.id, 2)).collect();
    let (a, b, c) = tokio::join!(
        store.append(&next[0]),
        store.append(&next[1]),
        store.append(&next[2]),
    );
    assert_eq!(
        a.err().and_then(|e| e.store_kind()),
        Some(StoreErrorKind::NotFound),
        "the removed chat's event is refused"
    );
    b.expect("another chat's event in the same batch is stored");
    c.expect("another chat's event in the same batch is stored");
    for m in &chats[1..] {
        store
            .append(&event(m.id, 3))
            .await
            .expect("the writer goes on");
        assert_eq!(seqs(&store, m.id).await, vec![1, 2, 3]);
    }
    store.close().await;
}

#[tokio::test]
async fn sqlite_refuses_only_the_event_of_a_removed_chat() {
    a_chat_removed_behind_the_stores_back_fails_alone(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_refuses_only_the_event_of_a_removed_chat() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_chat_removed_behind_the_stores_back_fails_alone(&db).await;
}

/// Appends event `seq` of `a` and of `b` at once: `a`'s first (join! polls in order).
async fn both(
    store: &SqlStore,
    a: &ConversationMeta,
    b: &ConversationMeta,
    seq: u64,
) -> (clbchat_core::Result<()>, clbchat_core::Result<()>) {
    let (ea, eb) = (event(a.id, seq), event(b.id, seq));
    tokio::join!(store.append(&ea), store.append(&eb))
}

/// A batch is all or nothing: when one of its rows clashes with a row written behind the
/// store's back, none of the batch stays stored, and the one-by-one retry stores each of the
/// others exactly once (a row kept from the failed batch would clash with its own retry and
/// be refused although stored). The batch is made of two appends by a writer that waits
/// for a full batch of two, so both rows share one statement.
async fn a_clash_keeps_nothing_of_its_batch(db: &TestDb) {
    let mut o = options();
    o.group_commit_max_batch = 2;
    // Long enough never to end a batch in this test: each batch is filled by two appends.
    o.group_commit_max_delay = std::time::Duration::from_secs(60);
    let store = db.open_with(o).await;
    let (a, b) = (meta(), meta());
    for m in [&a, &b] {
        store.put_conversation(m).await.expect("put_conversation");
    }
    let (first_a, first_b) = both(&store, &a, &b, 1).await;
    first_a.expect("first event of a");
    first_b.expect("first event of b");
    write_behind_the_stores_back(db, b.id, 2).await;
    // `a`'s row comes first in the batch (join! polls in order), then `b`'s clashes.
    let (second_a, second_b) = both(&store, &a, &b, 2).await;
    second_a.expect("a's event is stored, and answered as stored");
    assert_eq!(
        second_b.err().and_then(|e| e.store_kind()),
        Some(StoreErrorKind::Conflict),
        "b's seq 2 is taken"
    );
    assert_eq!(
        seqs(&store, a.id).await,
        vec![1, 2],
        "a's event stored once"
    );
    let (third_a, third_b) = both(&store, &a, &b, 3).await;
    third_a.expect("the writer goes on");
    third_b.expect("the writer read b again after the clash");
    assert_eq!(seqs(&store, a.id).await, vec![1, 2, 3]);
    assert_eq!(seqs(&store, b.id).await, vec![1, 2, 3]);
    store.close().await;
}

#[tokio::test]
async fn sqlite_keeps_nothing_of_a_batch_with_a_clash() {
    a_clash_keeps_nothing_of_its_batch(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_keeps_nothing_of_a_batch_with_a_clash() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_clash_keeps_nothing_of_its_batch(&db).await;
}

/// A database made before the log was stored in write order (issue 20) keeps every event:
/// the migration moves them, each chat's in order, and the key still refuses a repeat.
#[tokio::test]
async fn an_sqlite_log_from_before_the_write_order_layout_is_kept() {
    let db = TestDb::sqlite();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut older = sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .expect("reading the migrations");
    let before: Vec<_> = older
        .migrations
        .iter()
        .filter(|m| m.version < 20261205000003)
        .cloned()
        .collect();
    assert!(
        before.len() < older.migrations.len(),
        "the write-order migration exists"
    );
    older.migrations = before.into();
    {
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&db.url)
            .expect("url")
            .create_if_missing(true);
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
            .await
            .expect("connect");
        older.run(&mut c).await.expect("the older schema");
    }
    let (a, b) = (meta(), meta());
    let body = serde_json::to_string(&event(a.id, 1).body).expect("body");
    for m in [&a, &b] {
        db.execute(&format!(
            "INSERT INTO conversations (id, desk, profile, state, arrived_at_ns, resume_token_hash) \
             VALUES (X'{}', 'national', '{{}}', 'waiting', 0, 'h')",
            m.id.0.simple()
        ))
        .await;
    }
    // Interleaved, as chats write: a1 b1 a2 b2 a3.
    for (m, seq) in [(&a, 1), (&b, 1), (&a, 2), (&b, 2), (&a, 3)] {
        db.execute(&format!(
            "INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) \
             VALUES (X'{}', {seq}, {seq}, 'time_warning', 0, '{body}')",
            m.id.0.simple()
        ))
        .await;
    }

    let store = db.open().await;
    for (m, n) in [(&a, 3), (&b, 2)] {
        assert_eq!(
            seqs(&store, m.id).await,
            (1..=n).collect::<Vec<u64>>(),
            "chat {}",
            m.id
        );
    }
    let again = store.append(&event(b.id, 2)).await;
    assert_eq!(
        again.err().and_then(|e| e.store_kind()),
        Some(StoreErrorKind::Conflict)
    );
    store.append(&event(b.id, 3)).await.expect("the next one");
    store.close().await;
}
