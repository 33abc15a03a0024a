//! A fuzz-style test of the decoder on stable Rust, with proptest.
//!
//! Whatever text arrives, `protocol::decode` must not panic, and a refusal must be a
//! `malformed`, `unknown_frame` or (a value outside a field's choices) `invalid` error with a message. Inputs: arbitrary strings and bytes,
//! JSON-shaped noise, random objects built from the protocol's own `type`s and field names,
//! and mutations of the golden client frames (byte flips, truncation at every length,
//! inserted junk, duplicated keys, fields of the wrong type, huge numbers, 10,000-deep
//! nesting, very long strings). Where a mutation left `req` intact, the refusal still
//! carries it, so the client can tell which request failed.
//!
//! About 2,900 random cases plus a few thousand deterministic ones; well under 10 s in a
//! debug build. Failures are not persisted to a regressions file: proptest prints the
//! minimal failing input, which is what to turn into a deterministic test.

use clbchat_transport_ws::protocol::{decode, ClientEnvelope, DecodeError, ServerFrame};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

use crate::golden::{client_json, client_samples, server_samples};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Decodes and checks the invariants every input must keep.
fn check(text: &str) -> Result<ClientEnvelope, DecodeError> {
    let result = decode(text);
    if let Err(e) = &result {
        assert!(
            e.code == "malformed" || e.code == "unknown_frame" || e.code == "invalid",
            "code {:?} for {}",
            e.code,
            preview(text)
        );
        assert!(
            !e.message.trim().is_empty(),
            "empty message for {}",
            preview(text)
        );
    }
    // Whenever the text is a JSON object whose `req` is an integer, decode reports that `req`,
    // whether it accepts the frame or not.
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        if let Some(req) = map.get("req").and_then(Value::as_u64) {
            let got = match &result {
                Ok(env) => env.req,
                Err(e) => e.req,
            };
            assert_eq!(got, Some(req), "req lost for {}", preview(text));
        }
    }
    result
}

fn preview(text: &str) -> String {
    let short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        format!("{short:?}… ({} bytes)", text.len())
    } else {
        format!("{short:?}")
    }
}

/// The golden client frames as the decoder sees them, with their `req` and as a JSON object.
fn frames() -> Vec<(String, u64, Map<String, Value>)> {
    client_samples()
        .into_iter()
        .map(|(_, env)| {
            let text = client_json(&env, false);
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
                unreachable!()
            };
            (text, env.req.unwrap(), map)
        })
        .collect()
}

/// The fields of a frame other than `type` and `req`.
fn fields(map: &Map<String, Value>) -> Vec<String> {
    map.keys()
        .filter(|k| *k != "type" && *k != "req")
        .cloned()
        .collect()
}

/// A value of another JSON type than `v`, which the field's Rust type cannot accept.
fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::from(7),
        Value::Number(_) => Value::from("7"),
        Value::Bool(_) | Value::Null => Value::from(1),
        Value::Object(_) => Value::from("x"),
        Value::Array(_) => Value::from(0),
    }
}

/// The object as text, with one field's value replaced by raw text (which may not be
/// representable as a `Value`: `1e400`, 10,000 nested arrays).
fn with_raw(map: &Map<String, Value>, key: &str, raw: &str) -> String {
    const HOLE: &str = "\u{1}HOLE\u{1}";
    let mut m = map.clone();
    m.insert(key.to_owned(), Value::from(HOLE));
    let text = Value::Object(m).to_string();
    text.replacen(&Value::from(HOLE).to_string(), raw, 1)
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

const HUGE: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "1.5",
    "1e19",
    "0.0000000000000000000000000000001",
    "123456789012345678901234567890123456789012345678901234567890",
];

