//! The coordinator page's planning view: the server's [`Planner`] for `plan_staffing`. From
//! the desk's own history (the last [`HISTORY_WEEKS`] weeks), it searches the fewest
//! counsellors per hour that meet the target ([`super::staffing`]) over [`PLAN_WEEKS`]
//! simulated weeks, and writes the answer for the page: the staffing beside Erlang C and A,
//! the simulation's figures and charts, and the schedule to download.
//!
//! The search plays on a blocking thread (a runtime of its own on a paused clock), never on
//! the threads that serve the chats.

use std::sync::Arc;

use async_trait::async_trait;
use clbchat_core::config::DeskConfig;
use clbchat_core::store::Store;
use clbchat_transport_ws::planning::{Planner, StaffingPlan};

use super::history;
use super::model::{Scenario, Schedule};
use super::report::{hour_label, html_fragment};
use super::staffing::{markdown_rows, search, Target};
use crate::report::html::html_escape;
use crate::report::labels::Lang;

/// Weeks of history the plan reads.
pub const HISTORY_WEEKS: i64 = 12;
/// Weeks each play of the search simulates.
pub const PLAN_WEEKS: u32 = 8;
/// The target when the coordinator gives none.
pub const DEFAULT_TARGET: &str = "p90-wait=2m,abandon=5%";
/// The most counsellors an hour in the search.
pub const MAX_COUNSELLORS: u32 = 12;

/// The server's planner.
#[derive(Debug, Default)]
pub struct ServerPlanner;

#[async_trait]
impl Planner for ServerPlanner {
    async fn plan(
        &self,
        store: Arc<dyn Store>,
        desk: DeskConfig,
        target: Option<String>,
        lang: Option<String>,
    ) -> Result<StaffingPlan, String> {
        let lang = match lang.as_deref() {
            None => Lang::Nl,
            Some(l) => Lang::parse(l).ok_or_else(|| format!("lang: `{l}`; write nl or en"))?,
        };
        let target_text = target.unwrap_or_else(|| DEFAULT_TARGET.into());
        let target = Target::parse(&target_text).map_err(|e| e.to_string())?;
        let until = chrono::Utc::now();
        let since = until - chrono::Duration::weeks(HISTORY_WEEKS);
        let h = history::from_store(store.as_ref(), &desk.id, &desk.calendar, since, until)
            .await
            .map_err(|e| e.to_string())?;
        let scenario = Scenario {
            schedule: Schedule::where_visitors_come(&h.arrivals),
            arrivals: h.arrivals,
            lengths: h.lengths,
            patience: h.patience,
            health_share: h.health_share,
            chat_limit_minutes: Some(desk.limits.chat_limit.as_secs_f64() / 60.0),
            wrap_up_minutes: 0.0,
            weeks: PLAN_WEEKS,
            seed: 1,
            desk: Some(desk.clone()),
        };
        let advice =
            tokio::task::spawn_blocking(move || search(&scenario, &target, MAX_COUNSELLORS))
                .await
                .map_err(|e| format!("the plan could not be made: {e}"))?
                .map_err(|e| e.to_string())?;
        let e = html_escape;
        let mut html = String::new();
        html.push_str(&format!(
            "<article class=\"report\" lang=\"{}\"><h3 class=\"report-title\">{}</h3><p>{}</p>",
            lang.code(),
            e(lang.pick("Aanbevolen bezetting", "Recommended staffing")),
            e(&match lang {
                Lang::Nl => format!(
                    "Doel: 9 op 10 bezoekers wachten hoogstens {}, en hoogstens {} krijgt geen gesprek. Berekend uit de laatste {HISTORY_WEEKS} weken ({} bezoekers), {PLAN_WEEKS} weken gesimuleerd.",
                    target.p90_wait.map_or("–".into(), |w| format!("{} min", lang.decimal(w, 1))),
                    target.not_served.map_or("–".into(), |a| format!("{}%", lang.decimal(a * 100.0, 0))),
                    h.visitors
                ),
                Lang::En => format!(
                    "Target: nine in ten visitors wait at most {}, and at most {} get no chat. From the last {HISTORY_WEEKS} weeks ({} visitors), {PLAN_WEEKS} weeks simulated.",
                    target.p90_wait.map_or("–".into(), |w| format!("{w:.1} min")),
                    target.not_served.map_or("–".into(), |a| format!("{:.0}%", a * 100.0)),
                    h.visitors
                ),
            })
        ));
        html.push_str(&format!(
            "<div class=\"report-table\" role=\"region\" tabindex=\"0\" aria-label=\"{0}\"><table><caption>{0}</caption><thead><tr>",
            e(lang.pick("Aanbevolen bezetting per uur", "Recommended staffing per hour"))
        ));
        let rows = markdown_rows(&advice, lang);
        for c in &rows.0 {
            html.push_str(&format!("<th scope=\"col\">{}</th>", e(c)));
        }
        html.push_str("</tr></thead><tbody>");
        for row in &rows.1 {
            html.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                if i == 0 {
                    html.push_str(&format!("<th scope=\"row\">{}</th>", e(c)));
                } else {
                    html.push_str(&format!("<td>{}</td>", e(c)));
                }
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div></article>");
        html.push_str(&html_fragment(&advice.figures, lang, 3).map_err(|e| e.to_string())?);
        let unmet = advice
            .unmet()
            .iter()
            .map(|u| hour_label(lang, u.hour))
            .collect();
        Ok(StaffingPlan {
            target: target.describe(),
            html,
            schedule_csv: advice.schedule.to_csv(),
            unmet,
        })
    }
}
