//! Assembling a server: store, engine, WebSocket server, HTTP routes, metrics, the retention
//! purge, and the graceful stop. The three service binaries differ only in their desk
//! settings; they all start an [`App`].
//!
//! # Stopping
//!
//! [`App::run`] ends when its shutdown future completes (SIGTERM or Ctrl-C in the binary;
//! a trigger in tests). Then, in order: `/readyz` answers 503 on connections still open and
//! new sockets are refused; the listener stops accepting; every participant is told the server restarts and
//! is disconnected (close code 1012, so the pages reconnect by themselves); the connections
//! are given until `server.shutdown_deadline_secs` to close; the store flushes and closes
//! (with 2 s more at most, so a hung database cannot hold the process).
//! Conversations stay in the store as they were, and the next start recovers them, so a
//! visitor resumes their chat within the reconnect grace period.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clbchat_core::calendar::Calendar;
use clbchat_core::centre::Centre;
use clbchat_core::clock::Clock;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::Engine;
use clbchat_core::ids::DeskId;
use clbchat_core::partner::PartnerLine;
use clbchat_core::store::memory::MemoryStore;
use clbchat_core::store::Store;
use clbchat_store_sql::{SqlOptions, SqlStore};
use clbchat_transport_ws::{OriginPolicy, WsConfig, WsServer};
use tokio::net::TcpListener;

use crate::bootstrap::Setup;
use crate::error::{Error, Result};
use crate::http::Pages;
use crate::metrics::Metrics;
use crate::partner::LinkPartner;
use crate::settings::Settings;

/// What the HTTP handlers share.
pub struct Shared {
    /// The settings in force.
    pub settings: Settings,
    /// The service's own desk (the national desk, blended chat's); `None` on a server of
    /// the centres' chatboxes only ([`Desks::Centres`]).
    pub desk: Option<DeskConfig>,
    /// Whether it hosts the centres' chatboxes (Chat-met-je-CLB).
    pub hosts_centres: bool,
    /// Blended chat's desk when this server hosts it beside its own desk
    /// (`sector.host_blended`; its pages under `/blended/`, see [`crate::blended`]).
    pub blended: Option<DeskId>,
    /// The engine.
    pub engine: Engine,
    /// The store (for readiness checks and account bootstrap).
    pub store: Arc<dyn Store>,
    /// The SQL store behind `store`, to flush and close at the stop (`None` in memory).
    sql: Option<Arc<SqlStore>>,
    /// The WebSocket server.
    pub ws: Arc<WsServer>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The one-time setup of the first coordinator, while no coordinator exists.
    pub setup: Setup,
    /// Set when stopping: `/readyz` answers 503.
    pub draining: AtomicBool,
    /// The service's pages.
    pub pages: Pages,
}

