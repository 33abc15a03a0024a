//! # clbchat-benches
//!
//! How fast clbchat is, measured against what a user could run instead. `benches/README.md`
//! says what each bench and tool measures, the commands, and the recorded results.
//!
//! # Layout
//!
//! - `benches/*.rs` (criterion, `cargo bench -p clbchat-benches`): the engine's queue
//!   operations, frame encode and decode, the engine relaying messages in process, store
//!   appends (SQLite durable and normal, PostgreSQL; group commit against one row per
//!   transaction). [`fixtures`] builds what they share.
//! - `clbchat-load` ([`load`], [`wire`], [`report`], [`setup`], [`marker`], [`procfs`]): the
//!   load generator: N visitors and M counsellors over real WebSockets against a running
//!   server, reporting throughput, delivery latency percentiles, memory per connection and
//!   connections per second as JSON and markdown; `clbchat-load compare` turns a set of
//!   runs into the ratios and targets of issue 6.
//! - `clbchat-load study-fair` ([`burst`]): Chat-met-je-CLB's burst, a study fair's thousand
//!   chats in three compressed days at one centre with a team of 8, against a real
//!   `chat-met-je-clb` server; `burst.sh` runs it on a fresh server on durable SQLite.
//! - `clbchat-hostile` ([`hostile`]): a million mutated protocol frames against a running
//!   server while a canary chat goes on; `hostile.sh` runs it on a fresh server.
//! - `clbchat-bare-relay` ([`relay`]): the ceiling: tokio-tungstenite alone, pairing two
//!   sockets and forwarding raw frames.
//! - `socketio-relay/`: what a user would pick instead, a minimal Node.js socket.io relay.
//! - `run.sh`: builds in release, runs every target in turn with the same parameters and
//!   prints the ratios; results go to `benches/results/`.
//! - [`error`]: the crate's one error enum.

pub mod burst;
pub mod error;
pub mod fixtures;
pub mod hostile;
pub mod journal;
pub mod load;
pub mod marker;
pub mod procfs;
pub mod relay;
pub mod report;
pub mod setup;
pub mod wire;

pub use error::{Error, Result};
