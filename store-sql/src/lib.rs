//! # clbchat-store-sql
//!
//! `Store` on SQLite and PostgreSQL: being written (issue 4).
