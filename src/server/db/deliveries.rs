//! Reading the delivery log.

use crate::domain::delivery::{DeliveryRow, DeliveryStatus};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

pub const ROW_COLUMNS: &str = r#"
    d.id, d.event_id, d.event_type, d.endpoint_id, e.name AS endpoint_name, e.url AS endpoint_url,
    e.deleted_at IS NOT NULL AS endpoint_deleted, d.status, d.attempt_count,
    d.last_response_status, d.last_error_class, d.last_attempt_at, d.next_attempt_at, d.created_at,
    d.queued_trigger IS NOT NULL AS queued"#;

pub fn to_row(row: PgRow) -> sqlx::Result<DeliveryRow> {
    let status: String = row.try_get("status")?;
    Ok(DeliveryRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        endpoint_id: row.try_get("endpoint_id")?,
        endpoint_name: row.try_get("endpoint_name")?,
        endpoint_url: row.try_get("endpoint_url")?,
        endpoint_deleted: row.try_get("endpoint_deleted")?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
        attempt_count: row.try_get("attempt_count")?,
        response_status: row.try_get("last_response_status")?,
        error_class: row.try_get("last_error_class")?,
        last_attempt_at: row.try_get::<Option<DateTime<Utc>>, _>("last_attempt_at")?,
        next_attempt_at: row.try_get::<Option<DateTime<Utc>>, _>("next_attempt_at")?,
        created_at: row.try_get("created_at")?,
        queued: row.try_get("queued")?,
    })
}

/// The newest deliveries, newest first.
pub async fn recent(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         ORDER BY d.id DESC LIMIT $1"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(pool).await?;
    rows.into_iter().map(to_row).collect()
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<DeliveryRow>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1"
    );
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(to_row)
        .transpose()
}

type AttemptRecord = (
    Uuid,
    i32,
    String,
    Option<String>,
    DateTime<Utc>,
    i32,
    String,
    sqlx::types::Json<Vec<(String, String)>>,
    Option<i16>,
    Option<sqlx::types::Json<Vec<(String, String)>>>,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);

/// Every attempt of a delivery, oldest first.
pub async fn attempts(
    pool: &PgPool,
    delivery_id: Uuid,
) -> sqlx::Result<Vec<crate::domain::delivery::AttemptView>> {
    let rows: Vec<AttemptRecord> = sqlx::query_as(
        r#"SELECT a.id, a.attempt_number, a.trigger, u.email, a.started_at, a.duration_ms,
                  a.request_url, a.request_headers, a.response_status, a.response_headers,
                  a.response_body, a.response_body_truncated, a.error_class, a.error_message
           FROM delivery_attempts a LEFT JOIN users u ON u.id = a.triggered_by
           WHERE a.delivery_id = $1
           ORDER BY a.attempt_number, a.id"#,
    )
    .bind(delivery_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::domain::delivery::AttemptView {
            id: r.0,
            attempt_number: r.1,
            trigger: r.2,
            triggered_by: r.3,
            started_at: r.4,
            duration_ms: r.5,
            request_url: r.6,
            request_headers: r.7.0,
            response_status: r.8,
            response_headers: r.9.map(|h| h.0).unwrap_or_default(),
            response_body: r.10,
            response_body_truncated: r.11,
            error_class: r.12,
            error_message: r.13,
        })
        .collect())
}

/// How many attempts a delivery has and whether another is due (what the detail page's Retry
/// button waits on): one row by primary key and a count on the attempts' delivery index.
pub async fn progress(
    pool: &PgPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<crate::domain::delivery::AttemptProgress>> {
    let Some(row) = get(pool, id).await? else {
        return Ok(None);
    };
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM delivery_attempts WHERE delivery_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    Ok(Some(crate::domain::delivery::AttemptProgress {
        attempts,
        due: row.attempt_due(now),
    }))
}
