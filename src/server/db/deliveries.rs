//! Deliveries and their attempts as the portal and the REST API read them, and the writes an
//! admin can ask for: a manual retry, a bulk retry's chunk, an endpoint's recovery.

use crate::domain::attempt::{Trigger, header_pairs, readable};
use crate::domain::delivery::{AttemptProgress, AttemptView, DeliveryRow};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// The columns of a [`DeliveryRow`], over `deliveries d JOIN endpoints e`.
pub const ROW_COLUMNS: &str = r#"
    d.id, d.event_id, d.event_type, d.endpoint_id, e.name AS endpoint_name, e.url AS endpoint_url,
    e.deleted_at IS NOT NULL AS endpoint_deleted, d.status, d.attempt_count,
    d.last_response_status AS response_status, d.last_error_class AS error_class,
    d.last_attempt_at, d.next_attempt_at, d.created_at,
    d.queued_trigger IS NOT NULL AS queued"#;

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<DeliveryRow>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1"
    );
    sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
}

/// The delivery of an event to one endpoint (a test event has exactly one).
pub async fn of_event(pool: &PgPool, event_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1 LIMIT 1")
        .bind(event_id)
        .fetch_optional(pool)
        .await
}

/// An attempt as stored; the header lists are JSON arrays of `[name, value]`.
#[derive(sqlx::FromRow)]
struct AttemptRecord {
    id: Uuid,
    attempt_number: i32,
    trigger: Trigger,
    triggered_by: Option<String>,
    started_at: DateTime<Utc>,
    duration_ms: i32,
    request_url: String,
    request_headers: Json<Vec<(String, String)>>,
    response_status: Option<i16>,
    response_headers: Option<Vec<u8>>,
    response_body: Option<Vec<u8>>,
    response_body_truncated: bool,
    error_class: Option<String>,
    error_message: Option<String>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(r: AttemptRecord) -> Self {
        use base64::Engine;
        let body = r.response_body.as_deref().map(readable);
        let binary = body.as_ref().is_some_and(|b| b.binary);
        let base64 = r
            .response_body
            .as_deref()
            .filter(|_| binary)
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes));
        AttemptView {
            id: r.id,
            attempt_number: r.attempt_number,
            trigger: r.trigger.as_str().to_string(),
            triggered_by: r.triggered_by,
            started_at: r.started_at,
            duration_ms: r.duration_ms,
            request_url: r.request_url,
            request_headers: r.request_headers.0,
            response_status: r.response_status,
            response_headers: r
                .response_headers
                .as_deref()
                .map(header_pairs)
                .unwrap_or_default(),
            response_body: body.map(|b| b.text),
            response_body_truncated: r.response_body_truncated,
            response_body_binary: binary,
            response_body_base64: base64,
            error_class: r.error_class,
            error_message: r.error_message,
        }
    }
}

/// Every attempt of a delivery, oldest first.
pub async fn attempts(pool: &PgPool, delivery_id: Uuid) -> sqlx::Result<Vec<AttemptView>> {
    let rows: Vec<AttemptRecord> = sqlx::query_as(
        r#"SELECT a.id, a.attempt_number, a.trigger, u.email AS triggered_by, a.started_at,
                  a.duration_ms, a.request_url, a.request_headers, a.response_status,
                  a.response_headers, a.response_body, a.response_body_truncated, a.error_class,
                  a.error_message
           FROM delivery_attempts a LEFT JOIN users u ON u.id = a.triggered_by
           WHERE a.delivery_id = $1
           ORDER BY a.attempt_number, a.id"#,
    )
    .bind(delivery_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(AttemptView::from).collect())
}

/// How many attempts a delivery has and whether another is due (what the detail page's Retry
/// button waits on): one row by primary key and a count on the attempts' delivery index.
pub async fn progress(
    pool: &PgPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<AttemptProgress>> {
    let Some(row) = get(pool, id).await? else {
        return Ok(None);
    };
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM delivery_attempts WHERE delivery_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    Ok(Some(AttemptProgress {
        attempts,
        due: row.attempt_due(now),
    }))
}

/// Queues one immediate attempt of a delivery, recorded with `trigger` and the user. Returns
/// false when the delivery does not exist.
pub async fn queue_attempt(
    pool: &PgPool,
    id: Uuid,
    trigger: Trigger,
    user: Option<Uuid>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        r#"UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'retrying' END,
               next_attempt_at = now(), queued_trigger = $2, queued_by = $3, updated_at = now()
           WHERE id = $1"#,
    )
    .bind(id)
    .bind(trigger)
    .bind(user)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues one `bulk` attempt for each of these deliveries that is still failed; how many.
pub async fn queue_failed(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
    user: Option<Uuid>,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        r#"UPDATE deliveries SET status = 'retrying', next_attempt_at = now(), queued_trigger = 'bulk',
               queued_by = $2, updated_at = now()
           WHERE id = ANY($1) AND status = 'failed'"#,
    )
    .bind(ids)
    .bind(user)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Failed deliveries of an endpoint since a time (for "Recover").
pub async fn failed_since(
    pool: &PgPool,
    endpoint: Uuid,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND status = 'failed' AND id >= $2",
    )
    .bind(endpoint)
    .bind(crate::domain::ids::uuid_floor(since))
    .fetch_one(pool)
    .await
}

/// Queues one attempt (trigger `bulk`) for each failed delivery of the endpoint since `since`.
pub async fn recover(
    pool: &PgPool,
    endpoint: Uuid,
    since: DateTime<Utc>,
    user: Option<Uuid>,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        r#"UPDATE deliveries SET status = 'retrying', next_attempt_at = now(), queued_trigger = 'bulk',
               queued_by = $3, updated_at = now()
           WHERE endpoint_id = $1 AND status = 'failed' AND id >= $2"#,
    )
    .bind(endpoint)
    .bind(crate::domain::ids::uuid_floor(since))
    .bind(user)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
