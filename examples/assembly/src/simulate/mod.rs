//! `clbchat simulate`: plan the staffing with the real engine in virtual time, checked
//! against queueing theory (see `docs/simulate.md`).
//!
//! - [`erlang`]: Erlang C and Erlang A, the call-centre formulas the simulation is set
//!   beside.
//! - [`model`]: what a simulation is given, read from a parameter file and a schedule.

pub mod erlang;
pub mod model;
