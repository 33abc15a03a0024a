//! Crypto-shredding on real database files: a chat's text never reaches the SQLite file in
//! plain; after the purge, a copy of the database taken before it (a backup) no longer
//! gives the chat's text, because the key that sealed it is gone; text stored plain by an
//! older version is sealed at the next start.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use clbchat_core::event::{ClientProfile, EventBody, LoggedEvent, Role};
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId, StaffId};
use clbchat_core::registration::Rating;
use clbchat_core::review::{EraseRequest, Erasure, Feedback};
use clbchat_core::store::{ConversationMeta, ConversationState, Store, TranscriptRead};
use clbchat_store_sql::SqlStore;

use crate::helpers::{options, TestDb};

/// Words a visitor might write, each unlike anything else in the file.
const SECRETS: [&str; 3] = [
    "mijn-stiefvader-slaat-mij-7Q",
    "ik-woon-in-de-Kerkstraat-12-7Q",
    "niemand-mag-het-weten-7Q",
];
const COMMENT: &str = "dank-je-wel-Anna-7Q";
const FEEDBACK: &str = "mooi-doorgevraagd-over-de-stiefvader-7Q";

fn at(h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 1, h, 0, 0)
        .single()
        .expect("instant")
}

/// A conversation that arrived at 17:00; ended at 18:00 if `ended`.
async fn conversation(store: &SqlStore, ended: bool) -> ConversationId {
    let id = ConversationId::random();
    store
        .put_conversation(&ConversationMeta {
            id,
            desk: DeskId::new("national"),
            pseudonym: None,
            profile: ClientProfile::default(),
            state: if ended {
                ConversationState::Ended
            } else {
                ConversationState::Active
            },
            counsellor: Some(StaffId::new("c-anna")),
            arrived_at: at(17),
            started_at: Some(at(17)),
            ended_at: ended.then(|| at(18)),
            end_reason: None,
            resume_token_hash: "h".into(),
        })
        .await
        .expect("put_conversation");
    id
}

/// A chat that ended at 18:00 with the secrets and a rated comment.
async fn chat(store: &SqlStore) -> ConversationId {
    let id = conversation(store, true).await;
    for (i, text) in SECRETS.iter().enumerate() {
        store
            .append(&LoggedEvent {
                conversation: id,
                seq: i as u64 + 1,
                at: at(17),
                body: EventBody::Message {
                    from: Role::Client,
                    author: "Vlinder".into(),
                    text: (*text).into(),
                    client_msg_id: ClientMsgId::new(format!("m{i}")),
                },
            })
            .await
            .expect("append");
    }
    store
        .save_rating(&Rating {
            conversation: id,
            desk: DeskId::new("national"),
            stars: 5,
            comment: Some(COMMENT.into()),
            rated_at: at(18),
        })
        .await
        .expect("save_rating");
    store
        .put_feedback(&Feedback {
            conversation: id,
            desk: DeskId::new("national"),
            counsellor: StaffId::new("c-anna"),
            asked_at: None,
            question: None,
            written_by: Some(StaffId::new("c-cora")),
            written_at: Some(at(19)),
            text: Some(FEEDBACK.into()),
        })
        .await
        .expect("put_feedback");
    id
}

/// A copy of the database's files, as an operator's backup would take them (the store
/// closed): its directory and the copy's path.
fn backup(db: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("backup.db");
    let name = db.file_name().expect("name").to_string_lossy().into_owned();
    for f in files(db) {
        let file = f
            .file_name()
            .expect("name")
            .to_string_lossy()
            .replace(&name, "backup.db");
        std::fs::copy(&f, dir.path().join(file)).expect("copying the database");
    }
    (dir, copy)
}

/// The backup at `copy`, opened with the live key file of `db`.
async fn open_backup(db: &TestDb, copy: &Path) -> SqlStore {
    let mut o = options();
    o.key_file = Some(db.key_file());
    SqlStore::connect(&format!("sqlite://{}", copy.display()), o)
        .await
        .expect("opening the backup")
}

/// Everything `store` gives of chat `id` that a visitor or a coordinator wrote: the
/// messages, the rating comment, the feedback.
async fn text_of(store: &SqlStore, id: ConversationId) -> Vec<String> {
    let read = store
        .read_transcript(&TranscriptRead {
            conversation: id,
            reader: StaffId::new("c-kim"),
            at: at(23),
            purpose: "a backup restored".into(),
        })
        .await
        .expect("read");
    let mut out = texts(&read);
    out.extend(
        store
            .rating(id)
            .await
            .expect("rating")
            .and_then(|r| r.comment),
    );
    out.extend(
        store
            .feedback(id)
            .await
            .expect("feedback")
            .and_then(|f| f.text),
    );
    out
}

/// The database's files: the file, its write-ahead log, its shared memory.
fn files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut name = db.as_os_str().to_owned();
            name.push(s);
            PathBuf::from(name)
        })
        .filter(|p| p.exists())
        .collect()
}

/// Which of `words` appear in any of the database's files.
fn found_in(db: &Path, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files(db) {
        // A log the last connection removes as it closes may be gone by now.
        let bytes = match std::fs::read(&f) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("reading {}: {e}", f.display()),
        };
        for w in words {
            if bytes.windows(w.len()).any(|win| win == w.as_bytes()) {
                found.push(format!("{w} in {}", f.display()));
            }
        }
    }
    found
}

