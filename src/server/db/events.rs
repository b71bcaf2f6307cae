//! Stored events: the exact envelope text each was sent with.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The envelope `{"id","type","created_at","data"}` exactly as signed and sent.
    pub body: String,
}

/// Events oldest first after `after` (or the newest `limit` without it), optionally of one type.
pub async fn after(
    pool: &PgPool,
    after: Option<Uuid>,
    event_type: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<EventRecord>> {
    sqlx::query_as(
        r#"SELECT id, type, created_at, body FROM (
               SELECT id, type, created_at, body FROM events
               WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR type = $2)
               ORDER BY CASE WHEN $1::uuid IS NULL THEN NULL ELSE id END ASC, id DESC
               LIMIT $3
           ) page ORDER BY id"#,
    )
    .bind(after)
    .bind(event_type)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The envelope of one event.
pub async fn body(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}
