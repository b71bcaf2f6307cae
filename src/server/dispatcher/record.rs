//! Writing a batch of results in one transaction (one commit, one WAL flush per batch):
//! attempt rows, delivery updates, endpoint success/failure state; and, apart from them, the
//! hourly endpoint health that [`super::recorder`] counts in memory.
//!
//! One bad result must never cost the others their record: if the batch's transaction fails,
//! each delivery's result is written on its own, and a result that cannot be stored even then
//! is recorded as an `unrecordable` attempt (the delivery is failed, for an admin to retry,
//! rather than sent again blindly when its lease runs out).
//!
//! Delivery updates are fenced by the lease: a row is updated only while it still carries the
//! lease its claim wrote (`next_attempt_at`), so a result that arrives after another process
//! re-claimed the delivery, or after an admin queued a retry, does not overwrite them.

use crate::domain::attempt::FailureClass;
pub use crate::domain::outcome::{AttemptRow, Batch, Deferral, DeliveryUpdate, HealthCell};
use chrono::Utc;
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// How results are written.
#[derive(Debug, Clone, Copy)]
pub struct Recording {
    /// An endpoint with no success for this long is disabled.
    pub disable_after: Duration,
    /// Commit without waiting for the WAL to reach the disk (`--async-result-commit`, off by
    /// default). A crash of PostgreSQL — not of Herald — can then lose the last commits: their
    /// attempts vanish from the log and the deliveries, still leased, are sent again when the
    /// lease ends. Never a lost delivery, but a weaker attempt log, so only when asked for.
    pub asynchronous: bool,
}

impl Recording {
    /// Synchronous commits (the default), disabling endpoints after `disable_after`.
    pub fn durable(disable_after: Duration) -> Self {
        Self {
            disable_after,
            asynchronous: false,
        }
    }
}

pub async fn write(pool: &PgPool, batch: &Batch, how: Recording) -> sqlx::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let Err(err) = write_together(pool, batch, how).await else {
        crate::server::changes::deliveries_changed();
        return Ok(());
    };
    tracing::error!(error = %err, results = batch.updates.len(), "writing a batch of results failed; writing them one by one");
    metrics::counter!("herald_result_batches_split_total").increment(1);
    for single in batch.singles() {
        if let Err(err) = write_together(pool, &single, how).await {
            tracing::error!(error = %err, "a result could not be stored as received; recording it as unrecordable");
            metrics::counter!("herald_results_unrecordable_total").increment(1);
            let fallback = single.unrecordable(&err.to_string());
            write_together(pool, &fallback, how).await?;
        }
    }
    crate::server::changes::deliveries_changed();
    Ok(())
}

async fn write_together(pool: &PgPool, batch: &Batch, how: Recording) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    if how.asynchronous {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    insert_attempts(&mut tx, &batch.attempts).await?;
    update_deliveries(&mut tx, batch).await?;
    update_endpoints(&mut tx, batch, how.disable_after).await?;
    tx.commit().await
}

