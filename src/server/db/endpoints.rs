//! Webhook endpoints: create, edit, enable/disable, soft delete, secrets (encrypted at rest,
//! rotation with an overlap), health from the hourly aggregates.

use crate::domain::endpoint::{EndpointSettings, EndpointView, Health};
use crate::domain::health::{BUCKETS, quantile_ms};
use crate::domain::signing::{SignatureScheme, secret_from_key};
use crate::error::AppError;
use crate::server::crypto::SecretBox;
use chrono::{DateTime, DurationRound, Utc};
use rand::RngCore;
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// A fresh `whsec_` secret with 24 random bytes of key.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    secret_from_key(&key)
}

/// Maps a unique-name violation to the form's name field.
fn name_taken(err: sqlx::Error) -> AppError {
    let constraint = err
        .as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_string);
    if constraint.as_deref() == Some("endpoints_name_key") {
        return AppError::field("name", "Another webhook already has this name");
    }
    err.into()
}

pub async fn create(
    pool: &PgPool,
    settings: &EndpointSettings,
    secrets: &SecretBox,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query(
        r#"INSERT INTO endpoints (id, name, url, description, event_types, custom_headers,
               retry_schedule_secs, timeout_ms, rate_limit_per_sec, max_in_flight, signature_scheme,
               secret_encrypted)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"#,
    )
    .bind(id)
    .bind(&settings.name)
    .bind(&settings.url)
    .bind(&settings.description)
    .bind(&settings.event_types)
    .bind(Json(&settings.custom_headers))
    .bind(&settings.retry_schedule_secs)
    .bind(settings.timeout_ms)
    .bind(settings.rate_limit_per_sec)
    .bind(settings.max_in_flight)
    .bind(settings.signature_scheme.as_str())
    .bind(secrets.encrypt(&new_secret()))
    .execute(pool)
    .await
    .map_err(name_taken)?;
    Ok(id)
}

/// Saves the form. A custom header whose value comes back masked keeps its stored value.
pub async fn update(pool: &PgPool, id: Uuid, settings: &EndpointSettings) -> Result<(), AppError> {
    let stored: Option<Json<Vec<(String, String)>>> = sqlx::query_scalar(
        "SELECT custom_headers FROM endpoints WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let stored = stored.ok_or(AppError::NotFound("Webhook".into()))?.0;
    let headers: Vec<(String, String)> = settings
        .custom_headers
        .iter()
        .map(|(name, value)| {
            let kept = stored
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            match (value.as_str(), kept) {
                ("••••••••", Some(old)) => (name.clone(), old),
                _ => (name.clone(), value.clone()),
            }
        })
        .collect();
    sqlx::query(
        r#"UPDATE endpoints SET name = $2, url = $3, description = $4, event_types = $5,
               custom_headers = $6, retry_schedule_secs = $7, timeout_ms = $8,
               rate_limit_per_sec = $9, max_in_flight = $10, signature_scheme = $11, updated_at = now()
           WHERE id = $1 AND deleted_at IS NULL"#,
    )
    .bind(id)
    .bind(&settings.name)
    .bind(&settings.url)
    .bind(&settings.description)
    .bind(&settings.event_types)
    .bind(Json(&headers))
    .bind(&settings.retry_schedule_secs)
    .bind(settings.timeout_ms)
    .bind(settings.rate_limit_per_sec)
    .bind(settings.max_in_flight)
    .bind(settings.signature_scheme.as_str())
    .execute(pool)
    .await
    .map_err(name_taken)?;
    Ok(())
}

/// Enables or disables; enabling clears Herald's reason and the failing streak.
pub async fn set_enabled(pool: &PgPool, id: Uuid, enabled: bool) -> Result<(), AppError> {
    let done = sqlx::query(
        r#"UPDATE endpoints SET enabled = $2, updated_at = now(),
               disabled_reason = CASE WHEN $2 THEN NULL ELSE disabled_reason END,
               failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END
           WHERE id = $1 AND deleted_at IS NULL"#,
    )
    .bind(id)
    .bind(enabled)
    .execute(pool)
    .await?;
    found(done.rows_affected())
}

/// Soft delete: the log keeps its deliveries (shown as from a deleted webhook); pending ones fail.
pub async fn delete(pool: &PgPool, id: Uuid) -> Result<(), AppError> {
    let done = sqlx::query("UPDATE endpoints SET deleted_at = now(), enabled = false, updated_at = now() WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?;
    found(done.rows_affected())
}

fn found(rows: u64) -> Result<(), AppError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(AppError::NotFound("Webhook".into()))
    }
}

pub async fn reveal_secret(
    pool: &PgPool,
    id: Uuid,
    secrets: &SecretBox,
) -> Result<String, AppError> {
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT secret_encrypted FROM endpoints WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let sealed = sealed.ok_or(AppError::NotFound("Webhook".into()))?;
    Ok(secrets.decrypt(&sealed)?)
}

/// A new secret signs from now on; the old one keeps signing too for `overlap`.
pub async fn rotate_secret(
    pool: &PgPool,
    id: Uuid,
    secrets: &SecretBox,
    overlap: chrono::Duration,
) -> Result<String, AppError> {
    let secret = new_secret();
    let done = sqlx::query(
        r#"UPDATE endpoints SET previous_secret_encrypted = secret_encrypted,
               previous_secret_expires_at = now() + make_interval(secs => $3),
               secret_encrypted = $2, updated_at = now()
           WHERE id = $1 AND deleted_at IS NULL"#,
    )
    .bind(id)
    .bind(secrets.encrypt(&secret))
    .bind(overlap.num_seconds() as f64)
    .execute(pool)
    .await?;
    found(done.rows_affected())?;
    Ok(secret)
}

