//! The engine's integration tests: one binary, one module per area (style: one test binary
//! per crate keeps link time down). Every test runs on tokio's paused clock, so 45-minute
//! limits and whole evenings take milliseconds, and none sleeps for real.

// Test code: a panic is how a test fails, and helpers are shared between modules.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod accounts;
mod after_chat;
mod appointments;
mod arrival;
mod conversation;
mod coordinators;
mod events;
mod flags;
mod logins;
mod presence;
mod recovery;
mod review;
mod rotation;
mod routing;
mod scenario;
mod statistics;
mod support;
mod time_limits;
mod transfers;