/// Every way the mutation test changes a golden frame.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte (the result is read as lossy UTF-8).
    FlipByte(usize, u8),
    /// Insert text at a position.
    Insert(usize, String),
    /// Repeat a key, with another value, at the end of the object.
    DuplicateKey(usize, Value),
    /// Give a field a value of another JSON type.
    WrongType(usize),
    /// Put a huge or odd number in a field (or `req`, or `type`).
    Huge(usize, usize),
    /// Replace a field by `depth` nested arrays.
    Nest(usize, usize),
    /// Replace a field by a long string.
    LongString(usize, usize),
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop::sample::select(vec![
            "clbchat",
            "5d3c8e1a-4b7f-4c2e-9a61-2f0d8b4e6a17",
            "student",
            "F",
            "medical",
            "colleague",
            "2022-03-10T17:00:00Z",
            "17:00",
            "mon"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names of the protocol (top level and nested).
const FIELD_NAMES: &[&str] = &[
    "type",
    "req",
    "version",
    "desk",
    "visitor_token",
    "profile",
    "appointment",
    "conversation",
    "resume_token",
    "last_seq",
    "username",
    "password",
    "id",
    "text",
    "consent",
    "stars",
    "comment",
    "shift_ends_at",
    "available",
    "reason",
    "target",
    "note",
    "accept",
    "partner",
    "summary",
    "form",
    "flag",
    "confirm",
    "purpose",
    "calendar",
    "kind",
    "staff",
    "discipline",
    "client_type",
    "nickname",
    "age",
    "gender",
    "health_question",
    "topics",
    "results",
    "weekly",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELD_NAMES).prop_map(String::from),
        1 => "[a-z_]{1,12}",
    ]
}

fn frame_type() -> impl Strategy<Value = Value> {
    let kinds: Vec<String> = client_samples()
        .into_iter()
        .map(|(_, env)| env.frame.kind().to_owned())
        .collect();
    prop_oneof![
        6 => prop::sample::select(kinds).prop_map(Value::from),
        1 => "[a-z_]{0,12}".prop_map(Value::from),
        1 => json_value(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::FlipByte(i, x)),
        (
            any::<usize>(),
            prop_oneof![".{1,8}", r#"[\[\]{}":,\\0-9a-z ]{1,8}"#]
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::DuplicateKey(i, v)),
        any::<usize>().prop_map(Mutation::WrongType),
        (any::<usize>(), 0..HUGE.len()).prop_map(|(i, n)| Mutation::Huge(i, n)),
        (any::<usize>(), prop_oneof![1..200usize, Just(10_000usize)])
            .prop_map(|(i, d)| Mutation::Nest(i, d)),
        (
            any::<usize>(),
            prop_oneof![0..5_000usize, Just(200_000usize)]
        )
            .prop_map(|(i, n)| Mutation::LongString(i, n)),
    ]
}

/// Applies a mutation; `true` when it only changed a field's type (so decoding must fail
/// with `malformed`, keeping `req`).
fn apply(text: &str, map: &Map<String, Value>, m: &Mutation) -> (String, bool) {
    let keys: Vec<String> = map.keys().cloned().collect();
    let pick = |i: usize| keys[i % keys.len()].clone();
    match m {
        Mutation::FlipByte(i, x) => {
            let mut bytes = text.as_bytes().to_vec();
            let i = i % bytes.len();
            bytes[i] ^= x;
            (String::from_utf8_lossy(&bytes).into_owned(), false)
        }
        Mutation::Insert(i, junk) => {
            let i = floor_boundary(text, i % (text.len() + 1));
            (format!("{}{junk}{}", &text[..i], &text[i..]), false)
        }
        Mutation::DuplicateKey(i, v) => {
            let key = Value::from(pick(*i)).to_string();
            (format!("{},{key}:{v}}}", &text[..text.len() - 1]), false)
        }
        Mutation::WrongType(i) => {
            let fields = fields(map);
            if fields.is_empty() {
                return (text.to_owned(), false);
            }
            let key = &fields[i % fields.len()];
            let mut m = map.clone();
            m.insert(key.clone(), wrong_type(&map[key]));
            (Value::Object(m).to_string(), true)
        }
        Mutation::Huge(i, n) => (with_raw(map, &pick(*i), HUGE[*n]), false),
        Mutation::Nest(i, depth) => (
            with_raw(
                map,
                &pick(*i),
                &format!("{}{}", "[".repeat(*depth), "]".repeat(*depth)),
            ),
            false,
        ),
        Mutation::LongString(i, n) => (
            with_raw(map, &pick(*i), &Value::from("ä".repeat(*n)).to_string()),
            false,
        ),
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn fuzz_arbitrary_strings_never_panic(text in any::<String>()) {
        check(&text).ok();
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn fuzz_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes)).ok();
    }

    #[test]
    fn fuzz_json_shaped_noise_never_panics(text in r#"[\[\]{}":,.\-+eE0-9a-z_\\ ]{0,96}"#) {
        check(&text).ok();
        check(&format!("{{\"type\":{text}")).ok();
    }

    #[test]
    fn fuzz_random_objects_from_the_protocol_vocabulary_never_panic(
        kind in frame_type(),
        req in prop::option::of(prop_oneof![any::<u64>().prop_map(Value::from), json_value()]),
        rest in prop::collection::btree_map(field_name(), json_value(), 0..6),
    ) {
        let mut map: Map<String, Value> = rest.into_iter().collect();
        map.insert("type".into(), kind);
        if let Some(req) = req {
            map.insert("req".into(), req);
        }
        check(&Value::Object(map).to_string()).ok();
    }
}

