//! The store on a paused clock: a real-time runtime of its own for the store of a
//! simulation that runs on paused time.

use super::*;

/// A tokio runtime on real time, on a thread of its own, for the store of a simulation
/// that runs on paused time (see the module docs).
///
/// Open the store with [`StoreRuntime::run`], so that its connection pool, the pool's
/// maintenance task and its time-outs belong to this runtime, and hand the store to
/// [`play_school_year`]. Dropping it stops the runtime and waits for its thread.
pub struct StoreRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StoreRuntime {
    /// Starts the runtime and its thread.
    pub fn start() -> Result<StoreRuntime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Refused(format!("cannot start the store's runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("demo-store".into())
            .spawn(move || {
                // Runs until the sender is dropped (see `Drop`).
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| Error::Refused(format!("cannot start the store's thread: {e}")))?;
        Ok(StoreRuntime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `work` on this runtime and waits for it, keeping the caller's paused clock
    /// standing still meanwhile (see the module docs). A panic in `work` goes on
    /// in the caller.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        spawn_and_wait(&self.handle, work)
            .await
            .ok_or_else(|| Error::Refused(STOPPED.into()))
    }
}

/// Why a call on a [`StoreRuntime`] found no runtime to run on.
const STOPPED: &str = "the demo's store runtime has stopped";

/// Spawns `work` on `handle` and waits for it without letting the caller's paused clock
/// move; `None` when that runtime has stopped. A panic in `work` goes on in the caller.
async fn spawn_and_wait<T, F>(handle: &tokio::runtime::Handle, work: F) -> Option<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match without_advancing(handle.spawn(work)).await {
        Ok(out) => Some(out),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

impl Drop for StoreRuntime {
    fn drop(&mut self) {
        // A dropped sender ends the thread's `block_on`.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A store whose calls run on a [`StoreRuntime`] and keep the calling, paused tokio clock
/// standing still while they run (see the module docs). Only for simulations on paused
/// time; it adds two thread hand-offs to every call.
pub struct Unhurried {
    store: Arc<dyn Store>,
    handle: tokio::runtime::Handle,
}

impl Unhurried {
    /// `store`, opened on `runtime`, called there.
    pub fn new(store: Arc<dyn Store>, runtime: &StoreRuntime) -> Unhurried {
        Unhurried {
            store,
            handle: runtime.handle.clone(),
        }
    }

    async fn call<T, F, Fut>(&self, work: F) -> clbchat_core::Result<T>
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: std::future::Future<Output = clbchat_core::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_and_wait(&self.handle, work(self.store.clone()))
            .await
            .unwrap_or_else(|| Err(clbchat_core::Error::StoreUnavailable(STOPPED.into())))
    }
}

/// How long a call may hold the clock at most (real time); after that the clock may move
/// again, so a hung database cannot hang the simulation for ever.
const HOLD_AT_MOST: Duration = Duration::from_secs(60);

/// Runs `call` with a paused tokio clock standing still (at most [`HOLD_AT_MOST`] of real
/// time): tokio does not advance a paused clock while a blocking task runs, so this
/// holds one open until `call` is done.
async fn without_advancing<T>(call: impl std::future::Future<Output = T>) -> T {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = tokio::task::spawn_blocking(move || {
        let _ = wait.recv_timeout(HOLD_AT_MOST);
    });
    let out = call.await;
    drop(done);
    let _ = guard.await;
    out
}

#[async_trait]
impl Store for Unhurried {
    async fn put_conversation(&self, meta: &ConversationMeta) -> clbchat_core::Result<()> {
        let meta = meta.to_owned();
        self.call(move |s| async move { s.put_conversation(&meta).await })
            .await
    }
    async fn conversation(
        &self,
        id: ConversationId,
    ) -> clbchat_core::Result<Option<ConversationMeta>> {
        self.call(move |s| async move { s.conversation(id).await })
            .await
    }
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> clbchat_core::Result<Vec<ConversationMeta>> {
        let filter = filter.to_owned();
        self.call(move |s| async move { s.conversations(&filter).await })
            .await
    }
    async fn append(&self, event: &LoggedEvent) -> clbchat_core::Result<()> {
        let event = event.to_owned();
        self.call(move |s| async move { s.append(&event).await })
            .await
    }
    async fn events_after(
        &self,
        id: ConversationId,
        after_seq: u64,
    ) -> clbchat_core::Result<Vec<LoggedEvent>> {
        self.call(move |s| async move { s.events_after(id, after_seq).await })
            .await
    }
    async fn read_transcript(
        &self,
        read: &TranscriptRead,
    ) -> clbchat_core::Result<Vec<LoggedEvent>> {
        let read = read.to_owned();
        self.call(move |s| async move { s.read_transcript(&read).await })
            .await
    }
    async fn transcript_reads(
        &self,
        id: ConversationId,
    ) -> clbchat_core::Result<Vec<TranscriptRead>> {
        self.call(move |s| async move { s.transcript_reads(id).await })
            .await
    }
    async fn forget_visits(
        &self,
        arrived_before: chrono::DateTime<chrono::Utc>,
    ) -> clbchat_core::Result<u64> {
        self.call(move |s| async move { s.forget_visits(arrived_before).await })
            .await
    }
    async fn read_audit(
        &self,
        filter: &clbchat_core::store::ReadAuditFilter,
    ) -> clbchat_core::Result<Vec<clbchat_core::store::ReadAuditRow>> {
        let filter = filter.clone();
        self.call(move |s| async move { s.read_audit(&filter).await })
            .await
    }
    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> clbchat_core::Result<u64> {
        self.call(move |s| async move { s.purge_transcripts(ended_before).await })
            .await
    }
    async fn erase(
        &self,
        request: &clbchat_core::review::EraseRequest,
    ) -> clbchat_core::Result<u64> {
        let request = request.clone();
        self.call(move |s| async move { s.erase(&request).await })
            .await
    }
    async fn erasures(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> clbchat_core::Result<Vec<clbchat_core::review::Erasure>> {
        let desk = desk.cloned();
        self.call(move |s| async move { s.erasures(desk.as_ref(), from, to).await })
            .await
    }
    async fn put_feedback(
        &self,
        feedback: &clbchat_core::review::Feedback,
    ) -> clbchat_core::Result<()> {
        let feedback = feedback.clone();
        self.call(move |s| async move { s.put_feedback(&feedback).await })
            .await
    }
    async fn feedback(
        &self,
        conversation: ConversationId,
    ) -> clbchat_core::Result<Option<clbchat_core::review::Feedback>> {
        self.call(move |s| async move { s.feedback(conversation).await })
            .await
    }
    async fn feedback_list(
        &self,
        filter: &clbchat_core::review::FeedbackFilter,
    ) -> clbchat_core::Result<Vec<clbchat_core::review::Feedback>> {
        let filter = filter.clone();
        self.call(move |s| async move { s.feedback_list(&filter).await })
            .await
    }
    async fn purge_client_files(&self, before: DateTime<Utc>) -> clbchat_core::Result<u64> {
        self.call(move |s| async move { s.purge_client_files(before).await })
            .await
    }
    async fn save_registration(&self, registration: &Registration) -> clbchat_core::Result<()> {
        let registration = registration.to_owned();
        self.call(move |s| async move { s.save_registration(&registration).await })
            .await
    }
    async fn registration(&self, id: ConversationId) -> clbchat_core::Result<Option<Registration>> {
        self.call(move |s| async move { s.registration(id).await })
            .await
    }
    async fn save_rating(&self, rating: &Rating) -> clbchat_core::Result<()> {
        let rating = rating.to_owned();
        self.call(move |s| async move { s.save_rating(&rating).await })
            .await
    }
    async fn rating(&self, id: ConversationId) -> clbchat_core::Result<Option<Rating>> {
        self.call(move |s| async move { s.rating(id).await }).await
    }
    async fn count_visits(
        &self,
        pseudonym: &Pseudonym,
        since: DateTime<Utc>,
    ) -> clbchat_core::Result<u32> {
        let pseudonym = pseudonym.to_owned();
        self.call(move |s| async move { s.count_visits(&pseudonym, since).await })
            .await
    }
    async fn put_flag(&self, flag: &Flag) -> clbchat_core::Result<()> {
        let flag = flag.to_owned();
        self.call(move |s| async move { s.put_flag(&flag).await })
            .await
    }
    async fn flag(&self, id: FlagId) -> clbchat_core::Result<Option<Flag>> {
        self.call(move |s| async move { s.flag(id).await }).await
    }
    async fn flags_for(&self, pseudonym: &Pseudonym) -> clbchat_core::Result<Vec<Flag>> {
        let pseudonym = pseudonym.to_owned();
        self.call(move |s| async move { s.flags_for(&pseudonym).await })
            .await
    }
    async fn flags_to_review(
        &self,
        desk: Option<&DeskId>,
        now: DateTime<Utc>,
    ) -> clbchat_core::Result<Vec<Flag>> {
        let desk = desk.cloned();
        self.call(move |s| async move { s.flags_to_review(desk.as_ref(), now).await })
            .await
    }
    async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> clbchat_core::Result<()> {
        let old = old.to_owned();
        let new = new.to_owned();
        self.call(move |s| async move { s.rekey_pseudonym(&old, &new).await })
            .await
    }
    async fn put_account(&self, account: &Account) -> clbchat_core::Result<()> {
        let account = account.to_owned();
        self.call(move |s| async move { s.put_account(&account).await })
            .await
    }
    async fn account(&self, username: &str) -> clbchat_core::Result<Option<Account>> {
        let username = username.to_owned();
        self.call(move |s| async move { s.account(&username).await })
            .await
    }
    async fn accounts(&self) -> clbchat_core::Result<Vec<Account>> {
        self.call(move |s| async move { s.accounts().await }).await
    }
    async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> clbchat_core::Result<()> {
        let desk = desk.to_owned();
        let calendar = calendar.to_owned();
        self.call(move |s| async move { s.put_calendar(&desk, &calendar).await })
            .await
    }
    async fn calendar(&self, desk: &DeskId) -> clbchat_core::Result<Option<Calendar>> {
        let desk = desk.to_owned();
        self.call(move |s| async move { s.calendar(&desk).await })
            .await
    }
    async fn calendars(&self) -> clbchat_core::Result<Vec<(DeskId, Calendar)>> {
        self.call(move |s| async move { s.calendars().await }).await
    }

    async fn put_appointment(&self, appointment: &Appointment) -> clbchat_core::Result<()> {
        let appointment = appointment.to_owned();
        self.call(move |s| async move { s.put_appointment(&appointment).await })
            .await
    }

    async fn appointment(&self, id: AppointmentId) -> clbchat_core::Result<Option<Appointment>> {
        self.call(move |s| async move { s.appointment(id).await })
            .await
    }

    async fn appointment_by_token(
        &self,
        token_hash: &str,
    ) -> clbchat_core::Result<Option<Appointment>> {
        let token_hash = token_hash.to_owned();
        self.call(move |s| async move { s.appointment_by_token(&token_hash).await })
            .await
    }

    async fn appointments(
        &self,
        filter: &AppointmentFilter,
    ) -> clbchat_core::Result<Vec<Appointment>> {
        let filter = filter.to_owned();
        self.call(move |s| async move { s.appointments(&filter).await })
            .await
    }
    async fn put_centre(&self, centre: &Centre) -> clbchat_core::Result<()> {
        let centre = centre.to_owned();
        self.call(move |s| async move { s.put_centre(&centre).await })
            .await
    }
    async fn centre(&self, id: &CentreId) -> clbchat_core::Result<Option<Centre>> {
        let id = id.to_owned();
        self.call(move |s| async move { s.centre(&id).await }).await
    }
    async fn centres(&self) -> clbchat_core::Result<Vec<Centre>> {
        self.call(move |s| async move { s.centres().await }).await
    }
    async fn summary(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> clbchat_core::Result<Summary> {
        let desk = desk.cloned();
        self.call(move |s| async move { s.summary(desk.as_ref(), from, until).await })
            .await
    }
    async fn record_coverage(&self, sample: &CoverageSample) -> clbchat_core::Result<()> {
        let sample = sample.to_owned();
        self.call(move |s| async move { s.record_coverage(&sample).await })
            .await
    }
    async fn report(&self, query: &ReportQuery) -> clbchat_core::Result<ReportData> {
        let query = query.to_owned();
        self.call(move |s| async move { s.report(&query).await })
            .await
    }
}
