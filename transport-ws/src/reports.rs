//! Reports in other formats than their figures: a port the server assembly fills.
//!
//! A coordinator's `report` frame is answered with the figures the store computed
//! ([`clbchat_core::statistics::ReportData`]). When the frame asks for a `format` (an HTML
//! fragment for the page, markdown, CSV, a whole HTML page), the connection hands the
//! figures to the [`ReportRenderer`] of [`crate::WsConfig::reports`]: this crate knows no
//! layout, charts or languages, the reference server does. Without a renderer, a `format`
//! is refused with `invalid`.

use clbchat_core::statistics::ReportData;
use serde::{Deserialize, Serialize};

/// A report written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedReport {
    /// The format, as asked (`html_fragment`, `html`, `markdown`, `csv`).
    pub format: String,
    /// Its media type (for a download).
    pub content_type: String,
    /// A file name to save it as.
    pub file_name: String,
    /// The text.
    pub content: String,
}

/// Writes reports; implemented by the server assembly.
pub trait ReportRenderer: Send + Sync + std::fmt::Debug + 'static {
    /// Whether it can write `format` in `lang`; asked before the figures are computed, so
    /// a wrong request costs nothing. The error says what to ask for instead.
    fn check(&self, format: &str, lang: Option<&str>) -> Result<(), String> {
        let _ = (format, lang);
        Ok(())
    }

    /// Writes `data` in `format` and `lang` (`nl`, `en`; `None`: the default). The error
    /// is for the coordinator: it says what to ask for instead.
    fn render(
        &self,
        data: &ReportData,
        format: &str,
        lang: Option<&str>,
    ) -> Result<RenderedReport, String>;
}
