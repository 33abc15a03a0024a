//! The `blended-chat` binary, for real: it starts with no configuration beside `clbchat`'s
//! defaults (its own port and data folder), serves its pages, and keeps every appointment
//! and link across a restart.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod server;
