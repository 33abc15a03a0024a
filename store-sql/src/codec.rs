//! How core values become column values and back, the same on both backends.
//!
//! - Instants are `i64` nanoseconds since the Unix epoch (UTC): exact (PostgreSQL's
//!   `timestamptz` keeps only microseconds), ordered, and subtracted in plain SQL for the
//!   statistics. Instants outside 1677-09-21 .. 2262-04-11 are refused as invalid.
//! - Enumerations are their serde names (`client_left`), so the database reads like the JSON
//!   of the wire protocol.
//! - Nested values (a client profile, an identity, a calendar, an event body) are JSON text.

use chrono::{DateTime, Utc};
use clbchat_core::event::{EventBody, LoggedEvent};
use clbchat_core::ids::ConversationId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};

/// An instant as nanoseconds since the epoch.
pub(crate) fn ns(t: DateTime<Utc>, what: &str) -> Result<i64> {
    t.timestamp_nanos_opt().ok_or_else(|| {
        Error::Data(format!(
            "{what}: {t} is outside the storable range (1677 to 2262)"
        ))
    })
}

/// An optional instant as nanoseconds since the epoch.
pub(crate) fn opt_ns(t: Option<DateTime<Utc>>, what: &str) -> Result<Option<i64>> {
    t.map(|t| ns(t, what)).transpose()
}

/// Nanoseconds since the epoch as an instant.
pub(crate) fn instant(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// Optional nanoseconds since the epoch as an instant.
pub(crate) fn opt_instant(ns: Option<i64>) -> Option<DateTime<Utc>> {
    ns.map(instant)
}

/// The serde name of a unit enum value (`EndReason::ClientLeft` -> `client_left`).
pub(crate) fn name<T: Serialize>(value: &T, what: &str) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(Error::Data(format!("{what}: {other} is not a plain name"))),
        Err(e) => Err(Error::Data(format!("{what}: cannot be written: {e}"))),
    }
}

/// An optional serde name.
pub(crate) fn opt_name<T: Serialize>(value: Option<&T>, what: &str) -> Result<Option<String>> {
    value.map(|v| name(v, what)).transpose()
}

/// A unit enum value from its serde name.
pub(crate) fn from_name<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| Error::Data(format!("stored {what} `{s}` is not valid: {e}")))
}

/// An optional unit enum value from its serde name.
pub(crate) fn opt_from_name<T: DeserializeOwned>(
    s: Option<String>,
    what: &str,
) -> Result<Option<T>> {
    s.map(|s| from_name(&s, what)).transpose()
}

/// A value as JSON text.
pub(crate) fn json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Data(format!("{what}: cannot be written: {e}")))
}

/// A value from JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Data(format!("stored {what} is not valid: {e}")))
}

/// A sequence number as a column value.
pub(crate) fn seq(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| Error::Data(format!("sequence number {seq} is too large")))
}

/// A column value as a sequence number.
pub(crate) fn seq_back(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| Error::Data(format!("stored sequence number {seq} is negative")))
}

/// A small unsigned number (age, stars) as a column value.
pub(crate) fn small(n: u8) -> i16 {
    i16::from(n)
}

/// A column value as a small unsigned number.
pub(crate) fn small_back(n: i16, what: &str) -> Result<u8> {
    u8::try_from(n).map_err(|_| Error::Data(format!("stored {what} {n} is out of range")))
}

/// One log entry as it goes into the `events` table.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    /// `events.conversation`.
    pub(crate) conversation: Uuid,
    /// `events.seq`.
    pub(crate) seq: i64,
    /// `events.at_ns`.
    pub(crate) at_ns: i64,
    /// `events.kind`: the body's `type` (`message`, `joined`, ...).
    pub(crate) kind: String,
    /// `events.has_text`: whether retention is about this row.
    pub(crate) has_text: bool,
    /// `events.body`: the body as JSON.
    pub(crate) body: String,
}

