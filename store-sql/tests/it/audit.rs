//! A transcript cannot be read without its audit row: when the row cannot be written, the
//! read fails and returns nothing. (The conformance suite checks the rows themselves.)

use chrono::{TimeZone, Utc};
use clbchat_core::event::{ClientProfile, EventBody, LoggedEvent, Role};
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId, StaffId};
use clbchat_core::store::{ConversationMeta, ConversationState, Store};
use clbchat_store_sql::SqlStore;

use crate::helpers::{transcript_read as read, TestDb};

async fn conversation_with_messages(store: &SqlStore) -> ConversationId {
    let at = Utc
        .with_ymd_and_hms(2022, 3, 1, 17, 0, 0)
        .single()
        .expect("instant");
    let id = ConversationId::random();
    store
        .put_conversation(&ConversationMeta {
            id,
            desk: DeskId::new("national"),
            pseudonym: None,
            profile: ClientProfile::default(),
            state: ConversationState::Active,
            counsellor: Some(StaffId::new("c-anna")),
            arrived_at: at,
            started_at: Some(at),
            ended_at: None,
            end_reason: None,
            resume_token_hash: "h".into(),
        })
        .await
        .expect("put_conversation");
    for seq in 1..=3 {
        let body = EventBody::Message {
            from: Role::Client,
            author: "Vlinder".into(),
            text: format!("geheim {seq}"),
            client_msg_id: ClientMsgId::new(format!("m{seq}")),
        };
        store
            .append(&LoggedEvent {
                conversation: id,
                seq,
                at,
                body,
            })
            .await
            .expect("append");
    }
    id
}

/// With the audit insert refused (by `refuse`), reading fails and returns nothing; once it
/// is allowed again (`allow`), the read works and leaves exactly one row.
async fn refused_audit_means_no_transcript(db: &TestDb, refuse: &[&str], allow: &[&str]) {
    let store = db.open().await;
    let id = conversation_with_messages(&store).await;
    for sql in refuse {
        db.execute(sql).await;
    }
    let r = store.read_transcript(&read(id)).await;
    assert!(
        r.is_err(),
        "a transcript was read although its audit row could not be written: {r:?}"
    );
    assert!(store
        .transcript_reads(id)
        .await
        .expect("transcript_reads")
        .is_empty());

    for sql in allow {
        db.execute(sql).await;
    }
    let events = store
        .read_transcript(&read(id))
        .await
        .expect("read_transcript");
    assert_eq!(events.len(), 3);
    assert_eq!(
        store.transcript_reads(id).await.expect("transcript_reads"),
        vec![read(id)]
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_transcript_is_not_read_without_audit_row() {
    let db = TestDb::sqlite();
    refused_audit_means_no_transcript(
        &db,
        &[
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON transcript_reads \
           BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        ],
        &["DROP TRIGGER refuse_audit"],
    )
    .await;
}

#[tokio::test]
async fn postgres_transcript_is_not_read_without_audit_row() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    refused_audit_means_no_transcript(
        &db,
        &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON transcript_reads \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
        &["DROP TRIGGER refuse_audit ON transcript_reads"],
    )
    .await;
}
