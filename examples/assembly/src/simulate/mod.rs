//! `clbchat simulate`: plan the staffing with the real engine in virtual time, checked
//! against queueing theory (see `docs/simulate.md`).
//!
//! - [`erlang`]: Erlang C and Erlang A, the call-centre formulas the simulation is set
//!   beside.
//! - [`history`]: a desk's own history (its store) as a simulation's visitors.
//! - [`model`]: what a simulation is given, read from a parameter file and a schedule.
//! - [`run`]: the play through the real engine on tokio's paused clock.
//! - [`planner`]: the coordinator page's planning view (`plan_staffing`).
//! - [`reference`]: the exact first-come-first-served queue the engine is checked against.
//! - [`report`]: a play's figures per hour of the week, as markdown, CSV or HTML.
//! - [`staffing`]: the smallest staffing per hour that meets a target, beside theory's.

pub mod erlang;
pub mod history;
pub mod model;
pub mod planner;
pub mod reference;
pub mod report;
pub mod run;
pub mod staffing;

#[cfg(test)]
mod theory;