impl EventRow {
    /// The row for an event.
    pub(crate) fn encode(event: &LoggedEvent) -> Result<Self> {
        // Straight to text: going through a `serde_json::Value` first built a map of the
        // body on the heap and then printed it (1.8 µs of each durable message in the
        // profile `statement-journal-sqlite-full`).
        let body = serde_json::to_string(&event.body)
            .map_err(|e| Error::Data(format!("event {}: cannot be written: {e}", event.seq)))?;
        Ok(Self {
            conversation: event.conversation.0,
            seq: seq(event.seq)?,
            at_ns: ns(event.at, "event time")?,
            kind: kind_of(&body)
                .ok_or_else(|| {
                    // Not the body itself: it holds the message's text.
                    Error::Data(format!(
                        "event {}: its JSON does not start with its type",
                        event.seq
                    ))
                })?
                .to_owned(),
            has_text: event.body.has_text(),
            body,
        })
    }
}

/// The `type` of an event body's JSON. The body is an internally tagged enum, and serde
/// writes the tag first: `{"type":"message",...}`. `None` for anything else, which is
/// refused rather than stored under a wrong kind.
fn kind_of(body: &str) -> Option<&str> {
    body.strip_prefix("{\"type\":\"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(kind, _)| kind)
        .filter(|kind| !kind.is_empty() && !kind.contains('\\'))
}

/// One row of the `events` table as stored: its body perhaps sealed (see `crate::seal`).
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    /// `events.conversation`.
    pub(crate) conversation: Uuid,
    /// `events.seq`.
    pub(crate) seq: i64,
    /// `events.at_ns`.
    pub(crate) at_ns: i64,
    /// `events.body`: JSON, or sealed JSON.
    pub(crate) body: String,
}

impl StoredEvent {
    /// The event, with `body` the row's body as JSON (opened if it was sealed).
    pub(crate) fn decode(&self, body: &str) -> Result<LoggedEvent> {
        let body: EventBody = from_json(body, "event body")?;
        Ok(LoggedEvent {
            conversation: ConversationId(self.conversation),
            seq: seq_back(self.seq)?,
            at: instant(self.at_ns),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use clbchat_core::event::EndReason;

    use super::*;

    #[test]
    fn instants_round_trip_to_the_nanosecond() {
        let t = Utc
            .timestamp_opt(1_650_000_000, 123_456_789)
            .single()
            .expect("instant");
        assert_eq!(instant(ns(t, "t").expect("ns")), t);
        let far = Utc
            .with_ymd_and_hms(2300, 1, 1, 0, 0, 0)
            .single()
            .expect("instant");
        assert!(ns(far, "t").is_err());
    }

    #[test]
    fn enums_are_stored_by_name() {
        assert_eq!(
            name(&EndReason::ClosedAtClosingTime, "r").expect("name"),
            "closed_at_closing_time"
        );
        let back: EndReason = from_name("client_left", "r").expect("from_name");
        assert_eq!(back, EndReason::ClientLeft);
        assert!(from_name::<EndReason>("nonsense", "r").is_err());
    }

    #[test]
    fn an_event_row_knows_its_kind_and_whether_it_has_text() {
        let e = LoggedEvent {
            conversation: ConversationId::random(),
            seq: 3,
            at: Utc
                .with_ymd_and_hms(2022, 3, 1, 17, 0, 0)
                .single()
                .expect("instant"),
            body: EventBody::Ended {
                reason: EndReason::TimeLimit,
            },
        };
        let row = EventRow::encode(&e).expect("encode");
        assert_eq!((row.kind.as_str(), row.has_text), ("ended", false));
        let stored = StoredEvent {
            conversation: row.conversation,
            seq: row.seq,
            at_ns: row.at_ns,
            body: row.body.clone(),
        };
        let back = stored.decode(&row.body).expect("decode");
        assert_eq!(back, e);
    }

    #[test]
    fn the_kind_is_the_type_written_first() {
        assert_eq!(
            kind_of(r#"{"type":"message","text":"hoi"}"#),
            Some("message")
        );
        for wrong in [
            r#"{"text":"hoi","type":"message"}"#,
            r#"{"type":""}"#,
            "[]",
            "",
        ] {
            assert_eq!(kind_of(wrong), None, "{wrong}");
        }
    }
}
