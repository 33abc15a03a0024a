//! Counters a server keeps for operators: connections opened, frames received, and the
//! error frames sent by code. They hold no text, no token and no address, only counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The counters of one [`crate::WsServer`]; read them with the accessors.
#[derive(Debug, Default)]
pub struct WsStats {
    opened: AtomicU64,
    frames: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl WsStats {
    /// Connections upgraded since start.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Text frames received since start.
    pub fn frames_received(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Error frames sent since start, by their stable code.
    pub fn errors_sent(&self) -> Vec<(String, u64)> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub(crate) fn opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn frame(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, code: &str) {
        let mut map = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(code) {
            Some(n) => *n += 1,
            // Codes come from a fixed set (`docs/protocol.md`), so the map stays small.
            None => {
                map.insert(code.to_owned(), 1);
            }
        }
    }
}
