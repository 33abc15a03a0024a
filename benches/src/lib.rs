//! # clbchat-benches
//!
//! Criterion benches, the load generator and the bare-relay baseline come with issue 6.
