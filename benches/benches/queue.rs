//! Queue operations at 10, 1,000 and 100,000 waiting: a visitor arrives at the end of the
//! queue, the head is assigned to a counsellor who becomes free, the head leaves.
//!
//! Each desk has fifty counsellors busy with a chat (so every waiting visitor has an
//! honest wait estimate, as on a busy evening) and one more who is paused until the
//! "assign" bench makes her available. An operation counts as done when its effects have
//! reached the participants: the newcomer's first `queue` update; the counsellor's
//! `chat_assigned` and every waiting visitor's new position; every new position after a
//! leave. Between timed operations the queue is put back to its size, untimed.
//!
//! The queues are built once per size through the public engine API. That costs time of
//! its own at 100,000 (each arrival walks the queue): the bench prints it.
//! `CLBCHAT_BENCH_QUEUE_SIZES=10,1000` runs fewer sizes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clbchat_benches::fixtures::{self, Counter, World};
use clbchat_core::engine::{StaffSession, VisitorHandle};
use criterion::{BenchmarkId, Criterion};

/// Counsellors busy with a chat at every size, so that the wait estimates are real work.
const BUSY: usize = 50;

struct Desk {
    world: World,
    waiting: VecDeque<VisitorHandle>,
    updates: Arc<Counter>,
    free: StaffSession,
    _busy: Vec<StaffSession>,
}

impl Desk {
    async fn build(size: usize) -> Desk {
        let world = World::new(size + BUSY + 1_000).await;
        // The paused counsellor goes online first, while nobody waits.
        let free = world.counsellor("free", 1).await;
        free.handle
            .set_available(&world.desk, false)
            .await
            .expect("pause");
        let updates = Arc::new(Counter::default());
        let mut desk = Desk {
            world,
            waiting: VecDeque::with_capacity(size + BUSY),
            updates,
            free,
            _busy: Vec::new(),
        };
        // The queue fills while no counsellor serves (no estimates to compute yet), then
        // the busy counsellors come online and each takes the head: what is left waits
        // with an honest estimate. Filling it with estimates would take minutes at 100,000.
        let started = Instant::now();
        for _ in 0..size + BUSY {
            desk.push().await;
        }
        for i in 0..BUSY {
            let mut c = desk.world.counsellor(&format!("busy-{i}"), 1).await;
            fixtures::next_assignment(&mut c.events).await;
            desk.waiting.pop_front();
            desk._busy.push(c);
        }
        if size >= 10_000 {
            eprintln!(
                "queue: {size} visitors waiting after {:.1} s of setup",
                started.elapsed().as_secs_f64()
            );
        }
        desk
    }

    /// A visitor arrives at the end; returns when they got their first position.
    async fn push(&mut self) {
        let mut v = self.world.arrive().await;
        fixtures::first_queue_update(&mut v.events).await;
        fixtures::drain_queue_updates(v.events, self.updates.clone());
        self.waiting.push_back(v.handle);
    }

    fn behind_head(&self) -> u64 {
        self.waiting.len().saturating_sub(1) as u64
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("CLBCHAT_BENCH_QUEUE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10, 1_000, 100_000])
}

fn queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for size in sizes() {
        // A runtime per size: dropping it ends the desk's 100,000 tasks at once, where
        // letting every visitor leave would cost a queue walk each.
        let rt = fixtures::runtime();
        let mut desk = rt.block_on(Desk::build(size));

        group.bench_with_input(BenchmarkId::new("arrive", size), &size, |b, _| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        desk.push().await;
                        total += t.elapsed();
                        // Back to `size`: the newcomer leaves from the end (nobody moves).
                        if let Some(v) = desk.waiting.pop_back() {
                            v.leave().await.expect("leave");
                        }
                    }
                    total
                })
            });
        });

        group.bench_with_input(BenchmarkId::new("assign", size), &size, |b, _| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    let desk_id = desk.world.desk.clone();
                    for _ in 0..iters {
                        desk.updates.reset(desk.behind_head());
                        let t = Instant::now();
                        desk.free
                            .handle
                            .set_available(&desk_id, true)
                            .await
                            .expect("available");
                        let chat = fixtures::next_assignment(&mut desk.free.events).await;
                        desk.updates.wait().await;
                        total += t.elapsed();
                        // Back: pause, end the chat, and a newcomer takes the empty place.
                        desk.waiting.pop_front();
                        desk.free
                            .handle
                            .set_available(&desk_id, false)
                            .await
                            .expect("pause");
                        desk.free.handle.end(chat).await.expect("end");
                        desk.push().await;
                    }
                    total
                })
            });
        });

        group.bench_with_input(BenchmarkId::new("leave", size), &size, |b, _| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let Some(head) = desk.waiting.pop_front() else {
                            break;
                        };
                        desk.updates.reset(desk.waiting.len() as u64);
                        let t = Instant::now();
                        head.leave().await.expect("leave");
                        desk.updates.wait().await;
                        total += t.elapsed();
                        desk.push().await;
                    }
                    total
                })
            });
        });
        rt.block_on(async move { drop(desk) });
        rt.shutdown_background();
    }
    group.finish();
}

// What `criterion_group!`/`criterion_main!` expand to, written out: the macro's public
// function would need documentation the workspace lints ask for.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    queue(&mut c);
    c.final_summary();
}
