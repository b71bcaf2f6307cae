//! `GET /api/v1/deliveries/:id` and `POST /api/v1/deliveries/:id/retry`: adapters over
//! [`service::deliveries`].

use super::auth::ApiCaller;
use super::error::ApiError;
use super::id_of;
use crate::domain::delivery::{AttemptView, DeliveryRow};
use crate::domain::scope::Scope;
use crate::server::service::deliveries as service;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryRow,
    attempts: Vec<AttemptView>,
}

pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    caller.require(Scope::Read)?;
    let (delivery, attempts) = service::with_attempts(&state, id_of(&id, "Delivery")?).await?;
    Ok(Json(DeliveryDetail { delivery, attempts }))
}

/// Queues an immediate manual attempt (202); the result appears on the delivery.
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(Scope::Manage)?;
    let id = id_of(&id, "Delivery")?;
    service::retry(&state, &caller.actor(), id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}