proptest! {
    #![proptest_config(config(1_100))]

    #[test]
    fn fuzz_mutated_golden_frames_never_panic(index in any::<usize>(), m in mutation()) {
        let frames = frames();
        let (text, req, map) = &frames[index % frames.len()];
        let (mutated, only_a_type_changed) = apply(text, map, &m);
        let result = check(&mutated);
        if only_a_type_changed {
            let e = result.expect_err("a field of the wrong type is refused");
            prop_assert_eq!(e.code, "malformed");
            prop_assert_eq!(e.req, Some(*req));
        }
    }
}

#[test]
fn fuzz_every_truncation_of_every_golden_frame_is_refused_without_panic() {
    let mut n = 0;
    for (text, _, _) in frames() {
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let e = check(&text[..end]).expect_err("a truncated frame is not JSON");
            assert_eq!(e.code, "malformed", "{}", &text[..end]);
            n += 1;
        }
    }
    assert!(n > 2_000, "{n} truncations");
}

#[test]
fn fuzz_a_field_of_the_wrong_type_is_malformed_and_keeps_req() {
    for (text, req, map) in frames() {
        for key in fields(&map) {
            let mut m = map.clone();
            m.insert(key.clone(), wrong_type(&map[&key]));
            let bad = Value::Object(m).to_string();
            let e = check(&bad).expect_err(&bad);
            assert_eq!(
                (e.code, e.req),
                ("malformed", Some(req)),
                "{bad}: {}",
                e.message
            );
            assert!(
                e.message.contains(&key) || e.message.contains("invalid"),
                "{bad}: {}",
                e.message
            );
        }
        // An unknown field too. Not for `leave`: `deny_unknown_fields` does not reach the unit
        // variant of an internally tagged enum, so `leave` ignores unknown fields today.
        let mut m = map.clone();
        m.insert("nickname_typo".into(), Value::from(1));
        let result = check(&Value::Object(m).to_string());
        if !fields(&map).is_empty() {
            let e = result.unwrap_err();
            assert_eq!((e.code, e.req), ("malformed", Some(req)), "{text}");
        }
        // And an unknown type.
        let e = check(&with_raw(&map, "type", "\"sned\"")).unwrap_err();
        assert_eq!((e.code, e.req), ("unknown_frame", Some(req)), "{text}");
    }
}

#[test]
fn fuzz_extremes_never_panic() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let open_only = "[".repeat(10_000);
    let objects = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    for text in [
        deep.as_str(),
        open_only.as_str(),
        objects.as_str(),
        "",
        " ",
        "null",
        "{}",
        "[]",
        "\"type\"",
        "{\"type\":\"\"}",
    ] {
        check(text).expect_err(&preview(text));
    }
    for (text, req, map) in frames() {
        for key in map.keys() {
            for raw in [deep.as_str(), open_only.as_str(), objects.as_str()]
                .into_iter()
                .chain(HUGE.iter().copied())
            {
                check(&with_raw(&map, key, raw)).ok();
            }
        }
        // A very long text where the frame has text: accepted by the decoder (the engine
        // enforces the length limit), and nothing is lost.
        if map.contains_key("text") {
            let long = "Ik weet het echt niet meer. ".repeat(2_000);
            let env = check(&with_raw(
                &map,
                "text",
                &Value::from(long.clone()).to_string(),
            ))
            .unwrap();
            assert_eq!(env.req, Some(req), "{text}");
        }
    }
}

#[test]
fn fuzz_every_golden_server_frame_encodes_to_text_that_parses_back() {
    for (name, frame) in server_samples() {
        let text = frame.encode();
        let back: ServerFrame =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
        assert_eq!(back, frame, "{name}");
        assert_eq!(back.req(), frame.req(), "{name}");
    }
}
