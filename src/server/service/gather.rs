//! Group commit for single publishes. Each `POST /api/v1/events` checks its event in its own
//! task, then hands it to one writer task. The writer takes whatever has queued up by the time
//! it is free (no timer: a lone publish is written at once) and writes it all as one batch —
//! one transaction, one statement per table, one commit and one wake-up for the group — then
//! answers each request with its own event. Under load, concurrent publishes share commits
//! instead of queueing for one each. When this process runs a dispatcher, the group's
//! deliveries are handed to it directly (see [`crate::server::dispatcher::handoff`]).
//!
//! Two publishes with the same idempotency key never share a group: the later one is written
//! after the group, and finds the key taken. If a group's transaction fails, each of its events
//! is written on its own, so one event cannot cost the others their answer.

use super::batch::{BatchItem, MAX_BATCH, write_batch};
use super::events::{PublishRequest, Published, check_event, publish, usable_rules};
use crate::error::AppError;
use crate::server::dispatcher::handoff::Handoff;
use crate::server::lookups::Lookups;
use serde_json::value::RawValue;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Publishes waiting for the writer, at most; past it, requests wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;

/// The handle of a writer task; cloned into the application state.
#[derive(Clone)]
pub struct Gatherer {
    queue: mpsc::Sender<Waiting>,
    /// This process's dispatcher, once it is made (`herald serve` makes it after the state).
    handoff: Arc<OnceLock<Handoff>>,
    /// Where each publish finds its type's rules.
    lookups: Arc<Lookups>,
}

/// An event checked and waiting to be written, with where its answer goes.
struct Waiting {
    event_type: String,
    data: Box<RawValue>,
    idempotency_key: Option<String>,
    answer: oneshot::Sender<Result<Published, AppError>>,
}

impl Waiting {
    fn item(&self) -> BatchItem<'_> {
        BatchItem {
            event_type: &self.event_type,
            data: &self.data,
            idempotency_key: self.idempotency_key.as_deref(),
        }
    }
}

impl Gatherer {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(pool: PgPool, lookups: Arc<Lookups>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let handoff = Arc::new(OnceLock::new());
        tokio::spawn(write_groups(pool, waiting, handoff.clone()));
        Self {
            queue,
            handoff,
            lookups,
        }
    }

    /// From now on, deliveries go straight to this process's dispatcher while it runs.
    pub fn hand_to(&self, handoff: Handoff) {
        let _ = self.handoff.set(handoff);
    }

    /// This process's dispatcher, if it has one.
    pub fn handoff(&self) -> Option<&Handoff> {
        self.handoff.get()
    }

    /// Publishes one producer event: checked here, written with whatever else is waiting.
    pub async fn publish(
        &self,
        pool: &PgPool,
        event_type: &str,
        data: &RawValue,
        idempotency_key: Option<&str>,
    ) -> Result<Published, AppError> {
        let found = self.lookups.publish_rules(pool, event_type).await?;
        let rules = usable_rules(event_type, false, found)?;
        check_event(event_type, &rules, data, idempotency_key)?;
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            event_type: event_type.to_string(),
            data: data.to_owned(),
            idempotency_key: idempotency_key.map(str::to_string),
            answer,
        };
        if self.queue.send(waiting).await.is_err() {
            tracing::error!("the publish writer has stopped");
            return Err(AppError::Internal);
        }
        answered.await.map_err(|_| AppError::Internal)?
    }
}

async fn write_groups(
    pool: PgPool,
    mut waiting: mpsc::Receiver<Waiting>,
    handoff: Arc<OnceLock<Handoff>>,
) {
    while let Some(first) = waiting.recv().await {
        let (group, later) = gather(first, &mut waiting);
        write_group(&pool, group, handoff.get()).await;
        // Keys already in the group: written after it, they find the key taken.
        for one in later {
            let result = write_alone(&pool, &one).await;
            let _ = one.answer.send(result);
        }
    }
}

/// The first event and whatever else is already waiting (up to a batch), set apart from
/// those whose idempotency key is already in the group.
fn gather(first: Waiting, waiting: &mut mpsc::Receiver<Waiting>) -> (Vec<Waiting>, Vec<Waiting>) {
    let mut keys: HashSet<String> = first.idempotency_key.iter().cloned().collect();
    let (mut group, mut later) = (vec![first], Vec::new());
    while group.len() < MAX_BATCH {
        let Ok(next) = waiting.try_recv() else { break };
        match &next.idempotency_key {
            Some(key) if !keys.insert(key.clone()) => later.push(next),
            _ => group.push(next),
        }
    }
    (group, later)
}

async fn write_group(pool: &PgPool, group: Vec<Waiting>, handoff: Option<&Handoff>) {
    let items: Vec<BatchItem> = group.iter().map(Waiting::item).collect();
    match write_batch(pool, &items, handoff).await {
        Ok(published) => {
            for (one, event) in group.into_iter().zip(published) {
                let _ = one.answer.send(Ok(event));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, events = group.len(), "writing a group of publishes failed; writing them one by one");
            for one in group {
                let result = write_alone(pool, &one).await;
                let _ = one.answer.send(result);
            }
        }
    }
}

async fn write_alone(pool: &PgPool, one: &Waiting) -> Result<Published, AppError> {
    let request = PublishRequest {
        idempotency_key: one.idempotency_key.as_deref(),
        ..PublishRequest::automatic(&one.event_type, &one.data)
    };
    publish(pool, request).await
}
