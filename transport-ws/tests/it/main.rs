//! The transport's tests, over real sockets on port 0: one binary, one module per area.

// Test code: a panic is how a test fails, and helpers are shared between modules.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod bad_input;
mod chat;
mod fuzz;
mod golden;
mod mounted;
mod refusals;
mod resume;
mod support;
