//! Deliveries: the log's views, one delivery in detail, a manual retry, and bulk retries of
//! every failed delivery matching a filter (a background job with progress).

use super::Actor;
use crate::domain::attempt::Trigger;
use crate::domain::delivery::{
    AttemptProgress, AttemptView, DeliveryDetail, DeliveryRow, JobProgress,
};
use crate::domain::log_query::{Cursor, LogFilters, LogPage, LogQuery, StatusFilter};
use crate::error::AppError;
use crate::server::db;
use crate::server::dispatcher::wake;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Deliveries queued per step of a bulk retry.
const CHUNK: i64 = 500;

/// One view of the log, as the page shows it.
pub struct LogView {
    /// The view, normalised (a "← Newer" link back to the top becomes the live first page).
    pub query: LogQuery,
    pub page: LogPage,
    /// The filter form's choices, when asked for.
    pub choices: Option<LogFilters>,
}

/// The log for `query`. With `anchor` (the live refresh of a first page) rows newer than the
/// anchor are left out, so the rows the admin is reading stay where they are.
pub async fn log(
    state: &AppState,
    query: LogQuery,
    anchor: Option<Uuid>,
    with_choices: bool,
) -> Result<LogView, AppError> {
    let mut rows_query = query.clone();
    let anchored = anchor.filter(|_| query.cursor.is_none() && query.is_newest_first());
    if let Some(anchor) = anchored {
        // Rows at or below the anchor: the same page the admin is reading, with fresh statuses.
        rows_query.cursor = Some(Cursor {
            before: false,
            key: String::new(),
            id: Uuid::from_u128(anchor.as_u128().saturating_add(1)),
        });
    }
    let mut page = db::log::page(&state.pool, &rows_query, Utc::now()).await?;
    if anchored.is_some() {
        page.prev = None;
    }
    // "← Newer" back to the newest rows: that is the first page, live like any first page.
    let reached_top = page.prev.is_none() && query.cursor.as_ref().is_some_and(|c| c.before);
    let query = match reached_top {
        true => LogQuery {
            cursor: None,
            ..query
        },
        false => query,
    };
    let choices = match with_choices {
        true => Some(filter_choices(state).await?),
        false => None,
    };
    Ok(LogView {
        query,
        page,
        choices,
    })
}

/// How many deliveries matching the view are newer than `top`.
pub async fn newer_count(
    state: &AppState,
    mut query: LogQuery,
    top: Uuid,
) -> Result<i64, AppError> {
    query.cursor = None;
    Ok(db::log::count_newer(&state.pool, &query, Utc::now(), top).await?)
}

/// The event types and live endpoints the log can be filtered by.
pub async fn filter_choices(state: &AppState) -> Result<LogFilters, AppError> {
    Ok(db::log::filter_choices(&state.pool).await?)
}

async fn row(pool: &PgPool, id: Uuid) -> Result<DeliveryRow, AppError> {
    db::deliveries::get(pool, id)
        .await?
        .ok_or(AppError::NotFound("Delivery".into()))
}

/// A delivery with its payload and every attempt.
pub async fn detail(state: &AppState, id: Uuid) -> Result<DeliveryDetail, AppError> {
    let delivery = row(&state.pool, id).await?;
    let body = db::events::body(&state.pool, delivery.event_id)
        .await?
        .unwrap_or_default();
    let body_pretty = serde_json::from_str::<serde_json::Value>(&body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| body.clone());
    let attempts = db::deliveries::attempts(&state.pool, id).await?;
    Ok(DeliveryDetail {
        delivery,
        body,
        body_pretty,
        attempts,
        generated_at: Utc::now(),
    })
}

/// A delivery and its attempts, without the payload (the REST API's view).
pub async fn with_attempts(
    state: &AppState,
    id: Uuid,
) -> Result<(DeliveryRow, Vec<AttemptView>), AppError> {
    let delivery = row(&state.pool, id).await?;
    let attempts = db::deliveries::attempts(&state.pool, id).await?;
    Ok((delivery, attempts))
}

/// Where the delivery's attempts stand (what the detail page's Retry button waits on).
pub async fn progress(state: &AppState, id: Uuid) -> Result<AttemptProgress, AppError> {
    db::deliveries::progress(&state.pool, id, Utc::now())
        .await?
        .ok_or(AppError::NotFound("Delivery".into()))
}

/// The newest attempt's result ("200", "timeout", …), once there is one.
pub async fn outcome(state: &AppState, id: Uuid) -> Result<Option<String>, AppError> {
    let delivery = row(&state.pool, id).await?;
    Ok((delivery.attempt_count > 0).then(|| delivery.response_label()))
}

/// Queues one immediate attempt, recorded as `manual` with who asked.
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    if !db::deliveries::queue_attempt(&state.pool, id, Trigger::Manual, actor.user_id).await? {
        return Err(AppError::NotFound("Delivery".into()));
    }
    wake(&state.pool).await?;
    db::audit::record(
        &state.pool,
        actor,
        "delivery.retry",
        &id.to_string(),
        json!({}),
    )
    .await?;
    Ok(())
}

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

/// How many failed deliveries a bulk retry of this view would queue.
pub async fn bulk_retry_count(state: &AppState, view: &LogQuery) -> Result<i64, AppError> {
    let now = Utc::now();
    Ok(db::log::count(&state.pool, &failed_matching(view, now), now).await?)
}

/// Starts a bulk retry of every failed delivery matching the view; returns at once with the
/// job's progress (the queuing runs in the background, in chunks).
pub async fn start_bulk_retry(
    state: &AppState,
    actor: &Actor,
    view: &LogQuery,
) -> Result<JobProgress, AppError> {
    let now = Utc::now();
    let filter = failed_matching(view, now);
    let total = i32::try_from(db::log::count(&state.pool, &filter, now).await?).unwrap_or(i32::MAX);
    let id = Uuid::now_v7();
    let filter_json = serde_json::to_value(&filter).unwrap_or_default();
    db::bulk_jobs::insert(&state.pool, id, filter_json, total, actor.user_id).await?;
    let details = json!({ "view": view.to_query_string(), "total": total });
    db::audit::record(
        &state.pool,
        actor,
        "delivery.bulk_retry",
        &id.to_string(),
        details,
    )
    .await?;
    let (pool, user) = (state.pool.clone(), actor.user_id);
    tokio::spawn(async move {
        let outcome = run_bulk_retry(&pool, id, &filter, now, user).await;
        if let Err(err) = &outcome {
            tracing::error!(job = %id, error = %err, "bulk retry failed");
        }
        let status = if outcome.is_ok() {
            "finished"
        } else {
            "failed"
        };
        if let Err(err) = db::bulk_jobs::finish(&pool, id, status).await {
            tracing::error!(job = %id, error = %err, "could not record the end of a bulk retry");
        }
    });
    Ok(JobProgress {
        id,
        total,
        done: 0,
        status: "running".into(),
    })
}

async fn run_bulk_retry(
    pool: &PgPool,
    job: Uuid,
    filter: &LogQuery,
    now: DateTime<Utc>,
    user: Option<Uuid>,
) -> sqlx::Result<()> {
    let mut below = None;
    loop {
        let ids = db::log::ids_below(pool, filter, now, below, CHUNK).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(());
        };
        let queued = db::deliveries::queue_failed(pool, &ids, user).await?;
        db::bulk_jobs::add_done(pool, job, queued).await?;
        wake(pool).await?;
        below = Some(last);
    }
}

pub async fn bulk_job(state: &AppState, id: Uuid) -> Result<JobProgress, AppError> {
    db::bulk_jobs::progress(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound("Bulk job".into()))
}
