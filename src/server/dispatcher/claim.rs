//! Claiming due deliveries and loading what sending them needs.
//!
//! A claim is one short transaction: lock due rows with `FOR UPDATE SKIP LOCKED` (so any number
//! of dispatchers share the table without waiting on each other), move their `next_attempt_at`
//! forward by the lease, commit. The HTTP requests happen after the commit. A dispatcher that
//! dies leaves rows whose lease simply runs out, and another claims them again.

use crate::domain::attempt::Trigger;
use crate::domain::signing::SignatureScheme;
use crate::server::crypto::SecretBox;
use sqlx::PgPool;
use sqlx::types::Json;
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
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
}

pub async fn claim(pool: &PgPool, limit: i64, lease: Duration) -> sqlx::Result<Vec<Job>> {
    let rows: Vec<(Uuid, Uuid, Uuid, i32, Option<String>, Option<Uuid>)> = sqlx::query_as(
        r#"WITH due AS (
               SELECT id FROM deliveries
               WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now()
               ORDER BY next_attempt_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED
           )
           UPDATE deliveries d
           SET next_attempt_at = now() + make_interval(secs => $2)
           FROM due WHERE d.id = due.id
           RETURNING d.id, d.event_id, d.endpoint_id, d.attempt_count, d.queued_trigger, d.queued_by"#,
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(delivery_id, event_id, endpoint_id, attempts_before, trigger, triggered_by)| Job {
                delivery_id,
                event_id,
                endpoint_id,
                attempts_before,
                trigger: trigger
                    .as_deref()
                    .and_then(Trigger::parse)
                    .unwrap_or(Trigger::Auto),
                triggered_by,
            },
        )
        .collect())
}

/// The exact envelope bytes of each event.
pub async fn event_bodies(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, body FROM events WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
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

type EndpointRow = (
    Uuid,
    String,
    bool,
    bool,
    Vec<u8>,
    Option<Vec<u8>>,
    Json<Vec<(String, String)>>,
    String,
    Option<i32>,
    Option<Vec<i32>>,
    Option<i32>,
    Option<i32>,
);

pub async fn endpoints(
    pool: &PgPool,
    ids: &[Uuid],
    secrets: &SecretBox,
) -> anyhow::Result<HashMap<Uuid, EndpointConfig>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(
        r#"SELECT id, url, enabled, deleted_at IS NOT NULL, secret_encrypted,
                  CASE WHEN previous_secret_expires_at > now() THEN previous_secret_encrypted END,
                  custom_headers, signature_scheme, timeout_ms, retry_schedule_secs,
                  rate_limit_per_sec, max_in_flight
           FROM endpoints WHERE id = ANY($1)"#,
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for (
        id,
        url,
        enabled,
        deleted,
        secret,
        previous,
        headers,
        scheme,
        timeout_ms,
        schedule,
        rate,
        in_flight,
    ) in rows
    {
        let mut all_secrets = vec![secrets.decrypt(&secret)?];
        if let Some(previous) = previous {
            all_secrets.push(secrets.decrypt(&previous)?);
        }
        let to_duration = |ms: i32| Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        out.insert(
            id,
            EndpointConfig {
                id,
                url,
                enabled,
                deleted,
                secrets: all_secrets,
                scheme: SignatureScheme::parse(&scheme).unwrap_or_default(),
                custom_headers: headers.0,
                timeout: timeout_ms.map(to_duration),
                retry_schedule: schedule.map(|s| {
                    s.into_iter()
                        .map(|secs| to_duration(secs.saturating_mul(1000)))
                        .collect()
                }),
                rate_limit_per_sec: rate.and_then(|r| u32::try_from(r).ok()),
                max_in_flight: in_flight.and_then(|m| u32::try_from(m).ok()),
            },
        );
    }
    Ok(out)
}

impl EndpointConfig {
    /// Automatic attempts need an enabled endpoint; an admin's manual, bulk or test attempt
    /// goes to a disabled one too (to check it before enabling). Deleted endpoints get nothing.
    pub fn accepts(&self, trigger: Trigger) -> bool {
        !self.deleted && (self.enabled || trigger != Trigger::Auto)
    }
}
