//! The dispatcher: PostgreSQL is the queue. Lanes claim due deliveries in batches, send them
//! concurrently, and give the results to one writer task, which commits whatever batches have
//! ended by the time it is free together (see [`recorder`]). Deliveries that a
//! publish in this process makes skip the claim: they are written leased to this process and
//! handed over directly (see [`handoff`]), and each handed batch is sent and recorded in a task
//! of its own, beside the lanes.
//!
//! At-least-once: a delivery is durable and leased by this process before it is sent (the
//! claim commits first, or the publish wrote the lease in the transaction that made the
//! delivery durable), and only a committed result stops it being sent again. A lane takes
//! its share of the process's in-flight capacity before it claims, so nothing claimed ever
//! waits for a slot, and the lease (see [`claim`]) covers the longest attempt plus a margin.

pub mod claim;
pub mod handoff;
pub mod limits;
pub mod owner;
pub mod record;
pub mod recorder;
pub mod resolver;
pub mod send;

use crate::domain::attempt::next_step;
use crate::domain::ids::event_ref;
use crate::domain::outcome::chrono_delay;
use crate::domain::retry::RetryPolicy;
use crate::domain::webhook::{SigningInput, masked_for_log, request_headers};
use crate::server::alerts::window::AttemptWindow;
use crate::server::crypto::SecretBox;
use claim::{EndpointConfig, Job};
use handoff::{Handed, Handoff};
use limits::{Admission, Limits};
use rand::Rng;
use record::{AttemptRow, Batch, Deferral};
use recorder::Recorder;
use send::{Sender, Sent};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tracing::Instrument;
use uuid::Uuid;

/// The channel publishers NOTIFY after committing new deliveries.
pub const WAKE_CHANNEL: &str = "herald_deliveries";

#[derive(Clone, Debug)]
pub struct DispatchConfig {
    pub lanes: usize,
    pub batch_size: i64,
    /// The lease is the longest attempt timeout in a claim plus this (for recording).
    pub lease_margin: Duration,
    pub timeout: Duration,
    pub policy: RetryPolicy,
    /// Fallback poll when no notification arrives (and for scheduled retries).
    pub poll_interval: Duration,
    /// Most requests in flight in this process, claimed or handed over (see [`handoff`]).
    pub max_in_flight: usize,
    /// An endpoint with no success for this long is disabled.
    pub disable_after: Duration,
    /// How often the endpoint health counted in memory is written (see [`recorder`]).
    pub health_every: Duration,
    /// Results are committed without waiting for the disk (opt-in; see [`record::write`]).
    pub async_result_commit: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            lanes: 4,
            batch_size: 256,
            lease_margin: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            policy: RetryPolicy::default(),
            poll_interval: Duration::from_millis(500),
            max_in_flight: 512,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            health_every: recorder::HEALTH_EVERY,
            async_result_commit: false,
        }
    }
}

/// What one step did; the loop decides from it how long to wait.
#[derive(Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Dispatched(usize),
    Idle,
}

