//! Frame encode and decode: what every chat message costs in JSON on the server (decode the
//! visitor's `send`, encode the `ack` and the `log` event everyone receives) and in a Rust
//! client (encode a `send`, decode a `log` event). The frames are the protocol's own types
//! with a typical 100-character message.

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use clbchat_core::event::{Ack, EventBody, LoggedEvent, Role, ServerEvent};
use clbchat_core::ids::{ClientMsgId, ConversationId};
use clbchat_transport_ws::protocol::{self, ClientEnvelope, ClientFrame, ServerFrame};
use criterion::{Criterion, Throughput};

const TEXT: &str =
    "Mijn ouders willen dat ik Latijn blijf doen, maar ik wil naar STEM. Wat kan ik doen?!";

fn frames(c: &mut Criterion) {
    let conversation = ConversationId::random();
    let at = Utc
        .with_ymd_and_hms(2022, 3, 10, 17, 8, 12)
        .single()
        .expect("a valid instant");
    let send = ClientEnvelope {
        req: Some(17),
        frame: ClientFrame::Send {
            id: ClientMsgId::new("s-17"),
            conversation: None,
            text: TEXT.into(),
        },
    };
    let send_text = send.encode();
    let ack = ServerFrame::ack(
        Some(17),
        ClientMsgId::new("s-17"),
        Ack {
            conversation,
            seq: 9,
            at,
        },
    );
    let log = ServerFrame::Event {
        event: ServerEvent::Log(LoggedEvent {
            conversation,
            seq: 9,
            at,
            body: EventBody::Message {
                from: Role::Client,
                author: "Mila".into(),
                text: TEXT.into(),
                client_msg_id: ClientMsgId::new("s-17"),
            },
        }),
    };
    let log_text = log.encode();

    let mut group = c.benchmark_group("frames");
    group.sample_size(50);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    group.bench_function("server decode send", |b| {
        b.iter(|| protocol::decode(black_box(&send_text)))
    });
    group.bench_function("server encode ack", |b| b.iter(|| black_box(&ack).encode()));
    group.bench_function("server encode log event", |b| {
        b.iter(|| black_box(&log).encode())
    });
    group.bench_function("client encode send", |b| {
        b.iter(|| black_box(&send).encode())
    });
    group.bench_function("client decode log event", |b| {
        b.iter(|| serde_json::from_str::<ServerFrame>(black_box(&log_text)))
    });
    group.finish();
}

// What `criterion_group!`/`criterion_main!` expand to, written out: the macro's public
// function would need documentation the workspace lints ask for.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    frames(&mut c);
    c.final_summary();
}
