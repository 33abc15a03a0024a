//! # clbchat-tests
//!
//! End-to-end tests across crates (real sockets, real databases, a real browser) arrive with
//! the transport and the server; the engine's own tests live in `core/tests`.
