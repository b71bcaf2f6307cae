//! `POST /api/v1/events` (publish) and `GET /api/v1/events` (recent events, for polling).

use super::auth::ApiCaller;
use super::error::{ApiError, too_large};
use crate::error::AppError;
use crate::server::publish::{PublishRequest, publish as publish_event};
use crate::server::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

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
    _caller: ApiCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let limit = state.settings.max_payload_bytes;
    if body.len() > limit {
        return Ok(too_large(limit));
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
    let published = publish_event(
        &state.pool,
        PublishRequest {
            event_type: &parsed.event_type,
            data: parsed.data,
            idempotency_key: key.as_deref(),
            only_endpoint: None,
            trigger: None,
        },
    )
    .await?;
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

#[derive(Serialize)]
pub struct EventItem {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created_at: DateTime<Utc>,
    data: Box<RawValue>,
}

#[derive(Serialize)]
pub struct EventList {
    data: Vec<EventItem>,
    /// Pass as `after` to get the next page.
    next_after: Option<String>,
}

/// Lists events oldest first after a cursor (or the newest page without one).
pub async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<EventList>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let after = match query.after.as_deref() {
        Some(text) => Some(
            crate::domain::ids::parse_event_ref(text)
                .ok_or_else(|| AppError::field("after", "must be an event id (evt_…)"))?,
        ),
        None => None,
    };
    let rows: Vec<(Uuid, String, DateTime<Utc>, String)> = sqlx::query_as(
        r#"SELECT id, type, created_at, body FROM (
               SELECT id, type, created_at, body FROM events
               WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR type = $2)
               ORDER BY CASE WHEN $1::uuid IS NULL THEN NULL ELSE id END ASC, id DESC
               LIMIT $3
           ) page ORDER BY id"#,
    )
    .bind(after)
    .bind(query.event_type)
    .bind(limit)
    .fetch_all(&state.pool)
    .await?;
    let next_after = rows
        .last()
        .map(|(id, ..)| crate::domain::ids::event_ref(*id));
    let data = rows
        .into_iter()
        .map(|(id, event_type, created_at, body)| EventItem {
            id: crate::domain::ids::event_ref(id),
            event_type,
            created_at,
            data: envelope_data(&body),
        })
        .collect();
    Ok(Json(EventList { data, next_after }))
}

/// The `data` member of a stored envelope, as raw JSON.
fn envelope_data(body: &str) -> Box<RawValue> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_str::<Envelope>(body)
        .map(|e| e.data.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
}