#[derive(Clone)]
pub struct Dispatcher {
    pool: PgPool,
    sender: Sender,
    secrets: SecretBox,
    config: Arc<DispatchConfig>,
    in_flight: Arc<Semaphore>,
    limits: Limits,
    wake: Arc<Notify>,
    /// Recent attempts per endpoint, for the alert rules (see [`crate::server::alerts`]).
    window: Arc<AttemptWindow>,
    /// This process's lease-owner number, set when the loop starts (see [`owner`]).
    owner: Arc<OnceLock<i32>>,
    handoff: Handoff,
    /// Writes every batch's results (see [`recorder`]).
    recorder: Recorder,
    /// What publishes hand over; taken by the loop when it starts.
    handed: Arc<Mutex<Option<mpsc::UnboundedReceiver<Handed>>>>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, sender: Sender, secrets: SecretBox, config: DispatchConfig) -> Self {
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
        let owner = Arc::<OnceLock<i32>>::default();
        let (handoff, handed) = Handoff::new(
            owner.clone(),
            in_flight.clone(),
            config.timeout,
            config.lease_margin,
        );
        Self {
            recorder: Recorder::start(pool.clone(), &config),
            pool,
            sender,
            secrets,
            config: Arc::new(config),
            in_flight,
            limits: Limits::default(),
            wake: Arc::new(Notify::new()),
            window: Arc::default(),
            owner,
            handoff,
            handed: Arc::new(Mutex::new(Some(handed))),
        }
    }

    /// The way for this process's publishes to hand deliveries to this dispatcher; it takes
    /// them while [`Dispatcher::run`] runs.
    pub fn handoff(&self) -> Handoff {
        self.handoff.clone()
    }

    /// Writes the endpoint health counted so far now, rather than within a second.
    pub async fn flush_health(&self) {
        self.recorder.flush_health().await;
    }

    /// The attempts this dispatcher recorded lately, which the alert check reads.
    pub fn attempt_window(&self) -> Arc<AttemptWindow> {
        self.window.clone()
    }

    /// Runs the lanes until `shutdown` turns true; in-flight attempts finish and are recorded.
    /// First it takes a lease-owner number and sends at once what dead processes had leased.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let held = owner::take(&self.pool).await?;
        let _ = self.owner.set(held.number);
        let released = owner::release_dead(&self.pool).await?;
        if released > 0 {
            tracing::warn!(
                released,
                "deliveries leased by processes that are gone are due again now"
            );
        }
        let listener = tokio::spawn(listen_for_wakeups(
            self.pool.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..self.config.lanes.max(1) {
            lanes.spawn(self.clone().lane(shutdown.clone()));
        }
        let handed = self.handed.lock().ok().and_then(|mut h| h.take());
        if let Some(handed) = handed {
            lanes.spawn(self.clone().take_handed(handed, shutdown.clone()));
        }
        while let Some(ended) = lanes.join_next().await {
            ended??;
        }
        self.recorder.flush_health().await;
        listener.abort();
        drop(held);
        Ok(())
    }

    async fn lane(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        while !*shutdown.borrow() {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.step().await {
                Ok(StepOutcome::Dispatched(n)) if n as i64 >= self.config.batch_size => continue,
                Ok(StepOutcome::Dispatched(_)) | Ok(StepOutcome::Idle) => {}
                Err(err) => {
                    tracing::error!(
                        error = format!("{err:#}"),
                        "dispatch step failed; retrying shortly"
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }

    /// Sends and records each batch a publish hands over, each in a task of its own, until
    /// `shutdown`; then refuses new ones (publishes leave them for claims) and finishes those
    /// it has.
    async fn take_handed(
        self,
        mut handed: mpsc::UnboundedReceiver<Handed>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut sending = tokio::task::JoinSet::new();
        let stopping = crate::server::changes::closed(shutdown);
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                next = handed.recv() => match next {
                    Some(batch) => { sending.spawn(self.clone().send_handed(batch)); }
                    None => break,
                },
                Some(done) = sending.join_next() => done?,
                _ = &mut stopping => break,
            }
        }
        handed.close();
        while let Some(batch) = handed.recv().await {
            sending.spawn(self.clone().send_handed(batch));
        }
        while let Some(done) = sending.join_next().await {
            done?;
        }
        Ok(())
    }

    async fn send_handed(self, handed: Handed) {
        let bodies = Arc::new(handed.bodies);
        if let Err(err) = self.settle(handed.jobs, handed.slots, bodies).await {
            tracing::error!(
                error = format!("{err:#}"),
                "a handed batch was not recorded; its deliveries go again when their lease ends"
            );
        }
    }

    /// Claims one batch (as large as the free in-flight capacity allows), sends it, records
    /// the results.
    pub async fn step(&self) -> anyhow::Result<StepOutcome> {
        let mut slots = self.free_slots().await;
        let limit = i64::try_from(slots.len()).unwrap_or(i64::MAX);
        let (timeout, margin) = (self.config.timeout, self.config.lease_margin);
        let owner = self.owner.get().copied();
        let jobs = claim::claim(&self.pool, limit, timeout, margin, owner).await?;
        if jobs.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        slots.truncate(jobs.len());
        let count = jobs.len();
        let event_ids: Vec<Uuid> = jobs.iter().map(|j| j.event_id).collect();
        let bodies = Arc::new(claim::event_bodies(&self.pool, &event_ids).await?);
        self.settle(jobs, slots, bodies).await?;
        Ok(StepOutcome::Dispatched(count))
    }

    /// Sends leased deliveries (their events' envelopes in `bodies`) and records the results.
    async fn settle(
        &self,
        jobs: Vec<Job>,
        slots: Vec<OwnedSemaphorePermit>,
        bodies: Arc<HashMap<Uuid, String>>,
    ) -> anyhow::Result<()> {
        let batch = self.process(jobs, slots, bodies).await?;
        // The attempts happened, whether or not their record commits: alerts and metrics see them.
        self.window.observe(&batch.attempts);
        crate::server::metrics::record_batch(&batch);
        self.recorder.write(batch).await
    }

    /// Up to a batch of in-flight slots: at least one (waiting for it if all are taken).
    async fn free_slots(&self) -> Vec<OwnedSemaphorePermit> {
        let mut slots = Vec::new();
        if let Ok(first) = self.in_flight.clone().acquire_owned().await {
            slots.push(first);
        }
        while (slots.len() as i64) < self.config.batch_size {
            match self.in_flight.clone().try_acquire_owned() {
                Ok(slot) => slots.push(slot),
                Err(_) => break,
            }
        }
        slots
    }

    async fn process(
        &self,
        jobs: Vec<Job>,
        slots: Vec<OwnedSemaphorePermit>,
        bodies: Arc<HashMap<Uuid, String>>,
    ) -> anyhow::Result<Batch> {
        let endpoint_ids: Vec<Uuid> = jobs.iter().map(|j| j.endpoint_id).collect();
        let endpoints = Arc::new(claim::endpoints(&self.pool, &endpoint_ids, &self.secrets).await?);
        let mut batch = Batch::default();
        let mut tasks = tokio::task::JoinSet::new();
        for (job, global_slot) in jobs.into_iter().zip(slots) {
            let Some(endpoint) = endpoints
                .get(&job.endpoint_id)
                .filter(|e| e.accepts(job.trigger))
            else {
                batch.abandoned.push((job.delivery_id, job.lease));
                continue;
            };
            let Some(body) = bodies.get(&job.event_id) else {
                tracing::error!(delivery = %job.delivery_id, "event body missing; delivery failed");
                batch.abandoned.push((job.delivery_id, job.lease));
                continue;
            };
            let permit = match self.limits.admit(endpoint) {
                Admission::Go(permit) => permit,
                Admission::Wait(delay) => {
                    batch.deferred.push(Deferral {
                        id: job.delivery_id,
                        at: chrono::Utc::now() + chrono_delay(delay),
                        lease: job.lease,
                    });
                    continue;
                }
            };
            let (this, endpoint, body) = (self.clone(), endpoint.clone(), body.clone());
            let span = tracing::info_span!(
                "attempt",
                delivery = %job.delivery_id,
                endpoint = %endpoint.id,
            );
            tasks.spawn(
                async move {
                    let _slots = (permit, global_slot);
                    let sent = this.attempt(&job, &endpoint, &body).await;
                    (job, endpoint, sent)
                }
                .instrument(span),
            );
        }
        while let Some(done) = tasks.join_next().await {
            let (job, endpoint, (sent, headers)) = done?;
            self.account(&mut batch, &job, &endpoint, sent, headers);
        }
        Ok(batch)
    }

    async fn attempt(
        &self,
        job: &Job,
        endpoint: &EndpointConfig,
        body: &str,
    ) -> (Sent, Vec<(String, String)>) {
        let message_id = event_ref(job.event_id);
        let input = SigningInput {
            message_id: &message_id,
            timestamp: chrono::Utc::now().timestamp(),
            body,
            secrets: &endpoint.secrets,
            scheme: endpoint.scheme,
        };
        let headers = request_headers(&input, &endpoint.custom_headers);
        let timeout = endpoint.timeout.unwrap_or(self.config.timeout);
        let sent = self
            .sender
            .send(&endpoint.url, &headers, body, timeout)
            .await;
        tracing::debug!(
            outcome = sent.failure.map_or("success", |f| f.as_str()),
            status = sent.status,
            duration_ms = sent.duration.as_millis() as u64,
            "attempt sent"
        );
        (sent, headers)
    }

    /// Turns one result into an attempt row and the delivery's next state.
    fn account(
        &self,
        batch: &mut Batch,
        job: &Job,
        endpoint: &EndpointConfig,
        sent: Sent,
        headers: Vec<(String, String)>,
    ) {
        let attempts_made = job.attempts_before + 1;
        let policy = match &endpoint.retry_schedule {
            Some(schedule) => self.config.policy.with_schedule(schedule.clone()),
            None => self.config.policy.clone(),
        };
        let step = next_step(
            sent.status,
            sent.failure,
            job.trigger,
            u32::try_from(attempts_made).unwrap_or(u32::MAX),
            sent.retry_after,
            &policy,
            rand::thread_rng().r#gen::<f64>(),
        );
        let row = attempt_row(job, endpoint, sent, &headers, attempts_made);
        batch.add_result(row, &step, job.lease, chrono::Utc::now());
    }
}

fn attempt_row(
    job: &Job,
    endpoint: &EndpointConfig,
    sent: Sent,
    headers: &[(String, String)],
    number: i32,
) -> AttemptRow {
    let to_json =
        |pairs: &[(String, String)]| serde_json::to_string(pairs).unwrap_or_else(|_| "[]".into());
    AttemptRow {
        id: Uuid::now_v7(),
        delivery_id: job.delivery_id,
        endpoint_id: endpoint.id,
        attempt_number: number,
        trigger: job.trigger,
        triggered_by: job.triggered_by,
        started_at: sent.started_at,
        duration_ms: i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX),
        request_url: endpoint.url.clone(),
        request_headers: to_json(&masked_for_log(headers, &endpoint.custom_headers)),
        response_status: sent.status.and_then(|s| i16::try_from(s).ok()),
        response_headers: sent.response_headers,
        response_body: sent.body,
        truncated: sent.truncated,
        error_class: sent.failure,
        error_message: sent.error_message,
    }
}

/// Wakes the lanes when a publisher NOTIFYs; reconnects if the connection drops.
async fn listen_for_wakeups(pool: PgPool, wake: Arc<Notify>, shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if listener.listen(WAKE_CHANNEL).await.is_err() {
                    continue;
                }
                while listener.recv().await.is_ok() {
                    wake.notify_waiters();
                    // Perhaps another process's publish: streams and the live log look too.
                    crate::server::changes::events_published();
                    crate::server::changes::deliveries_changed();
                }
            }
            Err(err) => tracing::warn!(error = %err, "LISTEN failed; polling until it is back"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Wakes the dispatchers of every process (after queuing work outside a publish).
pub async fn wake(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(WAKE_CHANNEL)
        .execute(pool)
        .await?;
    Ok(())
}
