//! Webhook endpoints: create, edit, enable/disable, soft delete, secrets (encrypted at rest,
//! rotation with an overlap), health from the hourly aggregates.

use crate::domain::endpoint::{EndpointSettings, EndpointView, Health, keep_masked};
use crate::domain::health::{BUCKETS, quantile_ms};
use crate::domain::signing::{SignatureScheme, secret_from_key};
use crate::domain::webhook::mask_value;
use crate::error::AppError;
use crate::server::crypto::SecretBox;
use chrono::{DateTime, DurationRound, Utc};
use rand::RngCore;
use sqlx::PgPool;
use sqlx::types::Json;
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

/// The two stored forms of an endpoint's custom headers: masked for display, sealed for use.
fn stored_headers(
    headers: &[(String, String)],
    secrets: &SecretBox,
) -> (Json<Vec<(String, String)>>, Vec<u8>) {
    let masked = headers
        .iter()
        .map(|(name, value)| (name.clone(), mask_value(value)))
        .collect();
    let sealed = secrets.encrypt(&serde_json::to_string(headers).unwrap_or_else(|_| "[]".into()));
    (Json(masked), sealed)
}

pub async fn create(
    pool: &PgPool,
    settings: &EndpointSettings,
    enabled: bool,
    secrets: &SecretBox,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    let (masked, sealed) = stored_headers(&settings.custom_headers, secrets);
    sqlx::query(
        r#"INSERT INTO endpoints (id, name, url, description, event_types, custom_headers,
               custom_headers_sealed, retry_schedule_secs, timeout_ms, rate_limit_per_sec,
               max_in_flight, signature_scheme, secret_encrypted, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"#,
    )
    .bind(id)
    .bind(&settings.name)
    .bind(&settings.url)
    .bind(&settings.description)
    .bind(&settings.event_types)
    .bind(masked)
    .bind(sealed)
    .bind(&settings.retry_schedule_secs)
    .bind(settings.timeout_ms)
    .bind(settings.rate_limit_per_sec)
    .bind(settings.max_in_flight)
    .bind(settings.signature_scheme)
    .bind(secrets.encrypt(&new_secret()))
    .bind(enabled)
    .execute(pool)
    .await
    .map_err(name_taken)?;
    Ok(id)
}

/// Saves the form. A custom header whose value comes back masked keeps its stored value.
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    settings: &EndpointSettings,
    secrets: &SecretBox,
) -> Result<(), AppError> {
    let stored = reveal_headers(pool, id, secrets).await?;
    let headers = keep_masked(&settings.custom_headers, &stored);
    let (masked, sealed) = stored_headers(&headers, secrets);
    sqlx::query(
        r#"UPDATE endpoints SET name = $2, url = $3, description = $4, event_types = $5,
               custom_headers = $6, custom_headers_sealed = $7, retry_schedule_secs = $8,
               timeout_ms = $9, rate_limit_per_sec = $10, max_in_flight = $11,
               signature_scheme = $12, updated_at = now()
           WHERE id = $1 AND deleted_at IS NULL"#,
    )
    .bind(id)
    .bind(&settings.name)
    .bind(&settings.url)
    .bind(&settings.description)
    .bind(&settings.event_types)
    .bind(masked)
    .bind(sealed)
    .bind(&settings.retry_schedule_secs)
    .bind(settings.timeout_ms)
    .bind(settings.rate_limit_per_sec)
    .bind(settings.max_in_flight)
    .bind(settings.signature_scheme)
    .execute(pool)
    .await
    .map_err(name_taken)?;
    Ok(())
}

/// An endpoint's custom headers as sealed (or, for a row not sealed yet, as stored).
#[derive(sqlx::FromRow)]
pub struct HeaderRecord {
    pub custom_headers: Json<Vec<(String, String)>>,
    pub custom_headers_sealed: Option<Vec<u8>>,
}

impl HeaderRecord {
    pub fn open(self, secrets: &SecretBox) -> anyhow::Result<Vec<(String, String)>> {
        match self.custom_headers_sealed {
            Some(sealed) => Ok(serde_json::from_str(&secrets.decrypt(&sealed)?)?),
            None => Ok(self.custom_headers.0),
        }
    }
}

