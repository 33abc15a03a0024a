//! Server settings. Every default is a `const`, set explicitly on tungstenite's
//! `WebSocketConfig` rather than left to the library's defaults.

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Largest message accepted: 64 KiB. A larger one closes the connection with 1009.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;
/// Largest single frame accepted (a message may span frames up to the message limit).
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;
/// Read buffer per connection: small, since chat frames are small.
pub const DEFAULT_READ_BUFFER: usize = 8 * 1024;
/// Write buffer before a flush is forced.
pub const DEFAULT_WRITE_BUFFER: usize = 8 * 1024;
/// Most bytes buffered for writing before writes fail (the peer is not reading).
pub const DEFAULT_MAX_WRITE_BUFFER: usize = 256 * 1024;
/// Frames queued for one connection's writer; a connection this far behind is dropped
/// (close 4008) and resumes from its last sequence number.
pub const DEFAULT_WRITE_QUEUE: usize = 256;
/// An event that cannot be queued for the writer within this long means the peer is not
/// reading: the connection is closed (4008) and the participant resumes later.
pub const DEFAULT_SLOW_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server pings.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(20);
/// A peer silent this long (no frame, no pong) is closed (4010).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A session frame (`arrive`, `resume` or `login`) must come within this; `hello` and
/// `availability` do not start a session (a page that only polls availability should use
/// the server's HTTP endpoint or reconnect).
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(15);
/// Rate limit: frames allowed in a burst…
pub const DEFAULT_RATE_BURST: u32 = 30;
/// …refilled at this many per second. Over it: an `rate_limited` error frame, frame dropped.
pub const DEFAULT_RATE_PER_SEC: u32 = 10;
/// Most connections at once; more are refused with HTTP 503.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Which browser origins may open a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Any origin, and none (for tests and native clients only).
    Any,
    /// Exactly these origins (e.g. `https://clbchat.be`); `null` is refused, and a missing
    /// `Origin` unless [`WsConfig::accept_missing_origin`].
    AllowList(Vec<String>),
}

/// The WebSocket server's settings.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// See [`DEFAULT_MAX_MESSAGE`].
    pub max_message: usize,
    /// See [`DEFAULT_MAX_FRAME`].
    pub max_frame: usize,
    /// See [`DEFAULT_READ_BUFFER`].
    pub read_buffer: usize,
    /// See [`DEFAULT_WRITE_BUFFER`].
    pub write_buffer: usize,
    /// See [`DEFAULT_MAX_WRITE_BUFFER`].
    pub max_write_buffer: usize,
    /// See [`DEFAULT_WRITE_QUEUE`].
    pub write_queue: usize,
    /// See [`DEFAULT_SLOW_TIMEOUT`].
    pub slow_timeout: Duration,
    /// See [`DEFAULT_HEARTBEAT`].
    pub heartbeat: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`DEFAULT_START_TIMEOUT`].
    pub start_timeout: Duration,
    /// See [`DEFAULT_RATE_BURST`].
    pub rate_burst: u32,
    /// See [`DEFAULT_RATE_PER_SEC`].
    pub rate_per_sec: u32,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Allowed origins.
    pub origins: OriginPolicy,
    /// Whether a handshake without an `Origin` header (a native client: a partner's app, a
    /// load tester) is let in under an [`OriginPolicy::AllowList`]. Browsers always send
    /// `Origin` on a WebSocket handshake, so this opens nothing to other web pages: the
    /// origin check protects a browser's user from pages of other sites, and a client that
    /// is not a browser could send any `Origin` it likes. Off by default.
    pub accept_missing_origin: bool,
    /// Writes reports in the formats coordinators ask for; `None`: only the figures.
    pub reports: Option<std::sync::Arc<dyn crate::reports::ReportRenderer>>,
    /// Plans staffing for coordinators (`plan_staffing`); `None`: refused.
    pub planner: Option<std::sync::Arc<dyn crate::planning::Planner>>,
}

impl WsConfig {
    /// Every limit at its `DEFAULT_*`, with the given origin policy.
    pub fn new(origins: OriginPolicy) -> Self {
        Self {
            max_message: DEFAULT_MAX_MESSAGE,
            max_frame: DEFAULT_MAX_FRAME,
            read_buffer: DEFAULT_READ_BUFFER,
            write_buffer: DEFAULT_WRITE_BUFFER,
            max_write_buffer: DEFAULT_MAX_WRITE_BUFFER,
            write_queue: DEFAULT_WRITE_QUEUE,
            slow_timeout: DEFAULT_SLOW_TIMEOUT,
            heartbeat: DEFAULT_HEARTBEAT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            start_timeout: DEFAULT_START_TIMEOUT,
            rate_burst: DEFAULT_RATE_BURST,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            origins,
            accept_missing_origin: false,
            reports: None,
            planner: None,
        }
    }

    /// tungstenite's settings from these.
    pub fn websocket(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer)
            .write_buffer_size(self.write_buffer)
            .max_write_buffer_size(self.max_write_buffer.max(self.write_buffer + 1))
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_frame))
    }

    /// Whether a request's `Origin` header value is allowed.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match (&self.origins, origin) {
            (OriginPolicy::Any, _) => true,
            (OriginPolicy::AllowList(list), Some(o)) => o != "null" && list.iter().any(|a| a == o),
            (OriginPolicy::AllowList(_), None) => self.accept_missing_origin,
        }
    }
}

/// A token bucket: `burst` frames at once, refilled at `per_sec`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: tokio::time::Instant,
}

impl RateLimit {
    pub(crate) fn new(burst: u32, per_sec: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_sec: f64::from(per_sec),
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn allow(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_matches_exactly_and_refuses_null_and_missing() {
        let c = WsConfig::new(OriginPolicy::AllowList(vec!["https://clbchat.be".into()]));
        assert!(c.origin_allowed(Some("https://clbchat.be")));
        assert!(!c.origin_allowed(Some("https://clbchat.be.evil.example")));
        assert!(!c.origin_allowed(Some("http://clbchat.be")));
        assert!(!c.origin_allowed(Some("null")));
        assert!(!c.origin_allowed(None));
        assert!(WsConfig::new(OriginPolicy::Any).origin_allowed(None));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_allows_a_burst_then_refills() {
        let mut r = RateLimit::new(3, 1);
        assert!((0..3).all(|_| r.allow()));
        assert!(!r.allow());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(r.allow());
        assert!(!r.allow());
    }
}
