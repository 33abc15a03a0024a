//! The engine relaying messages in process, for 1, 100 and 10,000 running conversations:
//! in one round every conversation's visitor sends one message, and the round is done when
//! every counsellor has received it (stored in the in-memory store first, as always).
//! Throughput is in messages. No sockets: this is the engine's share of the full stack.
//!
//! Counsellors take up to 100 chats each; the conversations are set up once per size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clbchat_benches::fixtures::{self, Counter, World};
use clbchat_core::engine::{StaffHandle, StaffSession};
use clbchat_core::ids::ClientMsgId;
use criterion::{BenchmarkId, Criterion, Throughput};
use tokio::sync::watch;

const PER_COUNSELLOR: usize = 100;

struct Chats {
    _world: World,
    _staff: Vec<StaffHandle>,
    delivered: Arc<Counter>,
    round: watch::Sender<u64>,
    size: usize,
}

async fn build(size: usize) -> Chats {
    let world = World::new(size + 100).await;
    let delivered = Arc::new(Counter::default());
    let (round, round_rx) = watch::channel(0u64);
    let mut staff = Vec::new();
    let mut left = size;
    let mut n = 0;
    while left > 0 {
        let take = left.min(PER_COUNSELLOR);
        let mut c = world
            .counsellor(&format!("c{n}"), u32::try_from(take).unwrap_or(u32::MAX))
            .await;
        for _ in 0..take {
            let mut v = world.arrive().await;
            fixtures::next_assignment(&mut c.events).await;
            fixtures::joined(&mut v.events).await;
            fixtures::drain(v.events);
            // One sender per conversation, waiting for the next round.
            let mut rx = round_rx.clone();
            let handle = v.handle;
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let r = *rx.borrow_and_update();
                    let _ = handle
                        .send(ClientMsgId::new(format!("r{r}")), "Hallo, is daar iemand?")
                        .await;
                }
            });
        }
        let StaffSession { handle, events, .. } = c;
        fixtures::drain_client_messages(events, delivered.clone());
        staff.push(handle);
        left -= take;
        n += 1;
    }
    Chats {
        _world: world,
        _staff: staff,
        delivered,
        round,
        size,
    }
}

fn relay(c: &mut Criterion) {
    let rt = fixtures::runtime();
    let mut group = c.benchmark_group("engine_relay");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for size in [1usize, 100, 10_000] {
        let chats = rt.block_on(build(size));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(
            BenchmarkId::new("one_message_per_conversation", size),
            &size,
            |b, _| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            chats.delivered.reset(chats.size as u64);
                            let t = Instant::now();
                            chats.round.send_modify(|r| *r += 1);
                            chats.delivered.wait().await;
                            total += t.elapsed();
                        }
                        total
                    })
                });
            },
        );
        drop(chats);
    }
    group.finish();
}

// What `criterion_group!`/`criterion_main!` expand to, written out: the macro's public
// function would need documentation the workspace lints ask for.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    relay(&mut c);
    c.final_summary();
}