/// The custom headers with their values in clear.
pub async fn reveal_headers(
    pool: &PgPool,
    id: Uuid,
    secrets: &SecretBox,
) -> Result<Vec<(String, String)>, AppError> {
    let record: HeaderRecord = sqlx::query_as(
        "SELECT custom_headers, custom_headers_sealed FROM endpoints WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound("Webhook".into()))?;
    Ok(record.open(secrets)?)
}

/// Seals the custom headers of rows written before they were sealed (run at start).
pub async fn seal_plain_headers(pool: &PgPool, secrets: &SecretBox) -> anyhow::Result<u64> {
    #[derive(sqlx::FromRow)]
    struct Plain {
        id: Uuid,
        custom_headers: Json<Vec<(String, String)>>,
    }
    let rows: Vec<Plain> = sqlx::query_as(
        "SELECT id, custom_headers FROM endpoints WHERE custom_headers_sealed IS NULL",
    )
    .fetch_all(pool)
    .await?;
    for row in &rows {
        let (masked, sealed) = stored_headers(&row.custom_headers.0, secrets);
        sqlx::query(
            "UPDATE endpoints SET custom_headers = $2, custom_headers_sealed = $3 WHERE id = $1 AND custom_headers_sealed IS NULL",
        )
        .bind(row.id)
        .bind(masked)
        .bind(sealed)
        .execute(pool)
        .await?;
    }
    Ok(rows.len() as u64)
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

/// An endpoint row as the list and the form read it (health is added from the aggregates).
#[derive(sqlx::FromRow)]
struct EndpointRecord {
    id: Uuid,
    name: String,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    custom_headers: Json<Vec<(String, String)>>,
    retry_schedule_secs: Option<Vec<i32>>,
    timeout_ms: Option<i32>,
    rate_limit_per_sec: Option<i32>,
    max_in_flight: Option<i32>,
    signature_scheme: SignatureScheme,
    rotation_ends_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<EndpointRecord> for EndpointView {
    fn from(r: EndpointRecord) -> Self {
        EndpointView {
            id: r.id,
            name: r.name,
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            custom_headers: r.custom_headers.0,
            retry_schedule_secs: r.retry_schedule_secs,
            timeout_ms: r.timeout_ms,
            rate_limit_per_sec: r.rate_limit_per_sec,
            max_in_flight: r.max_in_flight,
            signature_scheme: r.signature_scheme,
            rotation_ends_at: r.rotation_ends_at,
            created_at: r.created_at,
            day: Health::default(),
            week: Health::default(),
            hourly: Vec::new(),
        }
    }
}

/// Live endpoints with their health, by name.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<EndpointView>> {
    let rows: Vec<EndpointRecord> = sqlx::query_as(&format!(
        "SELECT {VIEW_COLUMNS} FROM endpoints WHERE deleted_at IS NULL ORDER BY lower(name)"
    ))
    .fetch_all(pool)
    .await?;
    let mut views: Vec<EndpointView> = rows.into_iter().map(EndpointView::from).collect();
    add_health(pool, &mut views).await?;
    Ok(views)
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<EndpointView, AppError> {
    let row: EndpointRecord = sqlx::query_as(&format!(
        "SELECT {VIEW_COLUMNS} FROM endpoints WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound("Webhook".into()))?;
    let mut views = vec![EndpointView::from(row)];
    add_health(pool, &mut views).await?;
    Ok(views.remove(0))
}

/// Whether the endpoint exists and is not deleted.
pub async fn is_live(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND deleted_at IS NULL)",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// One endpoint's outcomes in one hour.
#[derive(sqlx::FromRow)]
struct HealthRow {
    endpoint_id: Uuid,
    hour: DateTime<Utc>,
    succeeded: i32,
    failed: i32,
    latency_buckets: Vec<i32>,
}

/// Fills day/week health and the hourly chart from `endpoint_health_hourly` (a few rows per
/// endpoint, however many deliveries there are).
async fn add_health(pool: &PgPool, views: &mut [EndpointView]) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let rows: Vec<HealthRow> = sqlx::query_as(
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
        for row in rows.iter().filter(|r| r.endpoint_id == view.id) {
            let ago = (this_hour - row.hour).num_hours();
            let add = |into: &mut (i64, i64, [i64; BUCKETS])| {
                into.0 += i64::from(row.succeeded);
                into.1 += i64::from(row.failed);
                for (slot, count) in into.2.iter_mut().zip(&row.latency_buckets) {
                    *slot += i64::from(*count);
                }
            };
            add(&mut week);
            if ago < 24 {
                add(&mut day);
                hourly[23 - usize::try_from(ago.max(0)).unwrap_or(0)] =
                    (i64::from(row.succeeded), i64::from(row.failed));
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