const VIEW_COLUMNS: &str = r#"id, name, url, description, event_types, enabled, disabled_reason, custom_headers,
    retry_schedule_secs, timeout_ms, rate_limit_per_sec, max_in_flight, signature_scheme,
    CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS rotation_ends_at, created_at"#;

fn to_view(row: sqlx::postgres::PgRow) -> sqlx::Result<EndpointView> {
    let scheme: String = row.try_get("signature_scheme")?;
    let headers: Json<Vec<(String, String)>> = row.try_get("custom_headers")?;
    Ok(EndpointView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        event_types: row.try_get("event_types")?,
        enabled: row.try_get("enabled")?,
        disabled_reason: row.try_get("disabled_reason")?,
        custom_headers: headers.0,
        retry_schedule_secs: row.try_get("retry_schedule_secs")?,
        timeout_ms: row.try_get("timeout_ms")?,
        rate_limit_per_sec: row.try_get("rate_limit_per_sec")?,
        max_in_flight: row.try_get("max_in_flight")?,
        signature_scheme: SignatureScheme::parse(&scheme).unwrap_or_default(),
        rotation_ends_at: row.try_get::<Option<DateTime<Utc>>, _>("rotation_ends_at")?,
        created_at: row.try_get("created_at")?,
        day: Health::default(),
        week: Health::default(),
        hourly: Vec::new(),
    })
}

/// Live endpoints with their health, by name.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<EndpointView>> {
    let rows = sqlx::query(&format!(
        "SELECT {VIEW_COLUMNS} FROM endpoints WHERE deleted_at IS NULL ORDER BY lower(name)"
    ))
    .fetch_all(pool)
    .await?;
    let mut views: Vec<EndpointView> =
        rows.into_iter().map(to_view).collect::<sqlx::Result<_>>()?;
    add_health(pool, &mut views).await?;
    Ok(views)
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<EndpointView, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {VIEW_COLUMNS} FROM endpoints WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound("Webhook".into()))?;
    let mut views = vec![to_view(row)?];
    add_health(pool, &mut views).await?;
    Ok(views.remove(0))
}

/// Fills day/week health and the hourly chart from `endpoint_health_hourly` (a few rows per
/// endpoint, however many deliveries there are).
async fn add_health(pool: &PgPool, views: &mut [EndpointView]) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let rows: Vec<(Uuid, DateTime<Utc>, i32, i32, Vec<i32>)> = sqlx::query_as(
        r#"SELECT endpoint_id, hour, succeeded, failed, latency_buckets FROM endpoint_health_hourly
           WHERE endpoint_id = ANY($1) AND hour >= date_trunc('hour', now()) - interval '7 days'"#,
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let this_hour = Utc::now()
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or_else(|_| Utc::now());
    for view in views.iter_mut() {
        let mut day = (0i64, 0i64, [0i64; BUCKETS]);
        let mut week = (0i64, 0i64, [0i64; BUCKETS]);
        let mut hourly = vec![(0i64, 0i64); 24];
        for (_, hour, succeeded, failed, buckets) in rows.iter().filter(|r| r.0 == view.id) {
            let ago = (this_hour - *hour).num_hours();
            let add = |into: &mut (i64, i64, [i64; BUCKETS])| {
                into.0 += i64::from(*succeeded);
                into.1 += i64::from(*failed);
                for (slot, count) in into.2.iter_mut().zip(buckets) {
                    *slot += i64::from(*count);
                }
            };
            add(&mut week);
            if ago < 24 {
                add(&mut day);
                hourly[23 - usize::try_from(ago.max(0)).unwrap_or(0)] =
                    (i64::from(*succeeded), i64::from(*failed));
            }
        }
        let health = |(succeeded, failed, buckets): (i64, i64, [i64; BUCKETS])| Health {
            succeeded,
            failed,
            p50_ms: quantile_ms(&buckets, 0.5),
            p95_ms: quantile_ms(&buckets, 0.95),
        };
        view.day = health(day);
        view.week = health(week);
        view.hourly = hourly;
    }
    Ok(())
}

/// Failed deliveries of an endpoint since a time (for "Recover").
pub async fn failed_since(pool: &PgPool, id: Uuid, since: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND status = 'failed' AND id >= $2",
    )
    .bind(id)
    .bind(crate::domain::ids::uuid_floor(since))
    .fetch_one(pool)
    .await
}

/// Queues one attempt (trigger `bulk`) for each failed delivery of the endpoint since `since`.
pub async fn recover(
    pool: &PgPool,
    id: Uuid,
    since: DateTime<Utc>,
    user: Uuid,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        r#"UPDATE deliveries SET status = 'retrying', next_attempt_at = now(), queued_trigger = 'bulk',
               queued_by = $3, updated_at = now()
           WHERE endpoint_id = $1 AND status = 'failed' AND id >= $2"#,
    )
    .bind(id)
    .bind(crate::domain::ids::uuid_floor(since))
    .bind(user)
    .execute(pool)
    .await?;
    crate::server::dispatcher::manual::wake(pool).await?;
    Ok(done.rows_affected())
}
