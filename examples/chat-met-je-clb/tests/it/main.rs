//! The `chat-met-je-clb` binary, for real: it starts with no configuration (its own port
//! and data folder, a setup link for the sector's administrator), takes its centres from
//! a file, and serves each centre's chatbox at its own address.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod centres;
mod isolation;
mod server;
mod statistics;
mod support;
