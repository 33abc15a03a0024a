//! The integration tests of clbchat-store-sql, in one binary (one link).
//!
//! PostgreSQL tests run against `CLBCHAT_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`), each in a fresh schema; see `helpers`.

mod appends;
mod audit;
mod conformance;
mod crash;
mod helpers;
mod lifecycle;
mod shredding;
mod unavailable;
