//! `GET /api/v1/deliveries/:id` and `POST /api/v1/deliveries/:id/retry`: adapters over
//! [`service::deliveries`].

use super::auth::ApiCaller;
use super::error::{ApiError, ErrorBody};
use super::{IdParam, id_of};
use crate::domain::delivery::{AttemptView, DeliveryRow};
use crate::domain::scope::Scope;
use crate::server::service::deliveries as service;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use uuid::Uuid;

/// A delivery (one event to one endpoint) with every attempt, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryRow,
    attempts: Vec<AttemptView>,
}

/// Read a delivery
///
/// Its state and every attempt: the request headers as sent (signatures included, sensitive
/// values masked), the response status, headers and body, or why there was none. Needs the
/// `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries/{id}",
    tag = "deliveries",
    params(IdParam),
    responses(
        (status = 200, description = "The delivery and its attempts", body = DeliveryDetail),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such delivery", body = ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    caller.require(Scope::Read)?;
    let (delivery, attempts) = service::with_attempts(&state, id_of(&id, "Delivery")?).await?;
    Ok(Json(DeliveryDetail { delivery, attempts }))
}

/// The answer to a retry: the attempt is queued.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7", "status": "queued"}))]
pub struct Queued {
    id: Uuid,
    /// Always `queued`.
    status: &'static str,
}

/// Retry a delivery
///
/// Queues an immediate manual attempt (202), whatever the delivery's state; the result
/// appears on the delivery. Audited. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/retry",
    tag = "deliveries",
    params(IdParam),
    responses(
        (status = 202, description = "An attempt is queued", body = Queued),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such delivery", body = ErrorBody),
    ),
)]
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    caller.require(Scope::Manage)?;
    let id = id_of(&id, "Delivery")?;
    service::retry(&state, &caller.actor(), id).await?;
    let queued = Queued {
        id,
        status: "queued",
    };
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
