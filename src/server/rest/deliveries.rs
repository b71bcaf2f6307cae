//! `GET /api/v1/deliveries/:id`, `POST /api/v1/deliveries/:id/retry`,
//! `POST /api/v1/webhooks/:id/test`.

use super::auth::ApiCaller;
use super::error::ApiError;
use crate::domain::attempt::Trigger;
use crate::domain::delivery::{AttemptView, DeliveryRow};
use crate::error::AppError;
use crate::server::db;
use crate::server::dispatcher::manual;
use crate::server::publish::{PublishRequest, Published, publish};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

#[derive(Serialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryRow,
    attempts: Vec<AttemptView>,
}

fn parse_id(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError(AppError::NotFound(what.to_string())))
}

pub async fn get(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let id = parse_id(&id, "delivery")?;
    let delivery = db::deliveries::get(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound("delivery".into()))?;
    let attempts = db::deliveries::attempts(&state.pool, id).await?;
    Ok(Json(DeliveryDetail { delivery, attempts }))
}

/// Queues an immediate manual attempt (202); the result appears on the delivery.
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = parse_id(&id, "delivery")?;
    if !manual::retry(&state.pool, id, Trigger::Manual, caller.0.created_by).await? {
        return Err(AppError::NotFound("delivery".into()).into());
    }
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "delivery.retry",
        &id.to_string(),
        json!({}),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}

/// Sends a `webhook.test` event to one endpoint (even a disabled one).
pub async fn send_test(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let id = parse_id(&id, "webhook")?;
    let published = send_test_event(&state, id, caller.0.created_by).await?;
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "endpoint.test",
        &id.to_string(),
        json!({ "event": published.id }),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(published)))
}

/// Publishes the catalog's example `webhook.test` payload to one endpoint.
pub async fn send_test_event(
    state: &AppState,
    endpoint: Uuid,
    user: Option<Uuid>,
) -> Result<Published, AppError> {
    let live: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND deleted_at IS NULL)",
    )
    .bind(endpoint)
    .fetch_one(&state.pool)
    .await?;
    if !live {
        return Err(AppError::NotFound("webhook".into()));
    }
    let example: String =
        sqlx::query_scalar("SELECT example_payload FROM event_types WHERE name = 'webhook.test'")
            .fetch_optional(&state.pool)
            .await?
            .unwrap_or_else(|| "{}".into());
    let data = serde_json::value::RawValue::from_string(example).map_err(|_| AppError::Internal)?;
    publish(
        &state.pool,
        PublishRequest {
            event_type: "webhook.test",
            data: &data,
            idempotency_key: None,
            only_endpoint: Some(endpoint),
            trigger: Some((Trigger::Test.as_str(), user)),
        },
    )
    .await
}
