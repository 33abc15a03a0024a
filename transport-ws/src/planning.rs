//! Staffing plans for the coordinator page: a port the server assembly fills.
//!
//! A coordinator's `plan_staffing` frame asks for the fewest counsellors per hour of the
//! week that meet a target, from the desk's own history. The simulation that answers it
//! lives in the server assembly (`clbchat_assembly::simulate`); this crate passes the desk
//! and the store to the [`Planner`] of [`crate::WsConfig::planner`] and sends back what it
//! wrote. Without a planner, the frame is refused with `invalid`.

use std::sync::Arc;

use async_trait::async_trait;
use clbchat_core::config::DeskConfig;
use clbchat_core::store::Store;
use serde::{Deserialize, Serialize};

/// A staffing plan written out for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffingPlan {
    /// The target, as it was read (`p90-wait=2m,abandon=5%`).
    pub target: String,
    /// The plan as an HTML fragment: the recommended staffing beside Erlang C and A, and
    /// the simulation of it with its charts.
    pub html: String,
    /// The recommended schedule in the schedule file's format (CSV), for the planning tool.
    pub schedule_csv: String,
    /// The hours that miss the target even with the most counsellors allowed, in words.
    #[serde(default)]
    pub unmet: Vec<String>,
}

/// Plans staffing; implemented by the server assembly.
#[async_trait]
pub trait Planner: Send + Sync + std::fmt::Debug + 'static {
    /// The plan for `desk` from the history in `store`, to meet `target` (`None`: the
    /// planner's default), written in `lang` (`nl`, `en`). The error is for the coordinator:
    /// it says what is wrong and what to do.
    async fn plan(
        &self,
        store: Arc<dyn Store>,
        desk: DeskConfig,
        target: Option<String>,
        lang: Option<String>,
    ) -> Result<StaffingPlan, String>;
}
