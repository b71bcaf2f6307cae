//! Publishing up to [`MAX_BATCH`] events at once (`POST /api/v1/events/batch`): one
//! transaction with one statement per table and one wake-up, instead of one of each per event.
//! All or nothing: an event that breaks a rule refuses the whole batch, named by its place
//! (`events[3].type`), and nothing is stored. Idempotency keys work per event, as for single
//! publishes: an event whose key was seen before comes back as the earlier event.

use super::events::{Published, check_event, commit_publish, existing, usable_rules};
use crate::domain::event::envelope;
use crate::domain::ids::event_ref;
use crate::error::{AppError, FieldError};
use crate::server::db::event_types::PublishRules;
use crate::server::dispatcher::handoff::{Handoff, Leased, Reservation};
use crate::server::lookups::Lookups;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub const MAX_BATCH: usize = 1000;

/// One event of a batch, as the producer sent it.
pub struct BatchItem<'a> {
    pub event_type: &'a str,
    pub data: &'a RawValue,
    pub idempotency_key: Option<&'a str>,
}

/// An event of the batch ready to store.
struct Prepared<'a> {
    item: &'a BatchItem<'a>,
    id: Uuid,
    created_at: chrono::DateTime<Utc>,
}

/// Checks and writes a batch; `handoff` is this process's running dispatcher, if any.
pub async fn publish_batch(
    pool: &PgPool,
    lookups: &Lookups,
    items: &[BatchItem<'_>],
    handoff: Option<&Handoff>,
) -> Result<Vec<Published>, AppError> {
    check_batch(pool, lookups, items).await?;
    write_batch(pool, items, handoff).await
}

/// Writes events already checked, whose idempotency keys differ from each other. With a
/// `handoff`, the deliveries it has free slots for are written leased to this process and
/// handed to its dispatcher after the commit; only the others need a wake-up.
pub(super) async fn write_batch(
    pool: &PgPool,
    items: &[BatchItem<'_>],
    handoff: Option<&Handoff>,
) -> Result<Vec<Published>, AppError> {
    let prepared: Vec<Prepared> = items
        .iter()
        .map(|item| {
            let id = Uuid::now_v7();
            let created_at = crate::server::metrics::uuid_time(id).unwrap_or_else(Utc::now);
            Prepared {
                item,
                id,
                created_at,
            }
        })
        .collect();
    let mut tx = pool.begin().await?;
    let seen_before = claim_keys(&mut tx, &prepared).await?;
    let new: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| {
            !p.item
                .idempotency_key
                .is_some_and(|k| seen_before.contains(k))
        })
        .collect();
    let bodies = insert_events(&mut tx, &new).await?;
    let reservation = handoff.and_then(Handoff::reserve);
    let inserted = insert_deliveries(&mut tx, &new, reservation.as_ref()).await?;
    let queued = count_per_event(&inserted);
    let (leased, unleased): (Vec<Inserted>, Vec<Inserted>) = inserted
        .into_iter()
        .partition(|row| row.leased_by.is_some());
    commit_publish(tx, !queued.is_empty(), !unleased.is_empty()).await?;
    if let (Some(handoff), Some(reservation)) = (handoff, reservation) {
        let leased = leased.into_iter().map(Inserted::into_leased).collect();
        handoff.hand(pool, reservation, leased, bodies).await;
    }
    answer(pool, &prepared, &seen_before, &queued).await
}

/// A delivery as its insert returns it.
#[derive(sqlx::FromRow)]
struct Inserted {
    id: Uuid,
    event_id: Uuid,
    endpoint_id: Uuid,
    next_attempt_at: DateTime<Utc>,
    leased_by: Option<i32>,
}

impl Inserted {
    fn into_leased(self) -> Leased {
        Leased {
            delivery_id: self.id,
            event_id: self.event_id,
            endpoint_id: self.endpoint_id,
            lease: self.next_attempt_at,
        }
    }
}

fn count_per_event(rows: &[Inserted]) -> HashMap<Uuid, i64> {
    let mut counts = HashMap::new();
    for row in rows {
        *counts.entry(row.event_id).or_insert(0) += 1;
    }
    counts
}

/// Every event checked before anything is written; the first problem refuses the batch.
async fn check_batch(
    pool: &PgPool,
    lookups: &Lookups,
    items: &[BatchItem<'_>],
) -> Result<(), AppError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(AppError::field(
            "events",
            format!("a batch holds 1 to {MAX_BATCH} events"),
        ));
    }
    let mut rules: HashMap<&str, PublishRules> = HashMap::new();
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let at = |err: AppError| placed(index, err);
        if !rules.contains_key(item.event_type) {
            let found = lookups.publish_rules(pool, item.event_type).await?;
            let found = usable_rules(item.event_type, false, found).map_err(at)?;
            rules.insert(item.event_type, found);
        }
        let type_rules = &rules[item.event_type];
        check_event(item.event_type, type_rules, item.data, item.idempotency_key).map_err(at)?;
        if let Some(key) = item.idempotency_key
            && let Some(first) = keys.insert(key, index)
        {
            let message = format!("repeats the idempotency key of events[{first}]");
            return Err(placed(index, AppError::field("idempotency_key", message)));
        }
    }
    Ok(())
}