impl Shared {
    /// The desks the first coordinator (made with the setup link) coordinates: the
    /// server's own desk and blended chat's beside it. None on a server of the centres'
    /// boxes, where the first account is the sector's administrator, who makes the rest.
    pub fn first_coordinator_desks(&self) -> Vec<DeskId> {
        match &self.desk {
            Some(own) => std::iter::once(own.id.clone())
                .chain(self.blended.clone())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Makes sure the engine hosts `centre`'s chatbox (a centre added to the store while
    /// the server runs, by the sector's administrator or by `centres import`). Only on a
    /// server that hosts the centres.
    pub async fn host_centre(&self, centre: &Centre) -> Result<()> {
        self.engine.host_centre(centre).await?;
        Ok(())
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("desk", &self.desk.as_ref().map(|d| &d.id))
            .field("hosts_centres", &self.hosts_centres)
            .field("blended", &self.blended)
            .field(
                "storage",
                &crate::settings::redact_url(&self.settings.storage.url),
            )
            .field("connections", &self.ws.connections())
            .field("draining", &self.draining)
            .finish_non_exhaustive()
    }
}

/// A server, bound and ready to run.
#[derive(Debug)]
pub struct App {
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
    setup_link: Option<String>,
}

/// How the desk of these settings is configured (with the calendar file read).
pub fn desk_config(settings: &Settings) -> Result<DeskConfig> {
    settings.desk_with(settings.calendar()?)
}

/// The national desk of the settings, as a service's only desk ([`crate::service::Service::desks`]).
pub fn national_desk(settings: &Settings) -> Result<Desks> {
    Ok(Desks::One(Box::new(desk_config(settings)?)))
}

/// Every centre's chatbox and no desk of its own ([`crate::service::Service::desks`]).
pub fn centres_only(_: &Settings) -> Result<Desks> {
    Ok(Desks::Centres)
}

/// What every centre's chatbox is made from: a chatbox with the `[desk]` section's
/// limits; the engine gives each its centre's id and name and an events-only calendar
/// (see `clbchat_core::engine::centres`).
pub fn chatbox_template(settings: &Settings) -> Result<DeskConfig> {
    settings.apply_desk(DeskConfig::chatbox(
        "centre",
        "centre",
        Calendar::events_only(Vec::new()),
    ))
}

/// Says which calendar is in force for the service's own desk: the one a coordinator
/// saved, the settings' calendar file, or none (open around the clock).
async fn log_calendar_source(store: &dyn Store, settings: &Settings, desk: &DeskId) -> Result<()> {
    let saved = store.calendar(desk).await?.is_some();
    match (saved, &settings.desk.calendar_file) {
        (true, Some(file)) => tracing::warn!(
            desk = %desk,
            file = %file.display(),
            "desk.calendar_file is not used: the calendar a coordinator saved on the \
             coordinator page is in force (edit it there)"
        ),
        (true, None) => {
            tracing::info!(desk = %desk, "calendar in force: the one a coordinator saved")
        }
        (false, Some(file)) => {
            tracing::info!(desk = %desk, file = %file.display(), "calendar in force: desk.calendar_file")
        }
        (false, None) => tracing::warn!(
            desk = %desk,
            "no desk.calendar_file: the desk is open around the clock until a \
             coordinator saves a calendar"
        ),
    }
    Ok(())
}

/// The `storage.url` that keeps everything in the server's memory (see
/// [`crate::settings::StorageSettings::url`]).
pub const MEMORY_STORAGE_URL: &str = "memory:";

/// Opens the database the settings name (creating a SQLite file's folder) and applies the
/// migrations. With `storage.url = "memory:"` there is no database: the commands that
/// work on one (`migrate`, `accounts`) say so.
pub async fn open_store(settings: &Settings) -> Result<SqlStore> {
    let mut options = SqlOptions::new();
    options.durability = settings.storage.durability.into();
    options.sqlite_appends_file = settings.storage.appends_file;
    open_store_with(settings, options).await
}

/// A key-file problem (missing, foreign, unreadable) is the key file's setting's to say.
fn storage_error(e: clbchat_core::Error) -> Error {
    let text = e.to_string();
    match text.find("the key file `") {
        Some(at) => Error::Config(format!("storage.key_file: {}", &text[at..])),
        None => Error::Config(format!("storage.url: cannot open the database: {text}")),
    }
}

/// [`open_store`] with other options than the settings give (e.g. for demo data).
pub async fn open_store_with(settings: &Settings, options: SqlOptions) -> Result<SqlStore> {
    let url = &settings.storage.url;
    if url == MEMORY_STORAGE_URL {
        return Err(Error::Config(format!(
            "storage.url: `{MEMORY_STORAGE_URL}` keeps nothing once the server stops, so there \
             is no database to work on; write sqlite://PATH or postgres://USER@HOST/DB"
        )));
    }
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        crate::files::create_parent(std::path::Path::new(path))?;
    }
    let mut options = options;
    options.key_file = settings.storage.key_file.clone();
    if options.key_file.is_none() && url.starts_with("postgres") {
        return Err(Error::Config(
            "storage.key_file: a PostgreSQL database needs a key file for its conversations' \
             keys: set it to a file on this machine, apart from the database's backups \
             (e.g. \"/var/lib/clbchat/conversation-keys.db\")"
                .into(),
        ));
    }
    let store = SqlStore::connect(url, options)
        .await
        .map_err(storage_error)?;
    store.migrate().await?;
    Ok(store)
}

/// Which desks a server hosts ([`Parts::desks`]).
#[derive(Debug, Default)]
pub enum Desks {
    /// The national desk of the settings ([`desk_config`]).
    #[default]
    Settings,
    /// One desk of the service's own (blended chat's, or a national desk built in code).
    One(Box<DeskConfig>),
    /// Every centre's chatbox (Chat-met-je-CLB): a desk per centre in the store
    /// ([`chatbox_template`]), and those the sector's administrator adds while it runs; no
    /// desk of its own.
    Centres,
}

/// What a program that embeds the server (or a test of the whole server) may put in place
/// beyond the settings: the parts a deployer never sets. Each `None` is the default.
#[derive(Default)]
pub struct Parts {
    /// The desks; default: the national desk of the settings.
    pub desks: Desks,
    /// The wall clock the calendar reads; `None`: the system's.
    pub clock: Option<Arc<dyn Clock>>,
    /// Partner lines besides the settings' link partners (a partner reached by an API).
    pub partners: Vec<Arc<dyn PartnerLine>>,
    /// The step of the delays after failed logins (see
    /// [`clbchat_core::engine::EngineBuilder::login_delay_unit`]); `None`: one second.
    pub login_delay_unit: Option<Duration>,
    /// Changes to the WebSocket limits once the settings are applied: the timeouts of
    /// `docs/protocol.md` §9 that a test shortens to see them happen.
    pub transport: Option<TransportChange>,
    /// The service's pages; default: none (socket, API, health and metrics only).
    pub pages: Option<Pages>,
}

/// A change to the WebSocket limits ([`Parts::transport`]).
pub type TransportChange = Box<dyn FnOnce(&mut WsConfig) + Send>;

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("desks", &self.desks)
            .field("clock", &self.clock.is_some())
            .field("partners", &self.partners.len())
            .field("login_delay_unit", &self.login_delay_unit)
            .field("transport", &self.transport.is_some())
            .field("pages", &self.pages.map_or(0, |p| p.pages.len()))
            .finish()
    }
}

