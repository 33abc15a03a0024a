//! The edge: accepting TCP connections and reading HTTP requests, so that nobody can shut
//! the door on the visitors.
//!
//! # What it defends against
//!
//! Connections that send half a request and wait (or nothing at all) each hold a file
//! descriptor. Nineteen thousand of them once exhausted the server's descriptors: `/healthz`
//! and `/ws` stopped answering and no visitor could arrive or resume. Three rules keep the
//! door open:
//!
//! - **A deadline for a request's head** ([`EdgeLimits::request_head_timeout`]): a
//!   connection that has not sent a whole request head within it (the first one, or the
//!   next one on a kept-alive connection) is closed. This is hyper's `header_read_timeout`,
//!   which needs a timer that `axum::serve` does not give it; that is why this module
//!   serves the router itself.
//! - **A cap on connections that have not yet sent a request**
//!   ([`EdgeLimits::max_pending`]), separate from the WebSocket cap: when it is full, the
//!   *oldest* such connection is closed to make room for the new one, if it has waited
//!   [`PENDING_GRACE`] already. A real visitor sends its request head within milliseconds of
//!   connecting, so it is past this stage before a flood can push it out; a flood only
//!   pushes out itself. Refusing the newest instead would hand the door to whoever holds
//!   the slots. A burst of real clients (a connect storm) is younger than the grace and is
//!   not pushed out: the cap may then be exceeded, up to [`HARD_CAP_FACTOR`] times, beyond
//!   which the oldest goes whatever its age.
//! - **A file-descriptor budget checked at start** ([`raise_fd_limit`]): the soft limit is
//!   raised to the hard one, and a warning says when it is still below what the caps need.
//!
//! Each accepted socket gets `TCP_NODELAY` (a chat frame goes out at once). Stopping: the
//! listener stops accepting, every connection is asked to finish its request and close
//! (hyper's graceful shutdown), and [`serve`] returns when the last one has; upgraded
//! WebSockets live on in the transport, which the app stops separately.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

/// How long a client may take to send a request's head, by default.
pub const DEFAULT_REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections that have not sent a request yet, at most, by default.
pub const DEFAULT_MAX_PENDING: usize = 1_024;

/// A connection that has sent nothing for this long may be pushed out by a newer one.
pub const PENDING_GRACE: Duration = Duration::from_secs(1);

/// Past this many times [`EdgeLimits::max_pending`], the oldest goes whatever its age.
pub const HARD_CAP_FACTOR: usize = 4;

/// Descriptors kept free beside the caps (the database, log files, the listener, …).
const FD_MARGIN: u64 = 256;

/// The edge's limits.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// See [`DEFAULT_REQUEST_HEAD_TIMEOUT`].
    pub request_head_timeout: Duration,
    /// See [`DEFAULT_MAX_PENDING`].
    pub max_pending: usize,
}

impl Default for EdgeLimits {
    /// Each at its `DEFAULT_*`.
    fn default() -> Self {
        Self {
            request_head_timeout: DEFAULT_REQUEST_HEAD_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

/// Connections that have not sent a request yet, oldest first, each with the means to
/// close it.
#[derive(Default)]
struct Pending {
    next: u64,
    order: VecDeque<u64>,
    live: HashMap<u64, (tokio::time::Instant, oneshot::Sender<()>)>,
}

impl Pending {
    /// Registers a new connection; when `max` are pending already, the oldest is told to
    /// close if it has waited [`PENDING_GRACE`] (at [`HARD_CAP_FACTOR`] × `max`, whatever
    /// its age). Returns the new one's id.
    fn admit(&mut self, kill: oneshot::Sender<()>, max: usize, now: tokio::time::Instant) -> u64 {
        let max = max.max(1);
        while self.live.len() >= max {
            // Skip ids of connections that settled meanwhile.
            while self
                .order
                .front()
                .is_some_and(|id| !self.live.contains_key(id))
            {
                self.order.pop_front();
            }
            let Some(&oldest) = self.order.front() else {
                break;
            };
            let young = self
                .live
                .get(&oldest)
                .is_some_and(|(since, _)| now.saturating_duration_since(*since) < PENDING_GRACE);
            if young && self.live.len() < max.saturating_mul(HARD_CAP_FACTOR) {
                break;
            }
            self.order.pop_front();
            if let Some((_, k)) = self.live.remove(&oldest) {
                let _ = k.send(());
            }
        }
        // Ids of connections that settled meanwhile are skipped when they come up.
        if self.order.len() > 4 * max.max(1) {
            let live = &self.live;
            self.order.retain(|id| live.contains_key(id));
        }
        self.next += 1;
        self.order.push_back(self.next);
        self.live.insert(self.next, (now, kill));
        self.next
    }

    /// The connection sent a request (or ended): no longer pending.
    fn settle(&mut self, id: u64) {
        self.live.remove(&id);
    }
}

/// Serves `router` on `listener` until `stop` fires (or is dropped), then stops gracefully
/// (see the module docs).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: EdgeLimits,
    stop: oneshot::Receiver<()>,
) {
    let pending = Arc::new(Mutex::new(Pending::default()));
    let (stopping_tx, stopping) = watch::channel(false);
    // Every connection task holds a sender; when all are dropped, every connection ended.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_head_timeout)
        .keep_alive(true);
    let service = TowerToHyperService::new(router);
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: never end the loop for it.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let (kill_tx, kill) = oneshot::channel();
        let id = pending.lock().unwrap_or_else(|p| p.into_inner()).admit(
            kill_tx,
            limits.max_pending,
            tokio::time::Instant::now(),
        );
        let settle = {
            let pending = pending.clone();
            move || {
                pending.lock().unwrap_or_else(|p| p.into_inner()).settle(id);
            }
        };
        let svc = {
            let service = service.clone();
            let settle = settle.clone();
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                settle();
                service.call(req)
            })
        };
        let conn = builder.serve_connection(TokioIo::new(tcp), svc);
        let mut stopping = stopping.clone();
        let alive = alive_tx.clone();
        tokio::spawn(async move {
            let conn = conn.with_upgrades();
            tokio::pin!(conn);
            let mut kill = kill;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    // Pushed out by newer connections while it had not sent a request.
                    Ok(()) = &mut kill => break,
                    Ok(()) = stopping.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
            settle();
            drop(alive);
        });
    }
    let _ = stopping_tx.send(true);
    drop(alive_tx);
    // Wait for the connections to finish their requests.
    let _ = alive_rx.recv().await;
}

