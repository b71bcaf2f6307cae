//! Events: publishing (one transaction stores the event — the exact envelope bytes — and one
//! delivery per enabled endpoint subscribed to its type, then wakes the dispatchers once) and
//! listing them for consumers who poll.

use crate::domain::alert::is_operational;
use crate::domain::attempt::Trigger;
use crate::domain::event::{MAX_NESTING, envelope, nesting_depth};
use crate::domain::ids::{event_ref, parse_event_ref};
use crate::error::AppError;
use crate::server::db;
use crate::server::db::event_types::PublishRules;
use crate::server::dispatcher::WAKE_CHANNEL;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    pub trigger: Option<(Trigger, Option<Uuid>)>,
    /// Herald's own operational event (an alert): the only way such a type is published.
    pub herald_own: bool,
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
            herald_own: false,
        }
    }

    /// One of Herald's operational events (see [`crate::domain::alert::OPERATIONAL_TYPES`]).
    pub fn operational(event_type: &'a str, data: &'a RawValue) -> Self {
        Self {
            herald_own: true,
            ..Self::automatic(event_type, data)
        }
    }
}

/// An event as publishing answers it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(example = json!({"id": "evt_0193a1b2c3d4e5f60718293a4b5c6d7e", "type": "user.created", "created_at": "2026-11-25T12:00:00.000Z", "deliveries": 2}))]
pub struct Published {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// How many deliveries were queued (one per subscribed, enabled endpoint).
    pub deliveries: i64,
    /// False when an earlier event with the same idempotency key was returned.
    #[serde(skip)]
    pub created: bool,
    #[serde(skip)]
    pub uuid: Uuid,
}

/// The rules a type's events must follow, given what the catalog holds for it (`found`): it
/// is in the catalog, not archived, and not one of Herald's own operational types (unless
/// Herald publishes it).
pub(super) fn usable_rules(
    name: &str,
    herald_own: bool,
    found: Option<PublishRules>,
) -> Result<PublishRules, AppError> {
    if is_operational(name) && !herald_own {
        return Err(AppError::field(
            "type",
            format!("{name:?} is one of Herald's own operational events; only Herald publishes it"),
        ));
    }
    let rules = found.ok_or_else(|| {
        AppError::field(
            "type",
            format!("unknown event type {name:?}; add it to the event-type catalog first"),
        )
    })?;
    if rules.archived {
        return Err(AppError::field(
            "type",
            format!("event type {name:?} is archived: it takes no new events"),
        ));
    }
    Ok(rules)
}

/// What one event must be whatever its type: data nested no deeper than [`MAX_NESTING`]
/// that matches the type's schema if it has one, and a usable idempotency key.
pub(super) fn check_event(
    name: &str,
    rules: &PublishRules,
    data: &RawValue,
    idempotency_key: Option<&str>,
) -> Result<(), AppError> {
    if nesting_depth(data.get()) > MAX_NESTING {
        return Err(AppError::field(
            "data",
            format!("data is nested deeper than {MAX_NESTING} levels"),
        ));
    }
    if idempotency_key.is_some_and(|key| key.is_empty() || key.len() > 200) {
        return Err(AppError::field(
            "idempotency_key",
            "must be 1 to 200 characters",
        ));
    }
    match &rules.schema {
        Some(schema) => super::event_types::check_data(name, schema, data.get()),
        None => Ok(()),
    }
}

