//! A test helper for the crash test (`tests/it/crash.rs`), not an operator tool.
//!
//! Run with `clbchat-crash-writer <database-url> <conversation-uuid>...` (the key file in
//! `CLBCHAT_KEY_FILE`, if the database needs one named; `CLBCHAT_APPENDS_MOVE_MS=N` to
//! append through the SQLite appends file, copied into the log every N ms): opens the store,
//! creates the conversations that do not exist yet, and then, for every conversation at
//! once, appends messages numbered from the last stored seq + 1, printing
//! `ACK <conversation> <seq>` on stdout (flushed) only after `append` returned `Ok`. It runs
//! until it is killed. Several conversations at once make the group-commit writer batch
//! appends from different conversations into one transaction, as in production.

use std::io::Write;
use std::process::ExitCode;

use chrono::{TimeZone, Utc};
use clbchat_core::event::{ClientProfile, EventBody, LoggedEvent, Role};
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId};
use clbchat_core::store::{ConversationMeta, ConversationState, Store};
use clbchat_store_sql::{SqlOptions, SqlStore};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clbchat-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: clbchat-crash-writer <database-url> <conversation-uuid>...")?;
    let ids = args
        .map(|a| {
            a.parse()
                .map(ConversationId)
                .map_err(|e| format!("`{a}` is not a UUID: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err("name at least one conversation UUID".into());
    }
    let mut options = SqlOptions::new();
    // The key file (a PostgreSQL database needs one named).
    options.key_file = std::env::var_os("CLBCHAT_KEY_FILE").map(Into::into);
    if let Ok(ms) = std::env::var("CLBCHAT_APPENDS_MOVE_MS") {
        let ms: u64 = ms
            .parse()
            .map_err(|e| format!("CLBCHAT_APPENDS_MOVE_MS=`{ms}` is not a number: {e}"))?;
        options.sqlite_appends_file = true;
        options.sqlite_move_interval = std::time::Duration::from_millis(ms);
    }
    let store = SqlStore::connect(&url, options).await?;
    let arrived_at = Utc
        .with_ymd_and_hms(2022, 3, 1, 17, 0, 0)
        .single()
        .ok_or("bad instant")?;
    let mut tasks = Vec::new();
    for id in ids {
        if store.conversation(id).await?.is_none() {
            store
                .put_conversation(&ConversationMeta {
                    id,
                    desk: DeskId::new("national"),
                    pseudonym: None,
                    profile: ClientProfile::default(),
                    state: ConversationState::Active,
                    counsellor: None,
                    arrived_at,
                    started_at: Some(arrived_at),
                    ended_at: None,
                    end_reason: None,
                    resume_token_hash: String::new(),
                })
                .await?;
        }
        let last = store.events_after(id, 0).await?.last().map_or(0, |e| e.seq);
        let store = store.clone();
        tasks.push(tokio::spawn(async move { write(store, id, last).await }));
    }
    for task in tasks {
        task.await
            .map_err(|e| format!("a writer task failed: {e}"))??;
    }
    Ok(())
}

async fn write(store: SqlStore, id: ConversationId, last: u64) -> Result<(), String> {
    for seq in last + 1.. {
        let event = LoggedEvent {
            conversation: id,
            seq,
            at: Utc::now(),
            body: EventBody::Message {
                from: Role::Client,
                author: "crash".into(),
                text: format!("crash test {id} {seq}"),
                client_msg_id: ClientMsgId::new(format!("{id}-{seq}")),
            },
        };
        store
            .append(&event)
            .await
            .map_err(|e| format!("append {id} {seq}: {e}"))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACK {id} {seq}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
