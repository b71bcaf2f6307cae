//! Prometheus metrics at `/metrics`: attempts by outcome, publish-to-attempt latency, queue
//! depth and the age of the oldest due delivery.

use super::dispatcher::record::Batch;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder once per process; later calls return the same handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("herald_delivery_latency_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0,
                    ],
                )
                .and_then(|builder| builder.install_recorder())
                .inspect(|_| describe())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

/// The HELP line of each metric.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "herald_events_published_total",
        "Events stored by publish (not counting idempotent repeats)"
    );
    describe_counter!(
        "herald_deliveries_queued_total",
        "Deliveries queued by publish, one per event and subscribed endpoint"
    );
    describe_counter!(
        "herald_attempts_total",
        "Webhook attempts recorded, by outcome: success or the failure class"
    );
    describe_histogram!(
        "herald_delivery_latency_seconds",
        "Time from publish to the first attempt of a delivery"
    );
    describe_counter!(
        "herald_result_batches_split_total",
        "Batches of results that could not be written together and were written one by one"
    );
    describe_counter!(
        "herald_results_unrecordable_total",
        "Results that could not be stored as received, recorded as unrecordable"
    );
    describe_counter!(
        "herald_results_fenced_total",
        "Results not written because their lease had ended (the delivery is sent again)"
    );
    describe_gauge!(
        "herald_queue_depth",
        "Deliveries due now and not yet attempted"
    );
    describe_gauge!(
        "herald_queue_oldest_due_seconds",
        "How long the oldest due delivery has waited"
    );
}

/// Counts a stored event and the deliveries it queued.
pub fn record_publish(deliveries: u64) {
    metrics::counter!("herald_events_published_total").increment(1);
    metrics::counter!("herald_deliveries_queued_total").increment(deliveries);
}

pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

pub fn record_batch(batch: &Batch) {
    for attempt in &batch.attempts {
        let outcome = attempt.error_class.map_or("success", |c| c.as_str());
        metrics::counter!("herald_attempts_total", "outcome" => outcome).increment(1);
        if attempt.attempt_number == 1 {
            // Time from publish (the delivery id is a UUID v7 stamped at publish) to first attempt.
            if let Some(published) = uuid_time(attempt.delivery_id) {
                let latency = (attempt.started_at - published)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("herald_delivery_latency_seconds")
                    .record(latency.as_secs_f64());
            }
        }
    }
}

/// The creation time of a UUID v7.
pub fn uuid_time(id: uuid::Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

/// Samples queue depth and the oldest due delivery's age every few seconds.
pub async fn sample_queue(pool: PgPool) {
    loop {
        let sample: sqlx::Result<(i64, Option<f64>)> = sqlx::query_as(
            r#"SELECT count(*), extract(epoch FROM now() - min(next_attempt_at))::float8
               FROM deliveries WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now()"#,
        )
        .fetch_one(&pool)
        .await;
        if let Ok((depth, oldest)) = sample {
            metrics::gauge!("herald_queue_depth").set(depth as f64);
            metrics::gauge!("herald_queue_oldest_due_seconds").set(oldest.unwrap_or(0.0).max(0.0));
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
