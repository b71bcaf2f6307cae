//! Direct hand-off: deliveries that a publish in this process makes go straight to this
//! process's running dispatcher, with no claim and no wake-up.
//!
//! Before it writes, the publish reserves free in-flight slots (the same slots lanes take
//! before they claim), at most half the process's, so that claims (retries, other processes'
//! publishes) always find some. It writes as many deliveries
//! as it holds slots for already leased to this process: `next_attempt_at` is the lease (the
//! longest attempt timeout plus the margin, as a claim writes it) and `leased_by` is this
//! process's owner number. That lease is written in the same transaction that makes the
//! deliveries durable. After the commit, the deliveries go to the dispatcher with their slots,
//! and the dispatcher sends them and records the results as it does for a claimed batch.
//!
//! A delivery that finds no free slot is written due and unleased, and the publish wakes every
//! dispatcher for it, as before.
//!
//! At-least-once is unchanged: a handed delivery is durable and leased before it is sent, and
//! only a committed result stops a re-send. If this process dies, its leases run out, or the
//! next process to start releases them at once (see [`super::owner`]).

use super::claim::Job;
use super::record::{Deferral, defer};
use crate::domain::attempt::Trigger;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use uuid::Uuid;

/// Deliveries written leased to this process, with their slots and the events' bodies.
pub struct Handed {
    pub jobs: Vec<Job>,
    pub slots: Vec<OwnedSemaphorePermit>,
    pub bodies: HashMap<Uuid, String>,
}

/// A publisher's way to a running dispatcher of its own process; cheap to clone.
#[derive(Clone)]
pub struct Handoff {
    owner: Arc<OnceLock<i32>>,
    /// The process's in-flight slots, shared with the lanes.
    in_flight: Arc<Semaphore>,
    /// The most slots one publish may take.
    share: usize,
    /// The shortest lease is the server's attempt timeout plus the recording margin.
    timeout: Duration,
    margin: Duration,
    queue: mpsc::UnboundedSender<Handed>,
}

/// In-flight slots a publish holds while it writes, and the lease it writes for them.
pub struct Reservation {
    pub slots: Vec<OwnedSemaphorePermit>,
    pub owner: i32,
    /// Seconds: the lease is `greatest(endpoint timeout, timeout_secs) + margin_secs`.
    pub timeout_secs: f64,
    pub margin_secs: f64,
}

/// A delivery a publish wrote leased to this process.
pub struct Leased {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub lease: DateTime<Utc>,
}

impl Handoff {
    /// A hand-off sharing `in_flight` with the lanes of the dispatcher whose owner number
    /// `owner` holds once its loop runs.
    pub(super) fn new(
        owner: Arc<OnceLock<i32>>,
        in_flight: Arc<Semaphore>,
        timeout: Duration,
        margin: Duration,
    ) -> (Self, mpsc::UnboundedReceiver<Handed>) {
        let (queue, handed) = mpsc::unbounded_channel();
        let share = (in_flight.available_permits() / 2).max(1);
        let handoff = Self {
            owner,
            in_flight,
            share,
            timeout,
            margin,
            queue,
        };
        (handoff, handed)
    }

    /// Whether the dispatcher takes hand-offs now: its loop has started and is not stopping.
    pub fn is_taken(&self) -> bool {
        self.running_owner().is_some()
    }

    /// The running dispatcher's owner number; none before its loop starts or once it stops.
    fn running_owner(&self) -> Option<i32> {
        let owner = *self.owner.get()?;
        (!self.queue.is_closed()).then_some(owner)
    }

    /// Free in-flight slots, taken now, up to the share of one publish (what it does not use is
    /// freed right after its commit). None while the dispatcher is not running (not started,
    /// or stopping) or has no slot free.
    pub fn reserve(&self) -> Option<Reservation> {
        let owner = self.running_owner()?;
        let free = self.in_flight.available_permits().min(self.share);
        let mut held = self
            .in_flight
            .clone()
            .try_acquire_many_owned(u32::try_from(free).ok().filter(|&n| n > 0)?)
            .ok()?;
        let mut slots = Vec::with_capacity(free);
        while held.num_permits() > 1 {
            slots.push(held.split(1)?);
        }
        slots.push(held);
        Some(Reservation {
            slots,
            owner,
            timeout_secs: self.timeout.as_secs_f64(),
            margin_secs: self.margin.as_secs_f64(),
        })
    }

    /// Hands what a committed publish leased to the dispatcher; the slots not used are freed.
    /// If the dispatcher stopped meanwhile, the deliveries are made due again for any other.
    pub async fn hand(
        &self,
        pool: &PgPool,
        mut reservation: Reservation,
        leased: Vec<Leased>,
        bodies: HashMap<Uuid, String>,
    ) {
        if leased.is_empty() {
            return;
        }
        reservation.slots.truncate(leased.len());
        let jobs: Vec<Job> = leased.into_iter().map(Leased::into_job).collect();
        let handed = Handed {
            jobs,
            slots: reservation.slots,
            bodies,
        };
        if let Err(refused) = self.queue.send(handed) {
            let jobs = refused.0.jobs;
            if let Err(err) = release(pool, &jobs).await {
                tracing::warn!(error = %err, deliveries = jobs.len(), "deliveries handed to a stopped dispatcher wait for their lease to run out");
            }
        }
    }
}

impl Leased {
    fn into_job(self) -> Job {
        Job {
            delivery_id: self.delivery_id,
            event_id: self.event_id,
            endpoint_id: self.endpoint_id,
            attempts_before: 0,
            lease: self.lease,
            trigger: Trigger::Auto,
            triggered_by: None,
        }
    }
}

/// Makes deliveries due now for any dispatcher (put off until now, as a rate limit puts them
/// off), if they still hold the lease their job carries, and wakes the dispatchers.
async fn release(pool: &PgPool, jobs: &[Job]) -> sqlx::Result<()> {
    let now = Utc::now();
    let due_now: Vec<Deferral> = jobs
        .iter()
        .map(|job| Deferral {
            id: job.delivery_id,
            at: now,
            lease: job.lease,
        })
        .collect();
    defer(pool, &due_now).await?;
    super::wake(pool).await
}