/// A field error of one event, named by its place in the batch.
fn placed(index: usize, err: AppError) -> AppError {
    match err {
        AppError::Validation(fields) => AppError::Validation(
            fields
                .into_iter()
                .map(|f| FieldError::new(&format!("events[{index}].{}", f.field), f.message))
                .collect(),
        ),
        other => other,
    }
}

/// Claims the batch's idempotency keys; the keys that were already taken.
async fn claim_keys(
    tx: &mut sqlx::PgConnection,
    prepared: &[Prepared<'_>],
) -> sqlx::Result<HashSet<String>> {
    let (keys, ids): (Vec<&str>, Vec<Uuid>) = prepared
        .iter()
        .filter_map(|p| Some((p.item.idempotency_key?, p.id)))
        .unzip();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let claimed: Vec<String> = sqlx::query_scalar(
        r#"INSERT INTO idempotency_keys (key, event_id)
           SELECT * FROM UNNEST($1::text[], $2::uuid[])
           ON CONFLICT (key) DO NOTHING RETURNING key"#,
    )
    .bind(&keys)
    .bind(&ids)
    .fetch_all(tx)
    .await?;
    let claimed: HashSet<&str> = claimed.iter().map(String::as_str).collect();
    Ok(keys
        .into_iter()
        .filter(|k| !claimed.contains(k))
        .map(str::to_string)
        .collect())
}

/// Stores the new events; their envelopes by id.
async fn insert_events(
    tx: &mut sqlx::PgConnection,
    new: &[&Prepared<'_>],
) -> sqlx::Result<HashMap<Uuid, String>> {
    if new.is_empty() {
        return Ok(HashMap::new());
    }
    let bodies: Vec<String> = new
        .iter()
        .map(|p| envelope(p.id, p.item.event_type, p.created_at, p.item.data.get()))
        .collect();
    sqlx::query(
        r#"INSERT INTO events (id, type, body, created_at)
           SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])"#,
    )
    .bind(new.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(new.iter().map(|p| p.item.event_type).collect::<Vec<_>>())
    .bind(&bodies)
    .bind(new.iter().map(|p| p.created_at).collect::<Vec<_>>())
    .execute(tx)
    .await?;
    Ok(new.iter().map(|p| p.id).zip(bodies).collect())
}

/// One delivery per event and enabled endpoint subscribed to its type (producers' types are
/// never operational, so "every type" subscriptions take them all). As many as `reserved`
/// holds slots for are leased to its owner, as a claim leases them; the rest are due now.
async fn insert_deliveries(
    tx: &mut sqlx::PgConnection,
    new: &[&Prepared<'_>],
    reserved: Option<&Reservation>,
) -> sqlx::Result<Vec<Inserted>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let slots = reserved.map_or(0, |r| i64::try_from(r.slots.len()).unwrap_or(i64::MAX));
    sqlx::query_as(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, next_attempt_at,
               leased_by, created_at)
           SELECT herald_uuid_v7(c.created), c.id, c.endpoint_id, c.type, 'pending',
                  CASE WHEN c.n <= $4 THEN now() + make_interval(
                      secs => greatest(c.timeout_ms / 1000.0, $5) + $6) ELSE now() END,
                  CASE WHEN c.n <= $4 THEN $7::int END,
                  c.created
           FROM (SELECT ev.id, ev.type, ev.created, e.id AS endpoint_id, e.timeout_ms,
                        row_number() OVER () AS n
                 FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[]) AS ev(id, type, created)
                 JOIN endpoints e ON e.deleted_at IS NULL AND e.enabled
                      AND (e.event_types = '{}' OR ev.type = ANY (e.event_types))) c
           RETURNING id, event_id, endpoint_id, next_attempt_at, leased_by"#,
    )
    .bind(new.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(new.iter().map(|p| p.item.event_type).collect::<Vec<_>>())
    .bind(new.iter().map(|p| p.created_at).collect::<Vec<_>>())
    .bind(slots)
    .bind(reserved.map_or(0.0, |r| r.timeout_secs))
    .bind(reserved.map_or(0.0, |r| r.margin_secs))
    .bind(reserved.map(|r| r.owner))
    .fetch_all(tx)
    .await
}

/// The batch's events in the order sent: the new ones, and the earlier events of keys seen
/// before.
async fn answer(
    pool: &PgPool,
    prepared: &[Prepared<'_>],
    seen_before: &HashSet<String>,
    queued: &HashMap<Uuid, i64>,
) -> Result<Vec<Published>, AppError> {
    let mut out = Vec::with_capacity(prepared.len());
    for p in prepared {
        if let Some(key) = p.item.idempotency_key.filter(|k| seen_before.contains(*k)) {
            out.push(existing(pool, key).await?);
            continue;
        }
        let deliveries = queued.get(&p.id).copied().unwrap_or(0);
        crate::server::metrics::record_publish(u64::try_from(deliveries).unwrap_or(0));
        out.push(Published {
            id: event_ref(p.id),
            event_type: p.item.event_type.to_string(),
            created_at: p.created_at,
            deliveries,
            created: true,
            uuid: p.id,
        });
    }
    Ok(out)
}
