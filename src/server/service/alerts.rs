//! Alert rules per endpoint and the alerts they fired (see [`crate::server::alerts`] for the
//! check that fires them).

use super::Actor;
use crate::domain::alert::{AlertKind, AlertRules, AlertView};
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;
use serde_json::json;
use uuid::Uuid;

/// Open alerts (oldest first), then up to `recent` resolved ones (newest first).
pub async fn list(state: &AppState, recent: i64) -> Result<Vec<AlertView>, AppError> {
    let rows = db::alerts::list(&state.pool, recent.clamp(0, 500)).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(AlertView {
                rule: AlertKind::parse(&row.kind)?,
                id: row.id,
                endpoint_id: row.endpoint_id,
                endpoint_name: row.endpoint_name,
                summary: row.summary,
                started_at: row.started_at,
                resolved_at: row.resolved_at,
                resolution: row.resolution,
            })
        })
        .collect())
}

async fn live(state: &AppState, endpoint: Uuid) -> Result<(), AppError> {
    if db::endpoints::is_live(&state.pool, endpoint).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("Webhook".into()))
    }
}

pub async fn rules(state: &AppState, endpoint: Uuid) -> Result<AlertRules, AppError> {
    live(state, endpoint).await?;
    Ok(db::alerts::rules(&state.pool, endpoint).await?)
}

/// Replaces the endpoint's rules; the next check applies them.
pub async fn save_rules(
    state: &AppState,
    actor: &Actor,
    endpoint: Uuid,
    rules: AlertRules,
) -> Result<AlertRules, AppError> {
    let problems = rules.problems();
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    live(state, endpoint).await?;
    let mut tx = state.pool.begin().await?;
    db::alerts::save_rules(&mut tx, endpoint, &rules).await?;
    let details = serde_json::to_value(&rules).unwrap_or_else(|_| json!({}));
    db::audit::record(
        &mut *tx,
        actor,
        "endpoint.alert_rules",
        &endpoint.to_string(),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(rules)
}
