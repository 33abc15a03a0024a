//! The queries both backends share, written once.
//!
//! SQLite and PostgreSQL accept the same SQL for everything but the batched append (see
//! `sqlite.rs` and `postgres.rs`): `$n` parameters, `ON CONFLICT`, `FILTER (WHERE ...)` on
//! aggregates, and the same column values (see [`crate::codec`]). sqlx's types differ per
//! database, so instead of a generic function with a wall of trait bounds, the
//! [`shared_queries!`] macro expands the same code in each backend module for its database
//! type. The expanding module provides a backend struct with `read` and `write` pools, and
//! `begin_read` / `begin_write` functions that open a transaction the way that backend needs.

/// Columns of `conversations`, in the order [`shared_queries!`]'s decoder reads them.
pub(crate) const CONVERSATION_COLUMNS: &str = "id, desk, pseudonym, profile, state, counsellor, \
     arrived_at_ns, started_at_ns, ended_at_ns, end_reason, resume_token_hash";

/// Columns of `flags`.
pub(crate) const FLAG_COLUMNS: &str = "id, pseudonym, desk, kind, status, conversation, \
     raised_by, reviewed_by, created_at_ns, expires_at_ns";

/// Columns of `registrations`.
pub(crate) const REGISTRATION_COLUMNS: &str = "conversation, desk, counsellor, client_type, age, \
     gender, topics, results, found_via, fake_call, registered_at_ns";

/// Appointments with their chats: one row per chat (or one with a null `chat`), to be
/// ordered by appointment and then `position`, and folded by `appointments_from_rows`.
pub(crate) const APPOINTMENTS_WITH_CHATS: &str = "SELECT id, desk, centre, trajectory, \
     counsellor, stand_in, client_name, note, starts_at_ns, length_minutes, status, \
     token_hash, created_at_ns, ac.conversation AS chat FROM appointments \
     LEFT JOIN appointment_chats ac ON ac.appointment = appointments.id";

/// The trajectories whose last appointment ended before `$1` (a subquery).
pub(crate) const TRAJECTORIES_OVER: &str =
    "SELECT trajectory FROM appointments GROUP BY trajectory \
     HAVING max(starts_at_ns + length_minutes * 60000000000) < $1";

/// Reads one column of a row, saying which one failed (`?` inside).
macro_rules! col {
    ($row:expr, $name:literal) => {
        $row.try_get($name)
            .context(concat!("reading column `", $name, "`"))?
    };
}

pub(crate) use col;

