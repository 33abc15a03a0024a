//! The reference server over real sockets: pages and API, origins, metrics, the one-time
//! setup, account management, the command line, configuration errors, and the graceful
//! restart with resume (the real binary and a real SIGTERM).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod cli;
mod conformance;
mod document;
mod edge;
mod http;
mod restart;
mod scan;
mod sector;
mod setup;
mod simulate;
mod statistics;
mod support;