impl App {
    /// The national desk of these settings (see [`desk_config`]); see [`App::start_with`].
    pub async fn start(settings: Settings) -> Result<App> {
        Self::start_with(settings, Parts::default()).await
    }

    /// Opens the store, builds the engine with the desk of `parts` (or the settings'),
    /// recovers live conversations, and binds the listener. Nothing is served until
    /// [`App::run`].
    pub async fn start_with(settings: Settings, parts: Parts) -> Result<App> {
        let hosts_centres = matches!(parts.desks, Desks::Centres) || settings.sector.host_centres;
        let desk = match parts.desks {
            Desks::Settings => Some(desk_config(&settings)?),
            Desks::One(desk) => Some(*desk),
            Desks::Centres => None,
        };
        let blended = if settings.sector.host_blended {
            if desk
                .as_ref()
                .is_some_and(|d| d.admission == clbchat_core::config::Admission::Appointment)
            {
                return Err(Error::Config(
                    "sector.host_blended: this server's own desk is blended chat already; \
                     leave it false here"
                        .into(),
                ));
            }
            Some(crate::blended::desk(
                &settings.sector.blended_desk.desk_settings(),
                "sector.blended_desk",
            )?)
        } else {
            None
        };
        let (store, sql): (Arc<dyn Store>, Option<Arc<SqlStore>>) =
            if settings.storage.url == MEMORY_STORAGE_URL {
                tracing::warn!(
                    "storage.url = \"memory:\": nothing is kept when the server stops \
                     (for trials and benchmarks only)"
                );
                (Arc::new(MemoryStore::new()), None)
            } else {
                let sql = Arc::new(open_store(&settings).await?);
                (sql.clone(), Some(sql))
            };
        let (pseudonyms, created) = crate::keys::load_or_create(&settings.pseudonyms.key_file)?;
        if created {
            tracing::info!(
                file = %settings.pseudonyms.key_file.display(),
                "created a new pseudonym key file; keep it and back it up"
            );
        }
        let metrics = Metrics::new();
        let mut builder = Engine::builder(store.clone())
            .pseudonyms(pseudonyms)
            .observer(metrics.clone());
        for p in &settings.partners {
            builder = builder.partner(Arc::new(LinkPartner::new(p.clone())));
        }
        for p in parts.partners {
            builder = builder.partner(p);
        }
        if let Some(clock) = parts.clock {
            builder = builder.clock(clock);
        }
        if let Some(unit) = parts.login_delay_unit {
            builder = builder.login_delay_unit(unit);
        }
        if hosts_centres {
            builder = builder.centres(chatbox_template(&settings)?);
        }
        let engine = builder.build();
        if let Some(desk) = &desk {
            engine.add_desk(desk.clone()).await?;
            log_calendar_source(store.as_ref(), &settings, &desk.id).await?;
        }
        if let Some(blended) = &blended {
            engine.add_desk(blended.clone()).await?;
            tracing::info!(desk = %blended.id, "blended chat is here too, under /blended/");
        }
        if hosts_centres {
            let centres = store.centres().await?;
            for centre in &centres {
                engine.host_centre(centre).await?;
            }
            if centres.is_empty() {
                tracing::warn!(
                    "no centre exists yet: the sector's administrator adds them (or import a \
                     file with the `centres import` command)"
                );
            } else {
                tracing::info!(centres = centres.len(), "the centres' chatboxes are here");
            }
        }
        let recovered = engine.recover().await?;
        if recovered.waiting + recovered.active > 0 {
            tracing::info!(
                waiting = recovered.waiting,
                active = recovered.active,
                "resuming the chats that were live at the last stop"
            );
        }

        crate::edge::raise_fd_limit(
            settings.server.max_connections,
            settings.server.max_pending_connections,
        );
        let listen = settings.server.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
        let origins = if settings.server.allowed_origins.is_empty() {
            let port = addr.port();
            let mut o = vec![
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ];
            let own = format!("http://{addr}");
            if !o.contains(&own) {
                o.push(own);
            }
            o
        } else {
            settings.server.allowed_origins.clone()
        };
        let mut ws_config = WsConfig::new(OriginPolicy::AllowList(origins));
        ws_config.max_connections = settings.server.max_connections;
        ws_config.accept_missing_origin = settings.server.accept_clients_without_origin;
        ws_config.rate_per_sec = settings.server.frames_per_second;
        ws_config.rate_burst = settings.server.frame_burst;
        ws_config.reports = Some(Arc::new(crate::report::ServerRenderer {
            engine: engine.clone(),
        }));
        ws_config.planner = Some(Arc::new(crate::simulate::planner::ServerPlanner));
        if let Some(change) = parts.transport {
            change(&mut ws_config);
        }
        let ws = WsServer::new(engine.clone(), ws_config);

        let setup = Setup::default();
        let setup_link = if crate::bootstrap::needs_first_coordinator(
            store.as_ref(),
            desk.as_ref().map(|d| &d.id),
        )
        .await?
        {
            let token = setup.arm();
            let host = if addr.ip().is_unspecified() {
                format!("127.0.0.1:{}", addr.port())
            } else {
                addr.to_string()
            };
            Some(format!("http://{host}/setup#token={token}"))
        } else {
            None
        };

        Ok(App {
            shared: Arc::new(Shared {
                settings,
                desk,
                hosts_centres,
                blended: blended.map(|d| d.id),
                engine,
                store,
                sql,
                ws,
                metrics,
                setup,
                draining: AtomicBool::new(false),
                pages: parts.pages.unwrap_or(Pages::NONE),
            }),
            listener,
            addr,
            setup_link,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one-time link that creates the first coordinator, when none exists yet. It holds
    /// a secret: the binary prints it on the console, never in the logs.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// What the handlers share (tests read the engine and the store through it).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Serves on a background task, for programs that embed the server (and tests): the
    /// returned handle stops it gracefully.
    pub fn spawn(self) -> Running {
        let addr = self.addr;
        let shared = self.shared.clone();
        let setup_link = self.setup_link.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            let _ = stopped.await;
        }));
        Running {
            addr,
            shared,
            setup_link,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Serves until `shutdown` completes, then stops gracefully (see the module docs).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        let shared = self.shared;
        let router = crate::http::router(shared.clone());
        let purge = tokio::spawn(purge_loop(shared.clone()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let listener = self.listener;
        // The edge sets TCP_NODELAY on every accepted socket (a chat frame goes out at once
        // instead of waiting for the peer's delayed acknowledgement of the last one;
        // measured by the load generator: p99.9 13.3 → 6.6 ms at 10,000 msg/s), a deadline
        // for request heads, and a cap on connections that have sent nothing yet.
        let limits = crate::edge::EdgeLimits {
            request_head_timeout: Duration::from_secs(
                shared.settings.server.request_head_timeout_secs,
            ),
            max_pending: shared.settings.server.max_pending_connections,
        };
        let server = tokio::spawn(crate::edge::serve(listener, router, limits, stop_rx));
        tracing::info!(addr = %self.addr, "serving");
        shutdown.await;
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(shared.settings.server.shutdown_deadline_secs);
        tracing::info!("stopping: no new connections; telling clients the server restarts");
        shared.draining.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(());
        purge.abort();
        if tokio::time::timeout_at(deadline, shared.engine.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("shutdown deadline reached while telling clients");
        }
        // Sockets close as their writers flush the restart notice.
        let drained = tokio::time::timeout_at(deadline, shared.ws.wait_idle()).await;
        if drained.is_err() {
            tracing::warn!(
                open = shared.ws.connections(),
                "shutdown deadline reached with connections still open"
            );
        }
        match tokio::time::timeout_at(deadline, server).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
            Err(_) => tracing::warn!("shutdown deadline reached with HTTP requests in flight"),
        }
        // The store gets its own short grace after the deadline: a hung database must not
        // keep a stopping server alive, but a healthy one flushes in milliseconds.
        let flush = deadline.max(tokio::time::Instant::now()) + Duration::from_secs(2);
        let close = async {
            if let Some(sql) = &shared.sql {
                sql.close().await;
            }
        };
        if tokio::time::timeout_at(flush, close).await.is_err() {
            tracing::warn!("the store did not close in time; unacknowledged writes are lost, acknowledged ones are on disk");
        } else {
            tracing::info!("stopped; the store is flushed and closed");
        }
    }
}

/// A server serving on a background task ([`App::spawn`]). Dropping it stops the server
/// without waiting; [`Running::stop`] waits until it has stopped.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// What the handlers share (engine, store, settings).
    pub shared: Arc<Shared>,
    /// The one-time setup link, when no coordinator existed at start.
    pub setup_link: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops gracefully and waits until the store is closed. A panic while serving or
    /// stopping is passed on to the caller.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            if let Err(e) = t.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Deletes transcripts past the retention period, once at start and then every
/// `storage.purge_interval_minutes`: the anonymous desks' after `storage.retention_days`
/// (with their rating comments and nicknames), blended chat's client files
/// `storage.client_file_months` after their trajectory's last appointment; and forgets the
/// pseudonym of chats older than `pseudonyms.history_days`. Registrations, ratings' stars
/// and the appointments themselves are kept.
async fn purge_loop(shared: Arc<Shared>) {
    let storage = &shared.settings.storage;
    let every = Duration::from_secs(storage.purge_interval_minutes * 60);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = chrono::Utc::now();
        let cutoff = clbchat_store_sql::retention_cutoff(now, storage.retention_days);
        match shared.store.purge_transcripts(cutoff).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "retention purge"),
            Ok(_) => tracing::debug!("retention purge: nothing to delete"),
            Err(e) => tracing::warn!(
                error.code = e.code(),
                "retention purge failed; retrying later"
            ),
        }
        let history =
            now - chrono::Duration::days(i64::from(shared.settings.pseudonyms.history_days));
        match shared.store.forget_visits(history).await {
            Ok(n) if n > 0 => tracing::info!(forgot = n, "visit history purge"),
            Ok(_) => tracing::debug!("visit history purge: nothing to forget"),
            Err(e) => tracing::warn!(
                error.code = e.code(),
                "visit history purge failed; retrying later"
            ),
        }
        let cutoff = clbchat_store_sql::client_file_cutoff(now, storage.client_file_months);
        match shared.store.purge_client_files(cutoff).await {
            Ok(n) if n > 0 => tracing::info!(trajectories = n, "client file purge"),
            Ok(_) => tracing::debug!("client file purge: nothing to delete"),
            Err(e) => tracing::warn!(
                error.code = e.code(),
                "client file purge failed; retrying later"
            ),
        }
    }
}
