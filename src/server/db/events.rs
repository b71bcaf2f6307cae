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

/// A place in the event stream: everything at or before it has been read.
/// Ordered by transaction, then id (the field order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamCursor {
    /// The writing transaction's id (`xid8`; a 64-bit counter that never wraps).
    pub txid: u64,
    pub id: Uuid,
}

/// The cursor just after `id`; `None` when no such event is stored (never published, or
/// removed by retention). Events from before the stream existed read as the stream's start.
pub async fn stream_cursor_after(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<StreamCursor>> {
    let txid: Option<Option<String>> =
        sqlx::query_scalar("SELECT txid::text FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(txid.map(|txid| StreamCursor {
        txid: txid.and_then(|t| t.parse().ok()).unwrap_or(0),
        id,
    }))
}

/// The oldest transaction still running: every event written by an earlier one is committed
/// (or never will be), so the stream may read up to it.
pub async fn stream_horizon(pool: &PgPool) -> sqlx::Result<u64> {
    let xmin: String = sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        .fetch_one(pool)
        .await?;
    xmin.parse()
        .map_err(|_| sqlx::Error::Protocol(format!("pg_snapshot_xmin gave {xmin:?}")))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamedEvent {
    pub txid: String,
    #[sqlx(flatten)]
    pub event: EventRecord,
}

/// Up to `limit` events after `cursor` written by transactions below `horizon`, in commit
/// order, optionally of one type.
pub async fn stream_page(
    pool: &PgPool,
    cursor: StreamCursor,
    horizon: u64,
    event_type: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<(StreamCursor, EventRecord)>> {
    let rows: Vec<StreamedEvent> = sqlx::query_as(
        r#"SELECT txid::text AS txid, id, type, created_at, body FROM events
           WHERE (txid, id) > ($1::text::xid8, $2) AND txid < $3::text::xid8
             AND ($4::text IS NULL OR type = $4)
           ORDER BY txid, id LIMIT $5"#,
    )
    .bind(cursor.txid.to_string())
    .bind(cursor.id)
    .bind(horizon.to_string())
    .bind(event_type)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let at = StreamCursor {
                txid: row.txid.parse().unwrap_or(cursor.txid),
                id: row.event.id,
            };
            (at, row.event)
        })
        .collect())
}
