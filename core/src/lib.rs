//! # clbchat-core: the helpline engine
//!
//! One engine serves the three chat services of the Flemish student-guidance centres:
//! the national anonymous desk (CLBch@t), each centre's chatbox opened for events
//! (Chat-met-je-CLB) and planned, non-anonymous appointments (blended chat). Each is a
//! [`config::DeskConfig`], not a fork of the code.
//!
//! # Layout
//!
//! - [`engine`]: the running engine: desks (queue, presence, routing), conversations (log,
//!   timers), and the session handles a transport drives. No network, no SQL.
//! - [`config`]: engine and desk settings, every default a documented `const`.
//! - [`calendar`]: opening hours, holidays, closures and event windows in Europe/Brussels time.
//! - [`event`]: the conversation log entries and the events pushed to participants.
//! - [`account`]: staff accounts as data (identity, role, the desks they serve, the centre).
//! - [`appointment`]: blended chat's planned sessions, their links and trajectories.
//! - [`registration`], [`flags`], [`pseudonym`]: what is recorded after a chat, the flags
//!   that follow a returning visitor, and the keyed hash that lets them follow without
//!   identifying anyone.
//! - [`statistics`]: the annual report's figures, what each one means, and the periods
//!   (months, school years) they are counted in; the stores compute them.
//! - Ports, one trait per file, each with an in-memory implementation here:
//!   [`store`] (`Store`, [`store::memory::MemoryStore`], and the conformance suite behind the
//!   `conformance` feature), [`clock`] (`Clock`), [`auth`] (`Authenticator`), [`router`]
//!   (`Router`), [`partner`] (`PartnerLine`), [`observer`] (`Observer`, for metrics).
//! - [`error`]: the crate's one error enum.
//!
//! Adapters depend on this crate, never the reverse: `clbchat-transport-ws` turns a WebSocket
//! into session calls, `clbchat-store-sql` implements [`store::Store`] on SQLite and PostgreSQL.

pub mod account;
pub mod appointment;
pub mod auth;
pub mod calendar;
pub mod centre;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod event;
pub mod flags;
pub mod ids;
pub mod masking;
pub mod observer;
pub mod partner;
pub mod pseudonym;
pub mod registration;
pub mod review;
pub mod router;
pub mod statistics;
pub mod store;

pub use error::{Error, Result};
