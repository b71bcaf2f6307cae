//! Bulk retry: every failed delivery matching a log filter gets one immediate attempt with
//! trigger `bulk`. It runs in the background in chunks; `bulk_jobs` holds its progress.

use super::db;
use super::dispatcher::manual;
use crate::domain::delivery::JobProgress;
use crate::domain::log_query::{LogQuery, StatusFilter};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

const CHUNK: i64 = 500;

/// The filter a bulk retry applies: the view's filters, failed deliveries only, frozen at `now`
/// so the job does not chase deliveries that fail after it started.
pub fn failed_matching(view: &LogQuery, now: DateTime<Utc>) -> LogQuery {
    LogQuery {
        status: Some(StatusFilter::Failed),
        from: view.lower_bound(now),
        since: None,
        to: Some(view.to.map_or(now, |to| to.min(now))),
        cursor: None,
        ..view.clone()
    }
}

/// Starts the job; returns its id at once.
pub async fn start(pool: &PgPool, view: &LogQuery, user: Uuid) -> sqlx::Result<JobProgress> {
    let now = Utc::now();
    let filter = failed_matching(view, now);
    let total = db::log::count(pool, &filter, now).await?;
    let id = Uuid::now_v7();
    let filter_json = serde_json::to_value(&filter).unwrap_or_default();
    sqlx::query("INSERT INTO bulk_jobs (id, kind, filter, total, created_by) VALUES ($1, 'retry', $2, $3, $4)")
        .bind(id)
        .bind(filter_json)
        .bind(i32::try_from(total).unwrap_or(i32::MAX))
        .bind(user)
        .execute(pool)
        .await?;
    let pool_for_job = pool.clone();
    tokio::spawn(async move {
        let outcome = run(&pool_for_job, id, &filter, now, user).await;
        let status = if outcome.is_ok() {
            "finished"
        } else {
            "failed"
        };
        if let Err(err) = &outcome {
            tracing::error!(job = %id, error = %err, "bulk retry failed");
        }
        let _ = sqlx::query("UPDATE bulk_jobs SET status = $2, finished_at = now() WHERE id = $1")
            .bind(id)
            .bind(status)
            .execute(&pool_for_job)
            .await;
    });
    Ok(JobProgress {
        id,
        total: i32::try_from(total).unwrap_or(i32::MAX),
        done: 0,
        status: "running".into(),
    })
}

async fn run(
    pool: &PgPool,
    job: Uuid,
    filter: &LogQuery,
    now: DateTime<Utc>,
    user: Uuid,
) -> sqlx::Result<()> {
    let mut below = None;
    loop {
        let ids = db::log::ids_below(pool, filter, now, below, CHUNK).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(());
        };
        let queued = sqlx::query(
            r#"UPDATE deliveries SET status = 'retrying', next_attempt_at = now(), queued_trigger = 'bulk',
                   queued_by = $2, updated_at = now()
               WHERE id = ANY($1) AND status = 'failed'"#,
        )
        .bind(&ids)
        .bind(user)
        .execute(pool)
        .await?
        .rows_affected();
        sqlx::query("UPDATE bulk_jobs SET done = done + $2 WHERE id = $1")
            .bind(job)
            .bind(i32::try_from(queued).unwrap_or(i32::MAX))
            .execute(pool)
            .await?;
        manual::wake(pool).await?;
        below = Some(last);
    }
}

pub async fn progress(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<JobProgress>> {
    let row: Option<(Uuid, i32, i32, String)> =
        sqlx::query_as("SELECT id, total, done, status FROM bulk_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, total, done, status)| JobProgress {
        id,
        total,
        done,
        status,
    }))
}