fn texts(events: &[LoggedEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Message { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_purged_chat_is_unreadable_in_a_backup_taken_before_the_purge() {
    let db = TestDb::sqlite();
    let path = db.sqlite_path().expect("a file");
    let store = db.open().await;
    let id = chat(&store).await;
    assert_eq!(
        texts(&store.events_after(id, 0).await.expect("events")),
        SECRETS
    );
    store.close().await;
    let mut words: Vec<&str> = SECRETS.to_vec();
    words.extend([COMMENT, FEEDBACK]);
    assert_eq!(
        found_in(&path, &words),
        Vec::<String>::new(),
        "the text is never in the database's files in plain"
    );

    let (_dir, copy) = backup(&path);

    // The purge (the chat ended long before the cut-off).
    let store = db.open().await;
    let purged = store.purge_transcripts(at(23)).await.expect("purge");
    assert_eq!(purged, 1);
    store.close().await;

    // The backup with the live key file: the rows are there, the text is not.
    let old = open_backup(&db, &copy).await;
    assert_eq!(
        text_of(&old, id).await,
        Vec::<String>::new(),
        "the backup's text, comment and feedback are unreadable"
    );
    let rating = old
        .rating(id)
        .await
        .expect("rating")
        .expect("the rating stays");
    assert_eq!(rating.stars, 5);
    old.close().await;
    assert_eq!(
        found_in(&copy, &words),
        Vec::<String>::new(),
        "nor is it in the backup's files in plain"
    );
}

#[tokio::test]
async fn a_chat_erased_on_request_is_unreadable_in_a_backup_taken_before() {
    let db = TestDb::sqlite();
    let path = db.sqlite_path().expect("a file");
    let store = db.open().await;
    let id = chat(&store).await;
    let kept = chat(&store).await;
    let mut all: Vec<String> = SECRETS.iter().map(|s| (*s).to_owned()).collect();
    all.extend([COMMENT.to_owned(), FEEDBACK.to_owned()]);
    assert_eq!(text_of(&store, id).await, all);
    store.close().await;
    let (_dir, copy) = backup(&path);

    let store = db.open().await;
    let erased = store
        .erase(&EraseRequest {
            conversation: id,
            pseudonym: None,
            record: Erasure {
                desk: DeskId::new("national"),
                by: StaffId::new("c-anna"),
                at: at(22),
            },
        })
        .await
        .expect("erase");
    assert_eq!(erased, 1);
    assert_eq!(
        text_of(&store, kept).await,
        all,
        "another chat keeps its text"
    );
    store.close().await;

    let old = open_backup(&db, &copy).await;
    assert_eq!(
        text_of(&old, id).await,
        Vec::<String>::new(),
        "the backup taken before the erasure gives none of the erased chat's text"
    );
    assert_eq!(
        text_of(&old, kept).await,
        all,
        "the backup still has the other chat"
    );
    old.close().await;
}

#[tokio::test]
async fn text_stored_plain_by_an_older_version_is_sealed_at_the_next_start() {
    let db = TestDb::sqlite();
    let path = db.sqlite_path().expect("a file");
    let store = db.open().await;
    let id = conversation(&store, false).await;
    store.close().await;
    // As an older version wrote them: the body as plain JSON, and no word yet that
    // everything is sealed.
    let body = serde_json::json!({"type": "message", "from": "client", "author": "Vlinder",
        "text": SECRETS[0], "client_msg_id": "m1"});
    db.execute(&format!(
        "DELETE FROM store_meta WHERE name = 'all_text_sealed'; \
         INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) \
         VALUES (X'{}', 1, 0, 'message', 1, '{}'); \
         INSERT INTO ratings (conversation, desk, stars, comment, rated_at_ns) \
         VALUES (X'{}', 'national', 4, '{COMMENT}', 0)",
        id.0.simple(),
        body,
        id.0.simple(),
    ))
    .await;

    let store = db.open().await;
    assert_eq!(
        texts(&store.events_after(id, 0).await.expect("events")),
        [SECRETS[0]]
    );
    assert_eq!(
        store
            .rating(id)
            .await
            .expect("rating")
            .and_then(|r| r.comment),
        Some(COMMENT.to_owned())
    );
    store.close().await;
    db.execute("VACUUM").await;
    assert_eq!(
        found_in(&path, &[SECRETS[0], COMMENT]),
        Vec::<String>::new(),
        "sealed in place, the plain text overwritten"
    );
}

#[tokio::test]
async fn a_database_opened_without_its_key_file_is_refused_by_name() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    chat(&store).await;
    store.close().await;
    let elsewhere = tempfile::tempdir().expect("dir");
    let missing = elsewhere.path().join("keys.db");
    let mut o = options();
    o.key_file = Some(missing.clone());
    let e = SqlStore::connect(&db.url, o)
        .await
        .expect_err("no key file, no store");
    let text = e.to_string();
    assert!(
        text.contains(&format!("the key file `{}` is missing", missing.display())),
        "{text}"
    );
    assert!(
        !missing.exists(),
        "no new, empty key file was made in its place"
    );
}
