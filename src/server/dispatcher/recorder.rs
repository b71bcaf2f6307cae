//! One writer for the results of every batch this process sends. Batches end at their own
//! pace — lanes' claims and publishes' hand-offs, each in a task of its own — and each gives
//! its results here and waits. The writer takes whatever has queued up by the time it is free
//! (no timer: a lone batch is written at once) and writes it all as one batch through
//! [`record::write`]: one transaction, one statement per table, one commit. Concurrent batches
//! share a commit instead of queueing for one each. A batch's results are committed when its
//! wait ends, so at-least-once holds: only a committed result stops a re-send.
//!
//! Hourly endpoint health is counted here, in memory, and written about once a second
//! ([`HEALTH_EVERY`], the default of `DispatchConfig::health_every`) and when the dispatcher
//! stops, instead of upserting the same few hot rows in every commit. A crash loses at most
//! that second's counts; the attempts themselves (what the delivery log shows) are never held
//! back. Counts that cannot be written are kept for the next flush.

use super::DispatchConfig;
use super::record::{self, Batch, Recording};
use crate::domain::outcome::HealthTally;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How often counted health is written, unless configured otherwise.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// The most results written together; what queues beyond it goes in the next commit.
const MAX_RESULTS: usize = 4096;

/// The handle of the writer task; it ends when the last handle is dropped.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Command>,
}

enum Command {
    /// Results to write; the answer says whether they were committed.
    Write(Batch, oneshot::Sender<Result<(), String>>),
    /// Write the health counted so far; answered when done.
    FlushHealth(oneshot::Sender<()>),
}

impl Recorder {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(pool: PgPool, config: &DispatchConfig) -> Self {
        let (queue, commands) = mpsc::unbounded_channel();
        let how = Recording {
            disable_after: config.disable_after,
            asynchronous: config.async_result_commit,
        };
        tokio::spawn(run(pool, how, config.health_every, commands));
        Self { queue }
    }

    /// Writes `batch`'s results, together with whatever else is waiting; `Ok` once committed.
    pub async fn write(&self, batch: Batch) -> anyhow::Result<()> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Command::Write(batch, answer))
            .map_err(|_| anyhow::anyhow!("the result writer has stopped"))?;
        let written = answered
            .await
            .map_err(|_| anyhow::anyhow!("the result writer has stopped"))?;
        written.map_err(|err| anyhow::anyhow!("results not recorded: {err}"))
    }

    /// Writes the health counted so far now, rather than within [`HEALTH_EVERY`].
    pub async fn flush_health(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Command::FlushHealth(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

/// What the writer holds between commits.
struct Writer {
    pool: PgPool,
    how: Recording,
    health: HealthTally,
}

async fn run(
    pool: PgPool,
    how: Recording,
    health_every: Duration,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut writer = Writer {
        pool,
        how,
        health: HealthTally::default(),
    };
    let mut tick = tokio::time::interval(health_every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Write(batch, answer)) => {
                    writer.write_waiting(batch, answer, &mut commands).await;
                }
                Some(Command::FlushHealth(done)) => {
                    writer.flush_health().await;
                    let _ = done.send(());
                }
                None => break,
            },
            _ = tick.tick() => writer.flush_health().await,
        }
    }
    writer.flush_health().await;
}

impl Writer {
    /// Writes `first` and the results already waiting behind it as one batch, then answers
    /// each; a health flush asked for meanwhile is done after the commit.
    async fn write_waiting(
        &mut self,
        first: Batch,
        answer: oneshot::Sender<Result<(), String>>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) {
        let (mut together, mut answers, mut flushes) = (first, vec![answer], Vec::new());
        while together.len() < MAX_RESULTS {
            match commands.try_recv() {
                Ok(Command::Write(batch, answer)) => {
                    together.absorb(batch);
                    answers.push(answer);
                }
                Ok(Command::FlushHealth(done)) => flushes.push(done),
                Err(_) => break,
            }
        }
        let written = record::write(&self.pool, &together, self.how).await;
        if written.is_ok() {
            self.health.count(&together);
        }
        let written = written.map_err(|err| err.to_string());
        for answer in answers {
            let _ = answer.send(written.clone());
        }
        if !flushes.is_empty() {
            self.flush_health().await;
            for done in flushes {
                let _ = done.send(());
            }
        }
    }

    async fn flush_health(&mut self) {
        if self.health.is_empty() {
            return;
        }
        let cells = self.health.take();
        if let Err(err) = record::write_health(&self.pool, &cells).await {
            tracing::warn!(error = %err, "endpoint health not written; kept for the next try");
            self.health.restore(cells);
        }
    }
}