/// Raises the soft limit on open files to the hard one, and warns when it stays below what
/// `connections` WebSockets plus `pending` unanswered connections need (with a margin for
/// the database and logs). Returns the soft limit in force, where the system has one.
pub fn raise_fd_limit(connections: usize, pending: usize) -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum) {
            if soft < hard {
                limit.current = Some(hard);
                if setrlimit(Resource::Nofile, limit).is_err() {
                    limit.current = Some(soft);
                }
            }
        }
        let soft = limit.current?;
        let needed = u64::try_from(connections.saturating_add(pending))
            .unwrap_or(u64::MAX)
            .saturating_add(FD_MARGIN);
        if soft < needed {
            tracing::warn!(
                limit = soft,
                needed,
                "the open-file limit is below what server.max_connections and \
                 server.max_pending_connections need: raise it (ulimit -n, or LimitNOFILE= \
                 for systemd) or lower those settings"
            );
        } else {
            tracing::info!(limit = soft, needed, "open-file limit");
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        let _ = (connections, pending);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(p: &mut Pending, max: usize, now: tokio::time::Instant) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        p.admit(tx, max, now);
        rx
    }

    #[test]
    fn a_full_pending_list_pushes_out_the_oldest_not_the_newest() {
        let t0 = tokio::time::Instant::now();
        let later = t0 + PENDING_GRACE;
        let mut p = Pending::default();
        let mut first: Vec<_> = (0..3).map(|_| admit(&mut p, 3, t0)).collect();
        // The second settles (it sent its request): it is never pushed out.
        p.settle(2);
        let mut newer: Vec<_> = (0..3).map(|_| admit(&mut p, 3, later)).collect();
        assert_eq!(first[0].try_recv(), Ok(()), "the oldest pending was closed");
        assert!(first[1].try_recv().is_err(), "a settled one is left alone");
        assert_eq!(first[2].try_recv(), Ok(()), "then the next oldest");
        assert!(
            newer.iter_mut().all(|k| k.try_recv().is_err()),
            "the newest stay"
        );
        assert_eq!(p.live.len(), 3);
    }

    #[test]
    fn a_burst_younger_than_the_grace_is_not_pushed_out_below_the_hard_cap() {
        let t0 = tokio::time::Instant::now();
        let mut p = Pending::default();
        let mut burst: Vec<_> = (0..3 * HARD_CAP_FACTOR)
            .map(|_| admit(&mut p, 3, t0))
            .collect();
        assert!(burst.iter_mut().all(|k| k.try_recv().is_err()));
        assert_eq!(p.live.len(), 3 * HARD_CAP_FACTOR);
        // At the hard cap the oldest goes, young or not.
        drop(admit(&mut p, 3, t0));
        assert_eq!(burst[0].try_recv(), Ok(()));
        assert_eq!(p.live.len(), 3 * HARD_CAP_FACTOR);
    }
}
