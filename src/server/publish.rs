//! Publishing an event: one transaction stores the event (the exact envelope bytes) and one
//! delivery per enabled endpoint subscribed to its type, then wakes the dispatchers once.

use super::dispatcher::WAKE_CHANNEL;
use crate::domain::event::envelope;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;
use uuid::Uuid;

pub struct PublishRequest<'a> {
    pub event_type: &'a str,
    /// The producer's `data` exactly as received (already checked to be JSON).
    pub data: &'a RawValue,
    pub idempotency_key: Option<&'a str>,
    /// Only this endpoint (test events); otherwise every subscribed endpoint.
    pub only_endpoint: Option<Uuid>,
    /// Queued deliveries carry this trigger and user (test events); `None` = automatic.
    pub trigger: Option<(&'a str, Option<Uuid>)>,
}

impl<'a> PublishRequest<'a> {
    /// An ordinary producer event: every subscribed endpoint, automatic trigger, no idempotency key.
    pub fn automatic(event_type: &'a str, data: &'a RawValue) -> Self {
        Self {
            event_type,
            data,
            idempotency_key: None,
            only_endpoint: None,
            trigger: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Published {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub deliveries: i64,
    /// False when an earlier event with the same idempotency key was returned.
    #[serde(skip)]
    pub created: bool,
    #[serde(skip)]
    pub uuid: Uuid,
}

pub async fn publish(pool: &PgPool, request: PublishRequest<'_>) -> Result<Published, AppError> {
    let known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM event_types WHERE name = $1)")
            .bind(request.event_type)
            .fetch_one(pool)
            .await?;
    if !known {
        return Err(AppError::field(
            "type",
            format!(
                "unknown event type {:?}; add it to the event-type catalog first",
                request.event_type
            ),
        ));
    }
    let id = Uuid::now_v7();
    let created_at = super::metrics::uuid_time(id).unwrap_or_else(Utc::now);
    let mut tx = pool.begin().await?;
    if let Some(key) = request.idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(AppError::field(
                "idempotency_key",
                "must be 1 to 200 characters",
            ));
        }
        let claimed: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (key, event_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING event_id",
        )
        .bind(key)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            tx.rollback().await?;
            return existing(pool, key).await;
        }
    }
    let body = envelope(id, request.event_type, created_at, request.data.get());
    sqlx::query("INSERT INTO events (id, type, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(request.event_type)
        .bind(&body)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
    let (trigger, by) = request
        .trigger
        .map_or((None, None), |(t, by)| (Some(t), by));
    let deliveries = sqlx::query(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, next_attempt_at,
               queued_trigger, queued_by, created_at)
           SELECT herald_uuid_v7($4), $1, e.id, $2, 'pending', now(), $5, $6, $4
           FROM endpoints e
           WHERE e.deleted_at IS NULL
             AND ($3::uuid IS NOT NULL AND e.id = $3
                  OR $3::uuid IS NULL AND e.enabled AND (e.event_types = '{}' OR $2 = ANY (e.event_types)))"#,
    )
    .bind(id)
    .bind(request.event_type)
    .bind(request.only_endpoint)
    .bind(created_at)
    .bind(trigger)
    .bind(by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deliveries > 0 {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WAKE_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Published {
        id: crate::domain::ids::event_ref(id),
        event_type: request.event_type.to_string(),
        created_at,
        deliveries: i64::try_from(deliveries).unwrap_or(i64::MAX),
        created: true,
        uuid: id,
    })
}

/// The event an idempotency key already produced.
async fn existing(pool: &PgPool, key: &str) -> Result<Published, AppError> {
    let row: Option<(Uuid, String, DateTime<Utc>, i64)> = sqlx::query_as(
        r#"SELECT e.id, e.type, e.created_at, (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id)
           FROM idempotency_keys k JOIN events e ON e.id = k.event_id WHERE k.key = $1"#,
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let (uuid, event_type, created_at, deliveries) = row.ok_or(AppError::Conflict(
        "this idempotency key belongs to an event that has been removed by retention".into(),
    ))?;
    Ok(Published {
        id: crate::domain::ids::event_ref(uuid),
        event_type,
        created_at,
        deliveries,
        created: false,
        uuid,
    })
}
