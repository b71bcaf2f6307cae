//! `POST /api/v1/events` (publish) and `GET /api/v1/events` (recent events, for polling):
//! adapters over [`service::events`].

use super::auth::ApiCaller;
use super::error::ApiError;
use crate::domain::scope::Scope;
use crate::error::AppError;
use crate::server::service::events::{self as service, EventList, PublishRequest};
use crate::server::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct PublishBody<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    data: &'a RawValue,
    idempotency_key: Option<String>,
}

/// Publishes an event: 201 with the new event, or 200 with the first one when the
/// idempotency key (body field or `Idempotency-Key` header) was seen before.
pub async fn publish(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Publish)?;
    let limit = state.settings.max_payload_bytes;
    // Past twice the limit the body is not even read (the router's cap); either way the
    // answer is the same JSON 413.
    let body = body.map_err(|_| AppError::PayloadTooLarge(limit))?;
    if body.len() > limit {
        return Err(AppError::PayloadTooLarge(limit).into());
    }
    let parsed: PublishBody = serde_json::from_slice(&body).map_err(|err| {
        AppError::BadRequest(format!(
            "the body must be JSON {{\"type\", \"data\", \"idempotency_key\"?}}: {err}"
        ))
    })?;
    let header_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let key = parsed.idempotency_key.or(header_key);
    let request = PublishRequest {
        idempotency_key: key.as_deref(),
        ..PublishRequest::automatic(&parsed.event_type, parsed.data)
    };
    let published = service::publish(&state.pool, request).await?;
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// Only events of this type.
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// Events after this id (`evt_…`), oldest first: poll with the last id you saw.
    after: Option<String>,
    limit: Option<i64>,
}

/// Lists events oldest first after a cursor (or the newest page without one).
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<EventList>, ApiError> {
    caller.require(Scope::Read)?;
    let list = service::list(
        &state.pool,
        query.after.as_deref(),
        query.event_type.as_deref(),
        query.limit,
    )
    .await?;
    Ok(Json(list))
}