pub async fn publish(pool: &PgPool, request: PublishRequest<'_>) -> Result<Published, AppError> {
    let name = request.event_type;
    let found = db::event_types::publish_rules(pool, name).await?;
    let rules = usable_rules(name, request.herald_own, found)?;
    check_event(name, &rules, request.data, request.idempotency_key)?;
    let id = Uuid::now_v7();
    let created_at = crate::server::metrics::uuid_time(id).unwrap_or_else(Utc::now);
    let mut tx = pool.begin().await?;
    if let Some(key) = request.idempotency_key {
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
    // Operational events go only to endpoints subscribed to them by name.
    let deliveries = sqlx::query(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, next_attempt_at,
               queued_trigger, queued_by, created_at)
           SELECT herald_uuid_v7($4), $1, e.id, $2, 'pending', now(), $5, $6, $4
           FROM endpoints e
           WHERE e.deleted_at IS NULL
             AND ($3::uuid IS NOT NULL AND e.id = $3
                  OR $3::uuid IS NULL AND e.enabled
                     AND (e.event_types = '{}' AND NOT $7 OR $2 = ANY (e.event_types)))"#,
    )
    .bind(id)
    .bind(request.event_type)
    .bind(request.only_endpoint)
    .bind(created_at)
    .bind(trigger)
    .bind(by)
    .bind(is_operational(request.event_type))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    commit_publish(tx, deliveries > 0, deliveries > 0).await?;
    crate::server::metrics::record_publish(deliveries);
    Ok(Published {
        id: event_ref(id),
        event_type: request.event_type.to_string(),
        created_at,
        deliveries: i64::try_from(deliveries).unwrap_or(i64::MAX),
        created: true,
        uuid: id,
    })
}

/// Commits a publish: with deliveries queued, word to this process's live log, and with some of
/// them left for claims (`wake`), one wake-up for every dispatcher (NOTIFY is sent at commit);
/// event streams are told either way.
pub(super) async fn commit_publish(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    queued: bool,
    wake: bool,
) -> sqlx::Result<()> {
    if wake {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WAKE_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    crate::server::changes::events_published();
    if queued {
        crate::server::changes::deliveries_changed();
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Earlier {
    id: Uuid,
    #[sqlx(rename = "type")]
    event_type: String,
    created_at: DateTime<Utc>,
    deliveries: i64,
}

/// The event an idempotency key already produced.
pub(super) async fn existing(pool: &PgPool, key: &str) -> Result<Published, AppError> {
    let row: Option<Earlier> = sqlx::query_as(
        r#"SELECT e.id, e.type, e.created_at,
                  (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id) AS deliveries
           FROM idempotency_keys k JOIN events e ON e.id = k.event_id WHERE k.key = $1"#,
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let earlier = row.ok_or(AppError::Conflict(
        "this idempotency key belongs to an event that has been removed by retention".into(),
    ))?;
    Ok(Published {
        id: event_ref(earlier.id),
        event_type: earlier.event_type,
        created_at: earlier.created_at,
        deliveries: earlier.deliveries,
        created: false,
        uuid: earlier.id,
    })
}

/// One event as consumers poll it: `data` is the producer's JSON, byte for byte.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventItem {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Value)]
    pub data: Box<RawValue>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"data": [{"id": "evt_0193a1b2c3d4e5f60718293a4b5c6d7e", "type": "user.created", "created_at": "2026-11-25T12:00:00.000Z", "data": {"user_id": "usr_123"}}], "next_after": "evt_0193a1b2c3d4e5f60718293a4b5c6d7e"}))]
pub struct EventList {
    pub data: Vec<EventItem>,
    /// Pass as `after` to get the next page.
    pub next_after: Option<String>,
}

/// Events oldest first after the event `after` (`evt_…`), or the newest page without it;
/// `limit` is kept between 1 and 500 (50 when absent).
pub async fn list(
    pool: &PgPool,
    after: Option<&str>,
    event_type: Option<&str>,
    limit: Option<i64>,
) -> Result<EventList, AppError> {
    let limit = limit.unwrap_or(50).clamp(1, 500);
    let after = match after {
        Some(text) => Some(
            parse_event_ref(text)
                .ok_or_else(|| AppError::field("after", "must be an event id (evt_…)"))?,
        ),
        None => None,
    };
    let rows = db::events::after(pool, after, event_type, limit).await?;
    let next_after = rows.last().map(|e| event_ref(e.id));
    let data = rows
        .into_iter()
        .map(|e| EventItem {
            id: event_ref(e.id),
            data: envelope_data(&e.body),
            event_type: e.event_type,
            created_at: e.created_at,
        })
        .collect();
    Ok(EventList { data, next_after })
}

/// The `data` member of a stored envelope, as raw JSON.
fn envelope_data(body: &str) -> Box<RawValue> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_str::<Envelope>(body)
        .map(|e| e.data.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
}
