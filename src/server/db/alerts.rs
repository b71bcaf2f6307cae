//! Alert rules (a row only where an admin changed the defaults) and firings.

use crate::domain::alert::{AlertKind, AlertRules};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct RulesRow {
    on_exhausted: bool,
    on_disabled: bool,
    min_success_rate: Option<f64>,
    window_minutes: i32,
    min_attempts: i32,
    max_p95_ms: Option<i32>,
    email_to: Vec<String>,
}

impl From<RulesRow> for AlertRules {
    fn from(row: RulesRow) -> Self {
        let whole = |n: i32| u32::try_from(n).unwrap_or(0);
        AlertRules {
            on_exhausted: row.on_exhausted,
            on_disabled: row.on_disabled,
            min_success_rate: row.min_success_rate,
            window_minutes: whole(row.window_minutes),
            min_attempts: whole(row.min_attempts),
            max_p95_ms: row.max_p95_ms.map(whole),
            email_to: row.email_to,
        }
    }
}

const RULE_COLUMNS: &str = "on_exhausted, on_disabled, min_success_rate, window_minutes, min_attempts, max_p95_ms, email_to";

/// The endpoint's rules (the defaults if an admin never changed them).
pub async fn rules(pool: &PgPool, endpoint: Uuid) -> sqlx::Result<AlertRules> {
    let row: Option<RulesRow> = sqlx::query_as(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE endpoint_id = $1"
    ))
    .bind(endpoint)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(AlertRules::from).unwrap_or_default())
}

pub async fn save_rules(
    tx: &mut sqlx::PgConnection,
    endpoint: Uuid,
    rules: &AlertRules,
) -> sqlx::Result<()> {
    let whole = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query(&format!(
        r#"INSERT INTO alert_rules (endpoint_id, {RULE_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (endpoint_id) DO UPDATE SET
               on_exhausted = EXCLUDED.on_exhausted, on_disabled = EXCLUDED.on_disabled,
               min_success_rate = EXCLUDED.min_success_rate,
               window_minutes = EXCLUDED.window_minutes, min_attempts = EXCLUDED.min_attempts,
               max_p95_ms = EXCLUDED.max_p95_ms, email_to = EXCLUDED.email_to, updated_at = now()"#
    ))
    .bind(endpoint)
    .bind(rules.on_exhausted)
    .bind(rules.on_disabled)
    .bind(rules.min_success_rate)
    .bind(whole(rules.window_minutes))
    .bind(whole(rules.min_attempts))
    .bind(rules.max_p95_ms.map(whole))
    .bind(&rules.email_to)
    .execute(tx)
    .await?;
    Ok(())
}

/// A live endpoint as the alert check sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Watched {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// A delivery failed for good since the last success.
    pub exhausted: bool,
}

/// Every endpoint not deleted.
pub async fn watched(pool: &PgPool) -> sqlx::Result<Vec<Watched>> {
    sqlx::query_as(
        r#"SELECT id, name, url, enabled, disabled_reason,
                  coalesce(last_exhausted_at > coalesce(last_success_at, '-infinity'), false) AS exhausted
           FROM endpoints WHERE deleted_at IS NULL"#,
    )
    .fetch_all(pool)
    .await
}

/// The rules admins changed, by endpoint (the others keep the defaults).
pub async fn changed_rules(pool: &PgPool) -> sqlx::Result<HashMap<Uuid, AlertRules>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        endpoint_id: Uuid,
        #[sqlx(flatten)]
        rules: RulesRow,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT endpoint_id, {RULE_COLUMNS} FROM alert_rules"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.endpoint_id, row.rules.into()))
        .collect())
}

/// An alert as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub endpoint_name: String,
    pub kind: String,
    pub summary: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

const ALERT_SELECT: &str = r#"SELECT a.id, a.endpoint_id, e.name AS endpoint_name, a.kind, a.summary,
           a.started_at, a.resolved_at, a.resolution
    FROM alerts a JOIN endpoints e ON e.id = a.endpoint_id"#;

/// Open alerts (oldest first), then, if `recent` > 0, that many resolved ones (newest first).
pub async fn list(pool: &PgPool, recent: i64) -> sqlx::Result<Vec<AlertRow>> {
    let mut open: Vec<AlertRow> = sqlx::query_as(&format!(
        "{ALERT_SELECT} WHERE a.resolved_at IS NULL ORDER BY a.started_at, a.id"
    ))
    .fetch_all(pool)
    .await?;
    if recent > 0 {
        let resolved: Vec<AlertRow> = sqlx::query_as(&format!(
            "{ALERT_SELECT} WHERE a.resolved_at IS NOT NULL ORDER BY a.started_at DESC, a.id DESC LIMIT $1"
        ))
        .bind(recent)
        .fetch_all(pool)
        .await?;
        open.extend(resolved);
    }
    Ok(open)
}

/// Opens an alert unless one of its kind is open for the endpoint already: its id if this
/// call opened it.
pub async fn fire(
    tx: &mut sqlx::PgConnection,
    endpoint: Uuid,
    kind: AlertKind,
    summary: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        r#"INSERT INTO alerts (id, endpoint_id, kind, summary) VALUES ($1, $2, $3, $4)
           ON CONFLICT (endpoint_id, kind) WHERE resolved_at IS NULL DO NOTHING
           RETURNING id"#,
    )
    .bind(Uuid::now_v7())
    .bind(endpoint)
    .bind(kind.as_str())
    .bind(summary)
    .fetch_optional(tx)
    .await
}

/// Closes the open alert of this kind, if there is one: its id if this call closed it.
pub async fn resolve(
    tx: &mut sqlx::PgConnection,
    endpoint: Uuid,
    kind: AlertKind,
    resolution: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        r#"UPDATE alerts SET resolved_at = now(), resolution = $3
           WHERE endpoint_id = $1 AND kind = $2 AND resolved_at IS NULL RETURNING id"#,
    )
    .bind(endpoint)
    .bind(kind.as_str())
    .bind(resolution)
    .fetch_optional(tx)
    .await
}

/// Ends the open alerts of deleted endpoints.
pub async fn resolve_deleted(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query(
        r#"UPDATE alerts a SET resolved_at = now(), resolution = 'the endpoint was deleted'
           FROM endpoints e
           WHERE e.id = a.endpoint_id AND e.deleted_at IS NOT NULL AND a.resolved_at IS NULL"#,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The (endpoint, kind) of every open alert.
pub async fn open_keys(pool: &PgPool) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as("SELECT endpoint_id, kind FROM alerts WHERE resolved_at IS NULL")
        .fetch_all(pool)
        .await
}

/// The addresses of every active admin and owner.
pub async fn admin_emails(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT email FROM users WHERE role IN ('admin', 'owner') AND disabled_at IS NULL ORDER BY email",
    )
    .fetch_all(pool)
    .await
}