/// Expands the shared queries as inherent methods of `$backend`, for database `$db`.
macro_rules! shared_queries {
    ($backend:ty, $db:ty) => {
        use chrono::{DateTime, Utc};
        use clbchat_core::account::Account;
        use clbchat_core::appointment::{Appointment, AppointmentFilter, AppointmentStatus};
        use clbchat_core::calendar::Calendar;
        use clbchat_core::centre::Centre;
        use clbchat_core::event::{ClientProfile, EndReason};
        use clbchat_core::flags::{Flag, FlagStatus};
        use clbchat_core::ids::{
            AppointmentId, CentreId, ConversationId, DeskId, FlagId, StaffId, TrajectoryId,
        };
        use clbchat_core::pseudonym::Pseudonym;
        use clbchat_core::registration::{Rating, Registration};
        use clbchat_core::review::{Erasure, Feedback, FeedbackFilter};
        use clbchat_core::store::{
            ConversationFilter, ConversationMeta, ReadAuditFilter, ReadAuditRow, Summary,
            TranscriptRead,
        };
        use sqlx::Row as _;
        use uuid::Uuid;

        use crate::codec::{self, EventRow};
        use crate::error::{Context as _, Error, Result};
        use crate::queries::{
            APPOINTMENTS_WITH_CHATS, CONVERSATION_COLUMNS, TRAJECTORIES_OVER, FLAG_COLUMNS, REGISTRATION_COLUMNS,
        };

        type DbRow = <$db as sqlx::Database>::Row;

        use crate::queries::col;

        fn conversation_from_row(row: &DbRow) -> Result<ConversationMeta> {
            Ok(ConversationMeta {
                id: ConversationId(col!(row, "id")),
                desk: DeskId(col!(row, "desk")),
                pseudonym: row
                    .try_get::<Option<String>, _>("pseudonym")
                    .context("reading column `pseudonym`")?
                    .map(Pseudonym),
                profile: codec::from_json(&row.try_get::<String, _>("profile").context("reading column `profile`")?, "client profile")?,
                state: codec::from_name(&row.try_get::<String, _>("state").context("reading column `state`")?, "state")?,
                counsellor: row
                    .try_get::<Option<String>, _>("counsellor")
                    .context("reading column `counsellor`")?
                    .map(StaffId),
                arrived_at: codec::instant(col!(row, "arrived_at_ns")),
                started_at: codec::opt_instant(col!(row, "started_at_ns")),
                ended_at: codec::opt_instant(col!(row, "ended_at_ns")),
                end_reason: codec::opt_from_name(col!(row, "end_reason"), "end reason")?,
                resume_token_hash: col!(row, "resume_token_hash"),
            })
        }

        fn event_from_row(row: &DbRow) -> Result<codec::StoredEvent> {
            Ok(codec::StoredEvent {
                conversation: col!(row, "conversation"),
                seq: col!(row, "seq"),
                at_ns: col!(row, "at_ns"),
                body: col!(row, "body"),
            })
        }

        fn read_from_row(row: &DbRow) -> Result<TranscriptRead> {
            Ok(TranscriptRead {
                conversation: ConversationId(col!(row, "conversation")),
                reader: StaffId(col!(row, "reader")),
                at: codec::instant(col!(row, "at_ns")),
                purpose: col!(row, "purpose"),
            })
        }

        fn registration_from_row(row: &DbRow) -> Result<Registration> {
            let age: Option<i16> = col!(row, "age");
            let topics: String = col!(row, "topics");
            let results: String = col!(row, "results");
            let client_type: String = col!(row, "client_type");
            Ok(Registration {
                conversation: ConversationId(col!(row, "conversation")),
                desk: DeskId(col!(row, "desk")),
                counsellor: StaffId(col!(row, "counsellor")),
                client_type: codec::from_name(&client_type, "client type")?,
                age: age.map(|a| codec::small_back(a, "age")).transpose()?,
                gender: codec::opt_from_name(col!(row, "gender"), "gender")?,
                topics: codec::from_json(&topics, "topics")?,
                results: codec::from_json(&results, "results")?,
                found_via: codec::opt_from_name(col!(row, "found_via"), "found via")?,
                fake_call: col!(row, "fake_call"),
                registered_at: codec::instant(col!(row, "registered_at_ns")),
            })
        }

        fn rating_from_row(row: &DbRow) -> Result<Rating> {
            Ok(Rating {
                conversation: ConversationId(col!(row, "conversation")),
                desk: DeskId(col!(row, "desk")),
                stars: codec::small_back(col!(row, "stars"), "stars")?,
                comment: col!(row, "comment"),
                rated_at: codec::instant(col!(row, "rated_at_ns")),
            })
        }

        fn feedback_from_row(row: &DbRow) -> Result<Feedback> {
            let asked: Option<i64> = col!(row, "asked_at_ns");
            let written: Option<i64> = col!(row, "written_at_ns");
            let written_by: Option<String> = col!(row, "written_by");
            Ok(Feedback {
                conversation: ConversationId(col!(row, "conversation")),
                desk: DeskId(col!(row, "desk")),
                counsellor: StaffId(col!(row, "counsellor")),
                asked_at: asked.map(codec::instant),
                question: col!(row, "question"),
                written_by: written_by.map(StaffId),
                written_at: written.map(codec::instant),
                text: col!(row, "text"),
            })
        }

        fn flag_from_row(row: &DbRow) -> Result<Flag> {
            let kind: String = col!(row, "kind");
            let status: String = col!(row, "status");
            Ok(Flag {
                id: FlagId(col!(row, "id")),
                pseudonym: Pseudonym(col!(row, "pseudonym")),
                desk: DeskId(col!(row, "desk")),
                kind: codec::from_name(&kind, "flag kind")?,
                status: codec::from_name(&status, "flag status")?,
                conversation: row
                    .try_get::<Option<Uuid>, _>("conversation")
                    .context("reading column `conversation`")?
                    .map(ConversationId),
                raised_by: row
                    .try_get::<Option<String>, _>("raised_by")
                    .context("reading column `raised_by`")?
                    .map(StaffId),
                reviewed_by: row
                    .try_get::<Option<String>, _>("reviewed_by")
                    .context("reading column `reviewed_by`")?
                    .map(StaffId),
                created_at: codec::instant(col!(row, "created_at_ns")),
                expires_at: codec::instant(col!(row, "expires_at_ns")),
            })
        }

        fn appointment_from_row(row: &DbRow) -> Result<Appointment> {
            let status: String = col!(row, "status");
            let length: i32 = col!(row, "length_minutes");
            Ok(Appointment {
                id: AppointmentId(col!(row, "id")),
                desk: DeskId(col!(row, "desk")),
                centre: CentreId(col!(row, "centre")),
                trajectory: TrajectoryId(col!(row, "trajectory")),
                counsellor: StaffId(col!(row, "counsellor")),
                stand_in: row
                    .try_get::<Option<String>, _>("stand_in")
                    .context("reading column `stand_in`")?
                    .map(StaffId),
                client_name: col!(row, "client_name"),
                note: col!(row, "note"),
                starts_at: codec::instant(col!(row, "starts_at_ns")),
                length_minutes: u32::try_from(length)
                    .map_err(|_| Error::Data(format!("appointment length {length}")))?,
                status: AppointmentStatus::parse(&status)
                    .ok_or_else(|| Error::Data(format!("appointment status `{status}`")))?,
                token_hash: col!(row, "token_hash"),
                conversations: Vec::new(),
                created_at: codec::instant(col!(row, "created_at_ns")),
            })
        }

        /// Folds rows of `APPOINTMENTS_WITH_CHATS` (ordered by appointment, then chat
        /// position) into appointments with their chats.
        fn appointments_from_rows(rows: &[DbRow]) -> Result<Vec<Appointment>> {
            let mut out: Vec<Appointment> = Vec::new();
            for row in rows {
                let id = AppointmentId(col!(row, "id"));
                if out.last().map(|a| a.id) != Some(id) {
                    out.push(appointment_from_row(row)?);
                }
                let chat: Option<Uuid> = col!(row, "chat");
                if let (Some(chat), Some(a)) = (chat, out.last_mut()) {
                    a.conversations.push(ConversationId(chat));
                }
            }
            Ok(out)
        }

        fn centre_from_row(row: &DbRow) -> Result<Centre> {
            let origins: String = col!(row, "origins");
            Ok(Centre {
                id: CentreId(col!(row, "id")),
                name: col!(row, "name"),
                origins: codec::from_json(&origins, "centre websites")?,
                created_at: codec::instant(col!(row, "created_at_ns")),
            })
        }

        fn account_from_row(row: &DbRow) -> Result<Account> {
            let identity: String = col!(row, "identity");
            Ok(Account {
                username: col!(row, "username"),
                password_hash: col!(row, "password_hash"),
                active: col!(row, "active"),
                identity: codec::from_json(&identity, "staff identity")?,
            })
        }

        /// Appends `AND` conditions choosing the conversations of a summary (alias `c`).
        fn push_scope(
            qb: &mut sqlx::QueryBuilder<$db>,
            desk: Option<&DeskId>,
            from: i64,
            until: i64,
        ) {
            qb.push(" c.arrived_at_ns >= ").push_bind(from);
            qb.push(" AND c.arrived_at_ns < ").push_bind(until);
            if let Some(d) = desk {
                qb.push(" AND c.desk = ").push_bind(d.0.as_str());
            }
        }

        impl $backend {
            pub(crate) async fn put_conversation(&self, m: &ConversationMeta) -> Result<()> {
                sqlx::query(
                    "INSERT INTO conversations (id, desk, pseudonym, profile, state, counsellor, \
                     arrived_at_ns, started_at_ns, ended_at_ns, end_reason, resume_token_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (id) DO UPDATE SET desk = excluded.desk, \
                     pseudonym = excluded.pseudonym, profile = excluded.profile, \
                     state = excluded.state, counsellor = excluded.counsellor, \
                     arrived_at_ns = excluded.arrived_at_ns, started_at_ns = excluded.started_at_ns, \
                     ended_at_ns = excluded.ended_at_ns, end_reason = excluded.end_reason, \
                     resume_token_hash = excluded.resume_token_hash",
                )
                .bind(m.id.0)
                .bind(m.desk.0.as_str())
                .bind(m.pseudonym.as_ref().map(|p| p.0.as_str()))
                .bind(codec::json(&m.profile, "client profile")?)
                .bind(m.state.as_str())
                .bind(m.counsellor.as_ref().map(|s| s.0.as_str()))
                .bind(codec::ns(m.arrived_at, "arrival")?)
                .bind(codec::opt_ns(m.started_at, "start")?)
                .bind(codec::opt_ns(m.ended_at, "end")?)
                .bind(codec::opt_name(m.end_reason.as_ref(), "end reason")?)
                .bind(m.resume_token_hash.as_str())
                .execute(&self.write)
                .await
                .context("storing a conversation")?;
                Ok(())
            }

            pub(crate) async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationMeta>> {
                let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.0)
                    .fetch_optional(&self.read)
                    .await
                    .context("reading a conversation")?;
                row.as_ref().map(conversation_from_row).transpose()
            }

            pub(crate) async fn conversations(&self, f: &ConversationFilter) -> Result<Vec<ConversationMeta>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE 1 = 1"
                ));
                if let Some(d) = &f.desk {
                    qb.push(" AND desk = ").push_bind(d.0.as_str());
                }
                if !f.states.is_empty() {
                    qb.push(" AND state IN (");
                    let mut list = qb.separated(", ");
                    for s in &f.states {
                        list.push_bind(s.as_str());
                    }
                    list.push_unseparated(")");
                }
                if let Some(t) = f.arrived_from {
                    qb.push(" AND arrived_at_ns >= ").push_bind(codec::ns(t, "filter start")?);
                }
                if let Some(t) = f.arrived_until {
                    qb.push(" AND arrived_at_ns < ").push_bind(codec::ns(t, "filter end")?);
                }
                if let Some(s) = &f.counsellor {
                    qb.push(" AND counsellor = ").push_bind(s.0.as_str());
                }
                if f.with_transcript {
                    qb.push(
                        " AND EXISTS (SELECT 1 FROM events e WHERE e.conversation = conversations.id \
                         AND e.has_text = ",
                    )
                    .push_bind(true)
                    .push(")");
                }
                qb.push(" ORDER BY arrived_at_ns DESC, id ASC");
                if let Some(limit) = f.limit {
                    qb.push(" LIMIT ").push_bind(i64::from(limit));
                }
                let rows = qb.build().fetch_all(&self.read).await.context("listing conversations")?;
                rows.iter().map(conversation_from_row).collect()
            }

            pub(crate) async fn events_after(&self, id: ConversationId, after: u64) -> Result<Vec<codec::StoredEvent>> {
                // Beyond i64::MAX nothing can follow.
                let Ok(after) = i64::try_from(after) else { return Ok(Vec::new()) };
                let rows = sqlx::query(
                    "SELECT conversation, seq, at_ns, body FROM events \
                     WHERE conversation = $1 AND seq > $2 ORDER BY seq",
                )
                .bind(id.0)
                .bind(after)
                .fetch_all(&self.read)
                .await
                .context("reading a conversation's events")?;
                rows.iter().map(event_from_row).collect()
            }

            pub(crate) async fn read_transcript(&self, read: &TranscriptRead) -> Result<Vec<codec::StoredEvent>> {
                // The audit row and the read are one transaction: no row, no transcript.
                let mut tx = begin_write(&self.write).await.context("starting a transcript read")?;
                let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE id = $1")
                    .bind(read.conversation.0)
                    .fetch_one(&mut *tx)
                    .await
                    .context("reading a transcript")?;
                if exists == 0 {
                    return Err(Error::NotFound(format!("no conversation {}", read.conversation)));
                }
                sqlx::query(
                    "INSERT INTO transcript_reads (conversation, reader, at_ns, purpose) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(read.conversation.0)
                .bind(read.reader.0.as_str())
                .bind(codec::ns(read.at, "read time")?)
                .bind(read.purpose.as_str())
                .execute(&mut *tx)
                .await
                .context("writing the audit row of a transcript read")?;
                let rows = sqlx::query(
                    "SELECT conversation, seq, at_ns, body FROM events \
                     WHERE conversation = $1 ORDER BY seq",
                )
                .bind(read.conversation.0)
                .fetch_all(&mut *tx)
                .await
                .context("reading a transcript")?;
                let events = rows.iter().map(event_from_row).collect::<Result<Vec<_>>>()?;
                tx.commit().await.context("committing a transcript read")?;
                Ok(events)
            }

            pub(crate) async fn transcript_reads(&self, id: ConversationId) -> Result<Vec<TranscriptRead>> {
                let rows = sqlx::query(
                    "SELECT conversation, reader, at_ns, purpose FROM transcript_reads \
                     WHERE conversation = $1 ORDER BY at_ns, id",
                )
                .bind(id.0)
                .fetch_all(&self.read)
                .await
                .context("reading the audit rows")?;
                rows.iter().map(read_from_row).collect()
            }

            pub(crate) async fn read_audit(&self, f: &ReadAuditFilter) -> Result<Vec<ReadAuditRow>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT r.conversation, r.reader, r.at_ns, r.purpose, c.desk, c.counsellor \
                     FROM transcript_reads r JOIN conversations c ON c.id = r.conversation \
                     WHERE r.at_ns >= ",
                );
                qb.push_bind(codec::ns(f.from, "audit start")?);
                qb.push(" AND r.at_ns < ").push_bind(codec::ns(f.to, "audit end")?);
                if let Some(d) = &f.desk {
                    qb.push(" AND c.desk = ").push_bind(d.0.as_str());
                }
                if let Some(s) = &f.reader {
                    qb.push(" AND r.reader = ").push_bind(s.0.as_str());
                }
                if let Some(p) = &f.purpose {
                    // `chat_scan` or `chat_scan: …`; the name holds no LIKE wildcards that
                    // matter (`_` matches itself too).
                    qb.push(" AND (r.purpose = ").push_bind(p.clone());
                    qb.push(" OR r.purpose LIKE ").push_bind(format!("{p}:%")).push(")");
                }
                qb.push(" ORDER BY r.at_ns DESC, r.id DESC LIMIT ").push_bind(i64::from(f.limit));
                let rows = qb.build().fetch_all(&self.read).await.context("reading the read audit")?;
                rows.iter()
                    .map(|row| {
                        let desk: String = col!(row, "desk");
                        let counsellor: Option<String> = col!(row, "counsellor");
                        Ok(ReadAuditRow {
                            read: read_from_row(row)?,
                            desk: DeskId::new(desk),
                            counsellor: counsellor.map(StaffId::new),
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            }

            /// The conversations whose transcript the purge takes: ended before `ended_before`,
            /// with rows left, not a blended chat's (those follow their client file).
            pub(crate) async fn purgeable_transcripts(&self, ended_before: DateTime<Utc>) -> Result<Vec<Uuid>> {
                let before = codec::ns(ended_before, "purge cut-off")?;
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT c.id FROM conversations c WHERE c.ended_at_ns < $1 \
                     AND EXISTS (SELECT 1 FROM events e WHERE e.conversation = c.id) \
                     AND c.id NOT IN (SELECT conversation FROM appointment_chats)",
                )
                .bind(before)
                .fetch_all(&self.read)
                .await
                .context("finding transcripts to purge")?;
                Ok(ids)
            }

            pub(crate) async fn forget_visits(&self, arrived_before: DateTime<Utc>) -> Result<u64> {
                let done = sqlx::query(
                    "UPDATE conversations SET pseudonym = NULL \
                     WHERE pseudonym IS NOT NULL AND arrived_at_ns < $1",
                )
                .bind(codec::ns(arrived_before, "history cut-off")?)
                .execute(&self.write)
                .await
                .context("forgetting old visits")?;
                Ok(done.rows_affected())
            }

            /// Deletes the transcripts of `ids`, their rating's comment and the visitor's
            /// nickname, in one transaction.
            pub(crate) async fn delete_transcripts(&self, ids: &[Uuid]) -> Result<()> {
                let mut tx = begin_write(&self.write).await.context("starting a purge")?;
                for id in ids {
                    let profile: Option<String> =
                        sqlx::query_scalar("SELECT profile FROM conversations WHERE id = $1")
                            .bind(*id)
                            .fetch_optional(&mut *tx)
                            .await
                            .context("reading a profile to purge")?;
                    if let Some(profile) = profile {
                        let mut p: ClientProfile = codec::from_json(&profile, "client profile")?;
                        if p.nickname.take().is_some() {
                            sqlx::query("UPDATE conversations SET profile = $2 WHERE id = $1")
                                .bind(*id)
                                .bind(codec::json(&p, "client profile")?)
                                .execute(&mut *tx)
                                .await
                                .context("purging a nickname")?;
                        }
                    }
                    sqlx::query("DELETE FROM events WHERE conversation = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await
                        .context("purging transcripts")?;
                    sqlx::query("UPDATE ratings SET comment = NULL WHERE conversation = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await
                        .context("purging rating comments")?;
                    sqlx::query("DELETE FROM feedback WHERE conversation = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await
                        .context("purging feedback")?;
                }
                tx.commit().await.context("committing a purge")?;
                Ok(())
            }

            /// The chats of the client files the purge takes: every chat of a trajectory
            /// whose last appointment ended before `last_ended_before`.
            pub(crate) async fn client_file_chats(&self, last_ended_before: DateTime<Utc>) -> Result<Vec<Uuid>> {
                let before = codec::ns(last_ended_before, "client file cut-off")?;
                let ids: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT ac.conversation FROM appointment_chats ac \
                     JOIN appointments a ON a.id = ac.appointment \
                     WHERE a.trajectory IN ({TRAJECTORIES_OVER})"
                )))
                .bind(before)
                .fetch_all(&self.read)
                .await
                .context("finding the chats of client files to purge")?;
                Ok(ids)
            }

            /// What the store recorded under `name` (see `store_meta`).
            pub(crate) async fn meta(&self, name: &str) -> Result<Option<String>> {
                let value: Option<String> = sqlx::query_scalar("SELECT value FROM store_meta WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.write)
                    .await
                    .context("reading what the store recorded about itself")?;
                Ok(value)
            }

            /// Records `value` under `name`, unless something is recorded there already.
            pub(crate) async fn set_meta(&self, name: &str, value: &str) -> Result<()> {
                sqlx::query("INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(value)
                    .execute(&self.write)
                    .await
                    .context("recording the store's key file")?;
                Ok(())
            }

            /// Up to `limit` rows with text stored plain (written before sealing existed).
            pub(crate) async fn plain_text_events(&self, limit: i64) -> Result<Vec<codec::StoredEvent>> {
                let rows = sqlx::query(
                    "SELECT conversation, seq, at_ns, body FROM events \
                     WHERE has_text = $1 AND body NOT LIKE '~%' LIMIT $2",
                )
                .bind(true)
                .bind(limit)
                .fetch_all(&self.write)
                .await
                .context("finding text stored plain")?;
                rows.iter().map(event_from_row).collect()
            }

            /// Up to `limit` rating comments stored plain: (conversation, comment).
            pub(crate) async fn plain_comments(&self, limit: i64) -> Result<Vec<(Uuid, String)>> {
                let rows = sqlx::query(
                    "SELECT conversation, comment FROM ratings \
                     WHERE comment IS NOT NULL AND comment NOT LIKE '~%' LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.write)
                .await
                .context("finding rating comments stored plain")?;
                rows.iter()
                    .map(|row| Ok((col!(row, "conversation"), col!(row, "comment"))))
                    .collect()
            }

            /// Replaces stored bodies and comments with their sealed form, in one transaction.
            pub(crate) async fn reseal(&self, events: &[codec::StoredEvent], comments: &[(Uuid, String)]) -> Result<()> {
                let mut tx = begin_write(&self.write).await.context("starting to seal stored text")?;
                for e in events {
                    sqlx::query("UPDATE events SET body = $3 WHERE conversation = $1 AND seq = $2")
                        .bind(e.conversation)
                        .bind(e.seq)
                        .bind(e.body.as_str())
                        .execute(&mut *tx)
                        .await
                        .context("sealing stored text")?;
                }
                for (c, comment) in comments {
                    sqlx::query("UPDATE ratings SET comment = $2 WHERE conversation = $1")
                        .bind(*c)
                        .bind(comment.as_str())
                        .execute(&mut *tx)
                        .await
                        .context("sealing a stored rating comment")?;
                }
                tx.commit().await.context("committing sealed text")?;
                Ok(())
            }

            pub(crate) async fn purge_client_files(&self, last_ended_before: DateTime<Utc>) -> Result<u64> {
                let before = codec::ns(last_ended_before, "client file cut-off")?;
                let chats = format!(
                    "SELECT ac.conversation FROM appointment_chats ac \
                     JOIN appointments a ON a.id = ac.appointment \
                     WHERE a.trajectory IN ({TRAJECTORIES_OVER})"
                );
                let mut tx = begin_write(&self.write).await.context("starting a client file purge")?;
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(DISTINCT trajectory) FROM appointments \
                     WHERE client_name <> '' AND trajectory IN ({TRAJECTORIES_OVER})"
                )))
                .bind(before)
                .fetch_one(&mut *tx)
                .await
                .context("counting client files to purge")?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM events WHERE conversation IN ({chats})"
                )))
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .context("purging the transcripts of client files")?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM feedback WHERE conversation IN ({chats})"
                )))
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .context("purging the feedback on client files")?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE conversations SET profile = $2 WHERE id IN ({chats})"
                )))
                .bind(before)
                .bind(codec::json(&ClientProfile::default(), "client profile")?)
                .execute(&mut *tx)
                .await
                .context("purging the client's name from their chats")?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE appointments SET client_name = '', note = NULL \
                     WHERE trajectory IN ({TRAJECTORIES_OVER})"
                )))
                .bind(before)
                .execute(&mut *tx)
                .await
                .context("purging the client's name from their appointments")?;
                tx.commit().await.context("committing a client file purge")?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            /// The ended chats an erasure takes: `conversation` and every ended chat of
            /// `pseudonym`.
            pub(crate) async fn erasable_chats(&self, conversation: Uuid, pseudonym: Option<&str>) -> Result<Vec<Uuid>> {
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM conversations WHERE state = $1                      AND (id = $2 OR ($3 IS NOT NULL AND pseudonym = $3))",
                )
                .bind(clbchat_core::store::ConversationState::Ended.as_str())
                .bind(conversation)
                .bind(pseudonym)
                .fetch_all(&self.write)
                .await
                .context("finding the chats to erase")?;
                Ok(ids)
            }

            /// Erases `ids` (their keys already destroyed) and the pseudonym's flags, and
            /// writes the audit row, in one transaction.
            pub(crate) async fn erase(&self, ids: &[Uuid], pseudonym: Option<&str>, record: &Erasure) -> Result<()> {
                let empty = codec::json(&ClientProfile::default(), "client profile")?;
                let mut tx = begin_write(&self.write).await.context("starting an erasure")?;
                for id in ids {
                    for sql in [
                        "DELETE FROM events WHERE conversation = $1",
                        "DELETE FROM feedback WHERE conversation = $1",
                        "DELETE FROM flags WHERE conversation = $1",
                        "UPDATE ratings SET comment = NULL WHERE conversation = $1",
                    ] {
                        sqlx::query(sql)
                            .bind(*id)
                            .execute(&mut *tx)
                            .await
                            .context("erasing a chat")?;
                    }
                    sqlx::query("UPDATE conversations SET profile = $2, pseudonym = NULL WHERE id = $1")
                        .bind(*id)
                        .bind(empty.as_str())
                        .execute(&mut *tx)
                        .await
                        .context("erasing a chat's visitor")?;
                }
                if let Some(p) = pseudonym {
                    sqlx::query("DELETE FROM flags WHERE pseudonym = $1")
                        .bind(p)
                        .execute(&mut *tx)
                        .await
                        .context("erasing a visitor's flags")?;
                }
                sqlx::query("INSERT INTO erasures (desk, by_staff, at_ns) VALUES ($1, $2, $3)")
                    .bind(record.desk.0.as_str())
                    .bind(record.by.0.as_str())
                    .bind(codec::ns(record.at, "erasure time")?)
                    .execute(&mut *tx)
                    .await
                    .context("writing the erasure's audit row")?;
                tx.commit().await.context("committing an erasure")?;
                Ok(())
            }

            pub(crate) async fn erasures(&self, desk: Option<&DeskId>, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Erasure>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT desk, by_staff, at_ns FROM erasures WHERE at_ns >= ",
                );
                qb.push_bind(codec::ns(from, "from")?);
                qb.push(" AND at_ns < ").push_bind(codec::ns(to, "to")?);
                if let Some(d) = desk {
                    qb.push(" AND desk = ").push_bind(d.0.as_str());
                }
                qb.push(" ORDER BY at_ns DESC");
                let rows = qb.build().fetch_all(&self.read).await.context("listing erasures")?;
                rows.iter()
                    .map(|row| {
                        Ok(Erasure {
                            desk: DeskId(col!(row, "desk")),
                            by: StaffId(col!(row, "by_staff")),
                            at: codec::instant(col!(row, "at_ns")),
                        })
                    })
                    .collect()
            }

            /// Stores feedback whose texts are sealed already.
            pub(crate) async fn put_feedback(&self, f: &Feedback) -> Result<()> {
                let changed = f.changed_at().ok_or_else(|| {
                    Error::Data("feedback with neither a question nor a text".into())
                })?;
                sqlx::query(
                    "INSERT INTO feedback (conversation, desk, counsellor, asked_at_ns, question,                      written_by, written_at_ns, text, changed_at_ns)                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)                      ON CONFLICT (conversation) DO UPDATE SET desk = excluded.desk,                      counsellor = excluded.counsellor, asked_at_ns = excluded.asked_at_ns,                      question = excluded.question, written_by = excluded.written_by,                      written_at_ns = excluded.written_at_ns, text = excluded.text,                      changed_at_ns = excluded.changed_at_ns",
                )
                .bind(f.conversation.0)
                .bind(f.desk.0.as_str())
                .bind(f.counsellor.0.as_str())
                .bind(f.asked_at.map(|t| codec::ns(t, "asked at")).transpose()?)
                .bind(f.question.as_deref())
                .bind(f.written_by.as_ref().map(|s| s.0.as_str()))
                .bind(f.written_at.map(|t| codec::ns(t, "written at")).transpose()?)
                .bind(f.text.as_deref())
                .bind(codec::ns(changed, "changed at")?)
                .execute(&self.write)
                .await
                .context("storing feedback")?;
                Ok(())
            }

            pub(crate) async fn feedback(&self, id: ConversationId) -> Result<Option<Feedback>> {
                let row = sqlx::query("SELECT * FROM feedback WHERE conversation = $1")
                    .bind(id.0)
                    .fetch_optional(&self.read)
                    .await
                    .context("reading feedback")?;
                row.as_ref().map(feedback_from_row).transpose()
            }

            pub(crate) async fn feedback_list(&self, f: &FeedbackFilter) -> Result<Vec<Feedback>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT * FROM feedback WHERE 1 = 1");
                if let Some(d) = &f.desk {
                    qb.push(" AND desk = ").push_bind(d.0.as_str());
                }
                if let Some(c) = &f.counsellor {
                    qb.push(" AND counsellor = ").push_bind(c.0.as_str());
                }
                qb.push(" ORDER BY changed_at_ns DESC, conversation DESC LIMIT ")
                    .push_bind(i64::from(f.limit));
                let rows = qb.build().fetch_all(&self.read).await.context("listing feedback")?;
                rows.iter().map(feedback_from_row).collect()
            }

            pub(crate) async fn save_registration(&self, r: &Registration) -> Result<()> {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO registrations ({REGISTRATION_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (conversation) DO NOTHING"
                )))
                .bind(r.conversation.0)
                .bind(r.desk.0.as_str())
                .bind(r.counsellor.0.as_str())
                .bind(codec::name(&r.client_type, "client type")?)
                .bind(r.age.map(codec::small))
                .bind(codec::opt_name(r.gender.as_ref(), "gender")?)
                .bind(codec::json(&r.topics, "topics")?)
                .bind(codec::json(&r.results, "results")?)
                .bind(codec::opt_name(r.found_via.as_ref(), "found via")?)
                .bind(r.fake_call)
                .bind(codec::ns(r.registered_at, "registration time")?)
                .execute(&self.write)
                .await
                .context("storing a registration")?;
                if done.rows_affected() == 0 {
                    return Err(Error::Conflict(format!(
                        "conversation {} is already registered",
                        r.conversation
                    )));
                }
                Ok(())
            }

            pub(crate) async fn registration(&self, id: ConversationId) -> Result<Option<Registration>> {
                let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE conversation = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.0)
                    .fetch_optional(&self.read)
                    .await
                    .context("reading a registration")?;
                row.as_ref().map(registration_from_row).transpose()
            }

            pub(crate) async fn save_rating(&self, r: &Rating) -> Result<()> {
                let done = sqlx::query(
                    "INSERT INTO ratings (conversation, desk, stars, comment, rated_at_ns) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation) DO NOTHING",
                )
                .bind(r.conversation.0)
                .bind(r.desk.0.as_str())
                .bind(codec::small(r.stars))
                .bind(r.comment.as_deref())
                .bind(codec::ns(r.rated_at, "rating time")?)
                .execute(&self.write)
                .await
                .context("storing a rating")?;
                if done.rows_affected() == 0 {
                    return Err(Error::Conflict(format!(
                        "conversation {} is already rated",
                        r.conversation
                    )));
                }
                Ok(())
            }

            pub(crate) async fn rating(&self, id: ConversationId) -> Result<Option<Rating>> {
                let row = sqlx::query(
                    "SELECT conversation, desk, stars, comment, rated_at_ns FROM ratings \
                     WHERE conversation = $1",
                )
                .bind(id.0)
                .fetch_optional(&self.read)
                .await
                .context("reading a rating")?;
                row.as_ref().map(rating_from_row).transpose()
            }

            pub(crate) async fn count_visits(&self, p: &Pseudonym, since: DateTime<Utc>) -> Result<u32> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM conversations WHERE pseudonym = $1 AND arrived_at_ns >= $2",
                )
                .bind(p.0.as_str())
                .bind(codec::ns(since, "since")?)
                .fetch_one(&self.read)
                .await
                .context("counting visits")?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            }

            pub(crate) async fn put_flag(&self, f: &Flag) -> Result<()> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO flags ({FLAG_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET pseudonym = excluded.pseudonym, \
                     desk = excluded.desk, kind = excluded.kind, status = excluded.status, \
                     conversation = excluded.conversation, raised_by = excluded.raised_by, \
                     reviewed_by = excluded.reviewed_by, created_at_ns = excluded.created_at_ns, \
                     expires_at_ns = excluded.expires_at_ns"
                )))
                .bind(f.id.0)
                .bind(f.pseudonym.0.as_str())
                .bind(f.desk.0.as_str())
                .bind(codec::name(&f.kind, "flag kind")?)
                .bind(codec::name(&f.status, "flag status")?)
                .bind(f.conversation.map(|c| c.0))
                .bind(f.raised_by.as_ref().map(|s| s.0.as_str()))
                .bind(f.reviewed_by.as_ref().map(|s| s.0.as_str()))
                .bind(codec::ns(f.created_at, "flag time")?)
                .bind(codec::ns(f.expires_at, "flag expiry")?)
                .execute(&self.write)
                .await
                .context("storing a flag")?;
                Ok(())
            }

            pub(crate) async fn flag(&self, id: FlagId) -> Result<Option<Flag>> {
                let sql = format!("SELECT {FLAG_COLUMNS} FROM flags WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.0)
                    .fetch_optional(&self.read)
                    .await
                    .context("reading a flag")?;
                row.as_ref().map(flag_from_row).transpose()
            }

            pub(crate) async fn flags_for(&self, p: &Pseudonym) -> Result<Vec<Flag>> {
                let sql = format!(
                    "SELECT {FLAG_COLUMNS} FROM flags WHERE pseudonym = $1 ORDER BY created_at_ns, id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(p.0.as_str())
                    .fetch_all(&self.read)
                    .await
                    .context("reading a visitor's flags")?;
                rows.iter().map(flag_from_row).collect()
            }

            pub(crate) async fn flags_to_review(&self, desk: Option<&DeskId>, now: DateTime<Utc>) -> Result<Vec<Flag>> {
                let open = codec::name(&FlagStatus::Open, "flag status")?;
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {FLAG_COLUMNS} FROM flags WHERE status = "
                ));
                qb.push_bind(open);
                qb.push(" AND expires_at_ns > ").push_bind(codec::ns(now, "now")?);
                if let Some(d) = desk {
                    qb.push(" AND desk = ").push_bind(d.0.as_str());
                }
                qb.push(" ORDER BY created_at_ns, id");
                let rows = qb.build().fetch_all(&self.read).await.context("listing flags to review")?;
                rows.iter().map(flag_from_row).collect()
            }

            pub(crate) async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> Result<()> {
                let mut tx = begin_write(&self.write).await.context("starting a pseudonym rekey")?;
                sqlx::query("UPDATE conversations SET pseudonym = $1 WHERE pseudonym = $2")
                    .bind(new.0.as_str())
                    .bind(old.0.as_str())
                    .execute(&mut *tx)
                    .await
                    .context("rekeying conversations")?;
                sqlx::query("UPDATE flags SET pseudonym = $1 WHERE pseudonym = $2")
                    .bind(new.0.as_str())
                    .bind(old.0.as_str())
                    .execute(&mut *tx)
                    .await
                    .context("rekeying flags")?;
                tx.commit().await.context("committing a pseudonym rekey")?;
                Ok(())
            }

            pub(crate) async fn put_account(&self, a: &Account) -> Result<()> {
                sqlx::query(
                    "INSERT INTO accounts (username, password_hash, active, identity) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET \
                     password_hash = excluded.password_hash, active = excluded.active, \
                     identity = excluded.identity",
                )
                .bind(a.username.as_str())
                .bind(a.password_hash.as_str())
                .bind(a.active)
                .bind(codec::json(&a.identity, "staff identity")?)
                .execute(&self.write)
                .await
                .context("storing an account")?;
                Ok(())
            }

            pub(crate) async fn account(&self, username: &str) -> Result<Option<Account>> {
                let row = sqlx::query(
                    "SELECT username, password_hash, active, identity FROM accounts WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(&self.read)
                .await
                .context("reading an account")?;
                row.as_ref().map(account_from_row).transpose()
            }

            pub(crate) async fn accounts(&self) -> Result<Vec<Account>> {
                let rows = sqlx::query(
                    "SELECT username, password_hash, active, identity FROM accounts ORDER BY username",
                )
                .fetch_all(&self.read)
                .await
                .context("listing accounts")?;
                rows.iter().map(account_from_row).collect()
            }

            pub(crate) async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> Result<()> {
                sqlx::query(
                    "INSERT INTO calendars (desk, calendar) VALUES ($1, $2) \
                     ON CONFLICT (desk) DO UPDATE SET calendar = excluded.calendar",
                )
                .bind(desk.0.as_str())
                .bind(codec::json(calendar, "calendar")?)
                .execute(&self.write)
                .await
                .context("storing a calendar")?;
                Ok(())
            }

            pub(crate) async fn calendar(&self, desk: &DeskId) -> Result<Option<Calendar>> {
                let text: Option<String> =
                    sqlx::query_scalar("SELECT calendar FROM calendars WHERE desk = $1")
                        .bind(desk.0.as_str())
                        .fetch_optional(&self.read)
                        .await
                        .context("reading a calendar")?;
                text.map(|t| codec::from_json(&t, "calendar")).transpose()
            }

            pub(crate) async fn calendars(&self) -> Result<Vec<(DeskId, Calendar)>> {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT desk, calendar FROM calendars ORDER BY desk")
                        .fetch_all(&self.read)
                        .await
                        .context("reading the calendars")?;
                rows.into_iter()
                    .map(|(desk, text)| Ok((DeskId::new(desk), codec::from_json(&text, "calendar")?)))
                    .collect()
            }

            pub(crate) async fn put_centre(&self, c: &Centre) -> Result<()> {
                sqlx::query(
                    "INSERT INTO centres (id, name, origins, created_at_ns) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     origins = excluded.origins, created_at_ns = excluded.created_at_ns",
                )
                .bind(c.id.0.as_str())
                .bind(c.name.as_str())
                .bind(codec::json(&c.origins, "centre websites")?)
                .bind(codec::ns(c.created_at, "centre created")?)
                .execute(&self.write)
                .await
                .context("storing a centre")?;
                Ok(())
            }

            pub(crate) async fn centre(&self, id: &CentreId) -> Result<Option<Centre>> {
                let row = sqlx::query(
                    "SELECT id, name, origins, created_at_ns FROM centres WHERE id = $1",
                )
                .bind(id.0.as_str())
                .fetch_optional(&self.read)
                .await
                .context("reading a centre")?;
                row.as_ref().map(centre_from_row).transpose()
            }

            pub(crate) async fn centres(&self) -> Result<Vec<Centre>> {
                let rows = sqlx::query(
                    "SELECT id, name, origins, created_at_ns FROM centres ORDER BY id",
                )
                .fetch_all(&self.read)
                .await
                .context("listing centres")?;
                rows.iter().map(centre_from_row).collect()
            }

            pub(crate) async fn put_appointment(&self, a: &Appointment) -> Result<()> {
                let length = i32::try_from(a.length_minutes)
                    .map_err(|_| Error::Data(format!("appointment length {}", a.length_minutes)))?;
                let mut tx = begin_write(&self.write).await.context("starting to store an appointment")?;
                sqlx::query(
                    "INSERT INTO appointments (id, desk, centre, trajectory, counsellor, stand_in, \
                     client_name, note, starts_at_ns, length_minutes, status, token_hash, \
                     created_at_ns) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (id) DO UPDATE SET desk = excluded.desk, \
                     centre = excluded.centre, trajectory = excluded.trajectory, \
                     counsellor = excluded.counsellor, stand_in = excluded.stand_in, \
                     client_name = excluded.client_name, note = excluded.note, \
                     starts_at_ns = excluded.starts_at_ns, \
                     length_minutes = excluded.length_minutes, status = excluded.status, \
                     token_hash = excluded.token_hash, created_at_ns = excluded.created_at_ns",
                )
                .bind(a.id.0)
                .bind(a.desk.0.as_str())
                .bind(a.centre.0.as_str())
                .bind(a.trajectory.0)
                .bind(a.counsellor.0.as_str())
                .bind(a.stand_in.as_ref().map(|s| s.0.as_str()))
                .bind(a.client_name.as_str())
                .bind(a.note.as_deref())
                .bind(codec::ns(a.starts_at, "appointment start")?)
                .bind(length)
                .bind(a.status.as_str())
                .bind(a.token_hash.as_str())
                .bind(codec::ns(a.created_at, "appointment planned")?)
                .execute(&mut *tx)
                .await
                .context("storing an appointment")?;
                sqlx::query("DELETE FROM appointment_chats WHERE appointment = $1")
                    .bind(a.id.0)
                    .execute(&mut *tx)
                    .await
                    .context("storing an appointment's chats")?;
                for (position, chat) in a.conversations.iter().enumerate() {
                    let position = i32::try_from(position)
                        .map_err(|_| Error::Data(format!("appointment chat {position}")))?;
                    sqlx::query(
                        "INSERT INTO appointment_chats (conversation, appointment, position) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(chat.0)
                    .bind(a.id.0)
                    .bind(position)
                    .execute(&mut *tx)
                    .await
                    .context("storing an appointment's chats")?;
                }
                tx.commit().await.context("committing an appointment")?;
                Ok(())
            }

            pub(crate) async fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>> {
                let sql = format!("{APPOINTMENTS_WITH_CHATS} WHERE id = $1 ORDER BY ac.position");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.0)
                    .fetch_all(&self.read)
                    .await
                    .context("reading an appointment")?;
                Ok(appointments_from_rows(&rows)?.pop())
            }

            pub(crate) async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>> {
                let sql = format!(
                    "{APPOINTMENTS_WITH_CHATS} WHERE token_hash = $1 ORDER BY ac.position"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .fetch_all(&self.read)
                    .await
                    .context("reading an appointment by its link")?;
                Ok(appointments_from_rows(&rows)?.pop())
            }

            pub(crate) async fn appointments(&self, f: &AppointmentFilter) -> Result<Vec<Appointment>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "{APPOINTMENTS_WITH_CHATS} WHERE 1 = 1"
                ));
                if let Some(s) = &f.staff {
                    qb.push(" AND (counsellor = ").push_bind(s.0.as_str());
                    qb.push(" OR stand_in = ").push_bind(s.0.as_str()).push(")");
                }
                if let Some(c) = &f.centre {
                    qb.push(" AND centre = ").push_bind(c.0.as_str());
                }
                if let Some(t) = f.trajectory {
                    qb.push(" AND trajectory = ").push_bind(t.0);
                }
                if let Some(t) = f.ending_after {
                    qb.push(" AND starts_at_ns + length_minutes * 60000000000 > ")
                        .push_bind(codec::ns(t, "filter start")?);
                }
                if let Some(t) = f.starting_before {
                    qb.push(" AND starts_at_ns < ").push_bind(codec::ns(t, "filter end")?);
                }
                if !f.include_cancelled {
                    qb.push(" AND status = 'planned'");
                }
                qb.push(" ORDER BY starts_at_ns ASC, id ASC, ac.position ASC");
                let rows = qb.build().fetch_all(&self.read).await.context("listing appointments")?;
                appointments_from_rows(&rows)
            }

            pub(crate) async fn summary(
                &self,
                desk: Option<&DeskId>,
                from: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<Summary> {
                let from = codec::ns(from, "summary start")?;
                let until = codec::ns(until, "summary end")?;
                let abandoned = codec::name(&EndReason::AbandonedInQueue, "end reason")?;
                let closing = codec::name(&EndReason::ClosedAtClosingTime, "end reason")?;
                // One snapshot for all four queries.
                let mut tx = begin_read(&self.read).await.context("starting a summary")?;

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT count(*) AS arrivals, count(c.started_at_ns) AS served, \
                     count(*) FILTER (WHERE c.end_reason = ",
                );
                qb.push_bind(abandoned.as_str());
                qb.push(") AS abandoned, count(*) FILTER (WHERE c.end_reason = ");
                qb.push_bind(closing.as_str());
                qb.push(
                    ") AS closing, \
                     CAST(avg(c.ended_at_ns - c.started_at_ns) FILTER (WHERE c.started_at_ns IS NOT NULL \
                       AND c.ended_at_ns IS NOT NULL AND c.end_reason IS NOT NULL) AS DOUBLE PRECISION) \
                       AS mean_duration_ns, \
                     CAST(avg(c.started_at_ns - c.arrived_at_ns) FILTER (WHERE c.started_at_ns IS NOT NULL) \
                       AS DOUBLE PRECISION) AS mean_wait_ns \
                     FROM conversations c WHERE",
                );
                push_scope(&mut qb, desk, from, until);
                let row = qb.build().fetch_one(&mut *tx).await.context("summarising conversations")?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let secs = |ns: Option<f64>| ns.map(|ns| ns / 1e9);
                let mut s = Summary {
                    arrivals: count(col!(row, "arrivals")),
                    served: count(col!(row, "served")),
                    abandoned_in_queue: count(col!(row, "abandoned")),
                    closed_at_closing_time: count(col!(row, "closing")),
                    mean_duration_secs: secs(col!(row, "mean_duration_ns")),
                    mean_wait_secs: secs(col!(row, "mean_wait_ns")),
                    ..Summary::default()
                };

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT c.end_reason AS reason, count(*) AS n FROM conversations c \
                     WHERE c.started_at_ns IS NOT NULL AND c.ended_at_ns IS NOT NULL \
                     AND c.end_reason IS NOT NULL AND",
                );
                push_scope(&mut qb, desk, from, until);
                qb.push(" GROUP BY c.end_reason");
                let rows = qb.build().fetch_all(&mut *tx).await.context("counting end reasons")?;
                let mut reasons = Vec::with_capacity(rows.len());
                for row in &rows {
                    let name: String = col!(row, "reason");
                    let reason: EndReason = codec::from_name(&name, "end reason")?;
                    reasons.push((name, reason, count(col!(row, "n"))));
                }
                reasons.sort_by(|a, b| a.0.cmp(&b.0));
                s.by_end_reason = reasons.into_iter().map(|(_, r, n)| (r, n)).collect();

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT count(*) AS n, CAST(avg(r.stars) AS DOUBLE PRECISION) AS mean \
                     FROM ratings r JOIN conversations c ON c.id = r.conversation WHERE",
                );
                push_scope(&mut qb, desk, from, until);
                let row = qb.build().fetch_one(&mut *tx).await.context("summarising ratings")?;
                s.ratings = count(col!(row, "n"));
                s.mean_stars = col!(row, "mean");

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT count(*) AS n, count(*) FILTER (WHERE g.fake_call) AS fake \
                     FROM registrations g JOIN conversations c ON c.id = g.conversation WHERE",
                );
                push_scope(&mut qb, desk, from, until);
                let row = qb.build().fetch_one(&mut *tx).await.context("summarising registrations")?;
                s.registrations = count(col!(row, "n"));
                s.fake_calls = count(col!(row, "fake"));
                tx.commit().await.context("ending a summary")?;
                Ok(s)
            }
        }
    };
}

pub(crate) use shared_queries;