async fn insert_attempts(tx: &mut sqlx::PgConnection, attempts: &[AttemptRow]) -> sqlx::Result<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&AttemptRow) -> Option<String>| attempts.iter().map(f).collect::<Vec<_>>();
    let bytes = |f: fn(&AttemptRow) -> Option<Vec<u8>>| attempts.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        r#"INSERT INTO delivery_attempts (id, delivery_id, attempt_number, trigger, triggered_by,
               started_at, duration_ms, request_url, request_headers, response_status,
               response_headers, response_body, response_body_truncated, error_class, error_message)
           SELECT id, delivery_id, n, trigger, by_user, started, ms, url, req::jsonb, code,
                  resp, body, cut, class, message
           FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::uuid[], $6::timestamptz[],
                       $7::int[], $8::text[], $9::text[], $10::int2[], $11::bytea[], $12::bytea[],
                       $13::bool[], $14::text[], $15::text[])
                AS t(id, delivery_id, n, trigger, by_user, started, ms, url, req, code, resp, body,
                     cut, class, message)"#,
    )
    .bind(attempts.iter().map(|a| a.id).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.delivery_id).collect::<Vec<_>>())
    .bind(
        attempts
            .iter()
            .map(|a| a.attempt_number)
            .collect::<Vec<_>>(),
    )
    .bind(
        attempts
            .iter()
            .map(|a| a.trigger.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(attempts.iter().map(|a| a.triggered_by).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.started_at).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.duration_ms).collect::<Vec<_>>())
    .bind(
        attempts
            .iter()
            .map(|a| a.request_url.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        attempts
            .iter()
            .map(|a| a.request_headers.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        attempts
            .iter()
            .map(|a| a.response_status)
            .collect::<Vec<_>>(),
    )
    .bind(bytes(|a| a.response_headers.clone()))
    .bind(bytes(|a| a.response_body.clone()))
    .bind(attempts.iter().map(|a| a.truncated).collect::<Vec<_>>())
    .bind(
        attempts
            .iter()
            .map(|a| a.error_class.map(FailureClass::as_str))
            .collect::<Vec<_>>(),
    )
    .bind(col(|a| a.error_message.clone()))
    .execute(tx)
    .await?;
    Ok(())
}

async fn update_deliveries(tx: &mut sqlx::PgConnection, batch: &Batch) -> sqlx::Result<()> {
    if !batch.updates.is_empty() {
        let last: HashMap<Uuid, &AttemptRow> =
            batch.attempts.iter().map(|a| (a.delivery_id, a)).collect();
        let updates = &batch.updates;
        let attempt = |u: &DeliveryUpdate| last.get(&u.id).copied();
        let done = sqlx::query(
            r#"UPDATE deliveries d
               SET status = u.status, attempt_count = u.attempts, next_attempt_at = u.next_at,
                   last_attempt_at = u.last_at, last_response_status = u.code,
                   last_error_class = u.class, last_duration_ms = u.ms,
                   queued_trigger = NULL, queued_by = NULL, leased_by = NULL, updated_at = now()
               FROM UNNEST($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[],
                           $6::int2[], $7::text[], $8::int[], $9::timestamptz[])
                    AS u(id, status, attempts, next_at, last_at, code, class, ms, lease)
               WHERE d.id = u.id AND d.next_attempt_at = u.lease"#,
        )
        .bind(updates.iter().map(|u| u.id).collect::<Vec<_>>())
        .bind(
            updates
                .iter()
                .map(|u| u.status.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(updates.iter().map(|u| u.attempt_count).collect::<Vec<_>>())
        .bind(
            updates
                .iter()
                .map(|u| u.next_attempt_at)
                .collect::<Vec<_>>(),
        )
        .bind(
            updates
                .iter()
                .map(|u| attempt(u).map(|a| a.started_at))
                .collect::<Vec<_>>(),
        )
        .bind(
            updates
                .iter()
                .map(|u| attempt(u).and_then(|a| a.response_status))
                .collect::<Vec<_>>(),
        )
        .bind(
            updates
                .iter()
                .map(|u| attempt(u).and_then(|a| a.error_class.map(FailureClass::as_str)))
                .collect::<Vec<_>>(),
        )
        .bind(
            updates
                .iter()
                .map(|u| attempt(u).map(|a| a.duration_ms))
                .collect::<Vec<_>>(),
        )
        .bind(updates.iter().map(|u| u.lease).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        note_fenced(updates.len(), done.rows_affected());
    }
    defer(&mut *tx, &batch.deferred).await?;
    if !batch.abandoned.is_empty() {
        // Fenced: a retry queued since the claim (it moves next_attempt_at) is not overwritten.
        let abandoned = &batch.abandoned;
        let done = sqlx::query(
            r#"UPDATE deliveries d SET status = 'failed', next_attempt_at = NULL,
                   queued_trigger = NULL, queued_by = NULL, leased_by = NULL, updated_at = now()
               FROM UNNEST($1::uuid[], $2::timestamptz[]) AS u(id, lease)
               WHERE d.id = u.id AND d.next_attempt_at = u.lease"#,
        )
        .bind(abandoned.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(
            abandoned
                .iter()
                .map(|(_, lease)| *lease)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
        note_fenced(abandoned.len(), done.rows_affected());
    }
    Ok(())
}

/// Results whose lease had ended are not written (another claim owns the delivery now); say
/// so, because each one is a delivery that is being sent again.
/// Puts leased deliveries off until their `at`, unleased, each only while it still holds the
/// lease its deferral carries.
pub async fn defer(db: impl sqlx::PgExecutor<'_>, deferred: &[Deferral]) -> sqlx::Result<()> {
    if deferred.is_empty() {
        return Ok(());
    }
    let done = sqlx::query(
        r#"UPDATE deliveries d SET next_attempt_at = u.at, leased_by = NULL
           FROM UNNEST($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS u(id, at, lease)
           WHERE d.id = u.id AND d.next_attempt_at = u.lease"#,
    )
    .bind(deferred.iter().map(|d| d.id).collect::<Vec<_>>())
    .bind(deferred.iter().map(|d| d.at).collect::<Vec<_>>())
    .bind(deferred.iter().map(|d| d.lease).collect::<Vec<_>>())
    .execute(db)
    .await?;
    note_fenced(deferred.len(), done.rows_affected());
    Ok(())
}

fn note_fenced(results: usize, written: u64) {
    let fenced = (results as u64).saturating_sub(written);
    if fenced > 0 {
        tracing::warn!(
            fenced,
            "results arrived after their lease ended and were not written"
        );
        metrics::counter!("herald_results_fenced_total").increment(fenced);
    }
}

/// Adds counted outcomes to the hourly per-endpoint counters (cells in key order, so that two
/// writers lock the rows in the same order and never deadlock).
pub async fn write_health(pool: &PgPool, cells: &[HealthCell]) -> sqlx::Result<()> {
    if cells.is_empty() {
        return Ok(());
    }
    let buckets: Vec<String> = cells.iter().map(|c| c.latency_literal()).collect();
    sqlx::query(
        r#"INSERT INTO endpoint_health_hourly AS h (endpoint_id, hour, succeeded, failed, latency_buckets)
           SELECT e, hr, s, f, b::int[]
           FROM UNNEST($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::text[]) AS t(e, hr, s, f, b)
           WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = t.e)
           ON CONFLICT (endpoint_id, hour) DO UPDATE SET
               succeeded = h.succeeded + EXCLUDED.succeeded,
               failed = h.failed + EXCLUDED.failed,
               latency_buckets = ARRAY(
                   SELECT x + y FROM unnest(h.latency_buckets, EXCLUDED.latency_buckets) AS z(x, y))"#,
    )
    .bind(cells.iter().map(|c| c.endpoint_id).collect::<Vec<_>>())
    .bind(cells.iter().map(|c| c.hour).collect::<Vec<_>>())
    .bind(cells.iter().map(|c| c.succeeded).collect::<Vec<_>>())
    .bind(cells.iter().map(|c| c.failed).collect::<Vec<_>>())
    .bind(buckets)
    .execute(pool)
    .await?;
    Ok(())
}

/// Success clears an endpoint's failing streak; failure starts one; a streak longer than
/// `disable_after`, or a 410 Gone, disables the endpoint with a reason the portal shows.
async fn update_endpoints(
    tx: &mut sqlx::PgConnection,
    batch: &Batch,
    disable_after: Duration,
) -> sqlx::Result<()> {
    let succeeded = batch.succeeded_endpoints();
    let failed = batch.failing_endpoints(&succeeded);
    if !succeeded.is_empty() {
        sqlx::query(
            "UPDATE endpoints SET last_success_at = now(), failing_since = NULL
             WHERE id = ANY($1) AND (failing_since IS NOT NULL OR last_success_at < now() - interval '1 minute' OR last_success_at IS NULL)",
        )
        .bind(&succeeded)
        .execute(&mut *tx)
        .await?;
    }
    if !failed.is_empty() {
        sqlx::query("UPDATE endpoints SET failing_since = now() WHERE id = ANY($1) AND failing_since IS NULL")
            .bind(&failed)
            .execute(&mut *tx)
            .await?;
        let reason = format!(
            "Disabled by Herald: no successful delivery for {} hours",
            disable_after.as_secs() / 3600
        );
        disable(tx, &failed, &reason, Some(disable_after)).await?;
    }
    let exhausted = batch.exhausted_endpoints();
    if !exhausted.is_empty() {
        sqlx::query("UPDATE endpoints SET last_exhausted_at = now() WHERE id = ANY($1)")
            .bind(&exhausted)
            .execute(&mut *tx)
            .await?;
    }
    if !batch.gone.is_empty() {
        let reason = format!(
            "Disabled by Herald: the endpoint answered 410 Gone on {}",
            Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        disable(tx, &batch.gone, &reason, None).await?;
    }
    Ok(())
}

async fn disable(
    tx: &mut sqlx::PgConnection,
    ids: &[Uuid],
    reason: &str,
    failing_longer_than: Option<Duration>,
) -> sqlx::Result<()> {
    #[derive(sqlx::FromRow)]
    struct Disabled {
        id: Uuid,
        name: String,
    }
    let disabled: Vec<Disabled> = sqlx::query_as(
        r#"UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
           WHERE id = ANY($1) AND enabled
             AND ($3::float8 IS NULL OR failing_since < now() - make_interval(secs => $3))
           RETURNING id, name"#,
    )
    .bind(ids)
    .bind(reason)
    .bind(failing_longer_than.map(|d| d.as_secs_f64()))
    .fetch_all(&mut *tx)
    .await?;
    for Disabled { id, name } in disabled {
        tracing::warn!(endpoint = %name, reason, "endpoint disabled");
        crate::server::db::audit::record(
            &mut *tx,
            &crate::server::db::audit::Actor::herald(),
            "endpoint.auto_disable",
            &id.to_string(),
            serde_json::json!({ "name": name, "reason": reason }),
        )
        .await?;
    }
    Ok(())
}
