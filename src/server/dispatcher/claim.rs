//! Claiming due deliveries and loading what sending them needs.
//!
//! A claim is one short transaction: lock due rows with `FOR UPDATE SKIP LOCKED` (so any number
//! of dispatchers share the table without waiting on each other), move their `next_attempt_at`
//! forward by the lease, commit. The HTTP requests happen after the commit. A dispatcher that
//! dies leaves rows whose lease simply runs out, and another claims them again.
//!
//! The lease fits the work: the longest attempt timeout among the claimed deliveries'
//! endpoints (the server's when none overrides it) plus a margin for recording. Nothing else
//! waits between claim and send — capacity is taken before claiming and a rate-limited
//! delivery is put off rather than waited for — so a live process always records before its
//! lease ends. A dead one's deliveries are due again one lease later (15 s by default), or at
//! once when a process starts and finds their owner gone (see [`super::owner`]).

use crate::domain::attempt::Trigger;
use crate::domain::signing::SignatureScheme;
use crate::server::crypto::SecretBox;
use crate::server::db::endpoints::HeaderRecord;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    /// Attempts made before this one.
    pub attempts_before: i32,
    /// The lease this claim wrote (`next_attempt_at`); results are written only under it.
    pub lease: DateTime<Utc>,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
}

/// A claimed delivery as the claim query returns it.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    event_id: Uuid,
    endpoint_id: Uuid,
    attempt_count: i32,
    queued_trigger: Option<Trigger>,
    queued_by: Option<Uuid>,
    next_attempt_at: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries for `timeout` (the server's attempt timeout; endpoints
/// may set a longer one) plus `margin`, for `owner` (see [`super::owner`]; none when the
/// dispatcher is driven step by step without a running loop).
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    timeout: Duration,
    margin: Duration,
    owner: Option<i32>,
) -> sqlx::Result<Vec<Job>> {
    let rows: Vec<Claimed> = sqlx::query_as(
        r#"WITH due AS (
               SELECT id, endpoint_id FROM deliveries
               WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now()
               ORDER BY next_attempt_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED
           ), longest AS (
               SELECT max(e.timeout_ms) AS ms FROM endpoints e
               WHERE e.id IN (SELECT endpoint_id FROM due)
           )
           UPDATE deliveries d
           SET next_attempt_at = now() + make_interval(
                   secs => greatest((SELECT ms FROM longest) / 1000.0, $2) + $3),
               leased_by = $4
           FROM due WHERE d.id = due.id
           RETURNING d.id, d.event_id, d.endpoint_id, d.attempt_count, d.queued_trigger, d.queued_by,
                     d.next_attempt_at"#,
    )
    .bind(limit)
    .bind(timeout.as_secs_f64())
    .bind(margin.as_secs_f64())
    .bind(owner)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Job {
            delivery_id: row.id,
            event_id: row.event_id,
            endpoint_id: row.endpoint_id,
            attempts_before: row.attempt_count,
            lease: row.next_attempt_at,
            trigger: row.queued_trigger.unwrap_or(Trigger::Auto),
            triggered_by: row.queued_by,
        })
        .collect())
}

/// The exact envelope bytes of each event.
pub async fn event_bodies(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, String>> {
    #[derive(sqlx::FromRow)]
    struct Body {
        id: Uuid,
        body: String,
    }
    let rows: Vec<Body> = sqlx::query_as("SELECT id, body FROM events WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.body)).collect())
}

/// An endpoint as the dispatcher needs it, secrets decrypted.
#[derive(Clone)]
pub struct EndpointConfig {
    pub id: Uuid,
    pub url: String,
    pub enabled: bool,
    pub deleted: bool,
    /// Signing secrets, newest first (the previous one only while its overlap lasts).
    pub secrets: Vec<String>,
    pub scheme: SignatureScheme,
    pub custom_headers: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub retry_schedule: Option<Vec<Duration>>,
    pub rate_limit_per_sec: Option<u32>,
    pub max_in_flight: Option<u32>,
}

/// An endpoint row with its secrets still sealed.
#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: Uuid,
    url: String,
    enabled: bool,
    deleted: bool,
    secret_encrypted: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    #[sqlx(flatten)]
    headers: HeaderRecord,
    signature_scheme: SignatureScheme,
    timeout_ms: Option<i32>,
    retry_schedule_secs: Option<Vec<i32>>,
    rate_limit_per_sec: Option<i32>,
    max_in_flight: Option<i32>,
}

impl EndpointRow {
    fn open(self, secrets: &SecretBox) -> anyhow::Result<EndpointConfig> {
        let mut all_secrets = vec![secrets.decrypt(&self.secret_encrypted)?];
        if let Some(previous) = &self.previous_secret {
            all_secrets.push(secrets.decrypt(previous)?);
        }
        let to_duration = |ms: i32| Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        Ok(EndpointConfig {
            id: self.id,
            url: self.url,
            enabled: self.enabled,
            deleted: self.deleted,
            secrets: all_secrets,
            scheme: self.signature_scheme,
            custom_headers: self.headers.open(secrets)?,
            timeout: self.timeout_ms.map(to_duration),
            retry_schedule: self.retry_schedule_secs.map(|s| {
                s.into_iter()
                    .map(|secs| to_duration(secs.saturating_mul(1000)))
                    .collect()
            }),
            rate_limit_per_sec: self.rate_limit_per_sec.and_then(|r| u32::try_from(r).ok()),
            max_in_flight: self.max_in_flight.and_then(|m| u32::try_from(m).ok()),
        })
    }
}

pub async fn endpoints(
    pool: &PgPool,
    ids: &[Uuid],
    secrets: &SecretBox,
) -> anyhow::Result<HashMap<Uuid, EndpointConfig>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(
        r#"SELECT id, url, enabled, deleted_at IS NOT NULL AS deleted, secret_encrypted,
                  CASE WHEN previous_secret_expires_at > now() THEN previous_secret_encrypted END
                      AS previous_secret,
                  custom_headers, custom_headers_sealed, signature_scheme, timeout_ms, retry_schedule_secs,
                  rate_limit_per_sec, max_in_flight
           FROM endpoints WHERE id = ANY($1)"#,
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| Ok((row.id, row.open(secrets)?)))
        .collect()
}

impl EndpointConfig {
    /// Automatic attempts need an enabled endpoint; an admin's manual, bulk or test attempt
    /// goes to a disabled one too (to check it before enabling). Deleted endpoints get nothing.
    pub fn accepts(&self, trigger: Trigger) -> bool {
        crate::domain::endpoint::accepts(self.deleted, self.enabled, trigger)
    }
}
