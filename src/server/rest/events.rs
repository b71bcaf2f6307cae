//! `POST /api/v1/events` (publish) and `GET /api/v1/events` (recent events, for polling):
//! adapters over [`service::events`].

use super::auth::ApiCaller;
use super::error::ApiError;
use super::error::ErrorBody;
use crate::domain::scope::Scope;
use crate::error::AppError;
use crate::server::service::events::{self as service, EventList, Published};
use crate::server::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An event to publish.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "user.created", "data": {"user_id": "usr_123", "email": "ada@example.com"}, "idempotency_key": "signup-usr_123"}))]
pub struct PublishBody<'a> {
    /// A type from the event-type catalog (`GET /api/v1/event-types`), not archived.
    #[serde(rename = "type")]
    event_type: String,
    /// The event's data: any JSON, sent to receivers byte for byte. If the type has a JSON
    /// Schema, the data must match it.
    #[serde(borrow)]
    #[schema(value_type = Value)]
    data: &'a RawValue,
    /// Publishing again with the same key returns the first event instead of a new one.
    #[schema(min_length = 1, max_length = 200)]
    idempotency_key: Option<String>,
}

/// The body, if it is within `limit` bytes. Past twice the limit it is not even read (the
/// router's cap); either way the answer is the same JSON 413.
fn within_limit(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, AppError> {
    let body = body.map_err(|_| AppError::PayloadTooLarge(limit))?;
    if body.len() > limit {
        return Err(AppError::PayloadTooLarge(limit));
    }
    Ok(body)
}

/// Publish an event
///
/// Herald signs it and delivers it to every enabled webhook endpoint subscribed to its type.
/// 201 with the new event; 200 with the first one when the idempotency key (body field or
/// `Idempotency-Key` header) was seen before. Needs the `publish` scope.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "events",
    request_body = PublishBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same as the body's idempotency_key")),
    responses(
        (status = 201, description = "Published", body = Published),
        (status = 200, description = "Seen before: the first event with this idempotency key", body = Published),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the publish scope", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "Unknown or archived type, data breaking the type's schema, or a bad idempotency key", body = ErrorBody),
    ),
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Publish)?;
    let body = within_limit(body, state.settings.max_payload_bytes)?;
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
    let published = state
        .publisher
        .publish(&state.pool, &parsed.event_type, parsed.data, key.as_deref())
        .await?;
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
}

/// Up to 1,000 events to publish together.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [{"type": "user.created", "data": {"user_id": "usr_123"}, "idempotency_key": "signup-usr_123"}, {"type": "user.created", "data": {"user_id": "usr_124"}}]}))]
pub struct BatchBody<'a> {
    #[serde(borrow)]
    #[schema(min_items = 1, max_items = 1000)]
    events: Vec<PublishBody<'a>>,
}

/// The events of a batch, in the order sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchPublished {
    data: Vec<Published>,
}

/// Publish events in a batch
///
/// Up to 1,000 events in one request and one transaction: cheaper than one request each. All
/// or nothing: an event that breaks a rule refuses the batch with 422, naming it
/// (`events[3].type`), and nothing is stored. An event whose idempotency key was seen before
/// comes back as the earlier event. 201 when the batch stored at least one new event, 200
/// when every event had been published before. The body is held to `--max-payload-bytes`, as
/// a single event is. Needs the `publish` scope.
#[utoipa::path(
    post,
    path = "/api/v1/events/batch",
    tag = "events",
    request_body = BatchBody,
    responses(
        (status = 201, description = "Published (in the order sent)", body = BatchPublished),
        (status = 200, description = "Every event had been published before", body = BatchPublished),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the publish scope", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "An event breaks a rule (`events[i].field`), or the batch is empty or too long; nothing was stored", body = ErrorBody),
    ),
)]
pub async fn publish_batch(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    use crate::server::service::batch::{BatchItem, publish_batch};
    caller.require(Scope::Publish)?;
    let body = within_limit(body, state.settings.max_payload_bytes)?;
    let parsed: BatchBody = serde_json::from_slice(&body).map_err(|err| {
        AppError::BadRequest(format!(
            "the body must be JSON {{\"events\": [{{\"type\", \"data\", \"idempotency_key\"?}}, …]}}: {err}"
        ))
    })?;
    let items: Vec<BatchItem> = parsed
        .events
        .iter()
        .map(|e| BatchItem {
            event_type: &e.event_type,
            data: e.data,
            idempotency_key: e.idempotency_key.as_deref(),
        })
        .collect();
    let published = publish_batch(
        &state.pool,
        &state.lookups,
        &items,
        state.publisher.handoff(),
    )
    .await?;
    let status = if published.iter().any(|p| p.created) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(BatchPublished { data: published })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// Events after this id (`evt_…`, or the plain UUID), oldest first: poll with the last id
    /// you saw.
    #[param(
        example = "evt_0193a1b2c3d4e5f60718293a4b5c6d7e",
        pattern = "^(evt_[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    after: Option<String>,
    /// Page size, 1 to 500 (50 by default; values outside are brought inside).
    limit: Option<i64>,
}

/// List events
///
/// Events oldest first after the cursor `after`, or the newest page without one: the polling
/// alternative to webhooks. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "A query parameter is not understood", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 422, description = "`after` is not an event id", body = ErrorBody),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<EventList>, ApiError> {
    caller.require(Scope::Read)?;
    let query = super::query_params(query)?;
    let list = service::list(
        &state.pool,
        query.after.as_deref(),
        query.event_type.as_deref(),
        query.limit,
    )
    .await?;
    Ok(Json(list))
}

/// 429: every stream slot of this process is taken.
fn too_many_streams() -> Response {
    let body = serde_json::json!({ "error": {
        "code": "rate_limited",
        "message": "too many event streams are open on this Herald process; try again later",
    } });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("30"),
    );
    response
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only events of this type (from the catalog).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// Where to resume, for clients that cannot send the `Last-Event-ID` header: the id of the
    /// last event received. The header wins when both are given.
    #[param(example = "evt_0193a1b2c3d4e5f60718293a4b5c6d7e")]
    last_event_id: Option<String>,
}

/// Stream events
///
/// Server-Sent Events: each new event as it is committed, in commit order, as `id: evt_…` and
/// `data: <the envelope webhooks receive>`. Reconnect with `Last-Event-ID` (browsers'
/// EventSource does it by itself) to resume exactly after the last event received: nothing is
/// missed and nothing comes twice. Without it the stream starts now. A client that leaves 64
/// events unread for the stall limit (`--stream-stall-secs`, 10 s) gets a last `event: end`
/// saying so, and the stream closes; so it does when Herald shuts down. Needs the `read`
/// scope.
#[utoipa::path(
    get,
    path = "/api/v1/events/stream",
    tag = "events",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: resume after it"),
    ),
    responses(
        (status = 200, description = "The stream (text/event-stream); it does not end by itself", content_type = "text/event-stream", body = String,
         example = "id: evt_0193a1b2c3d4e5f60718293a4b5c6d7e\ndata: {\"id\":\"evt_0193a1b2c3d4e5f60718293a4b5c6d7e\",\"type\":\"user.created\",\"created_at\":\"2026-11-25T12:00:00.000Z\",\"data\":{\"user_id\":\"usr_123\"}}\n\n"),
        (status = 400, description = "A query parameter is not understood", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 422, description = "`Last-Event-ID` is not an event Herald holds, or `type` is not in the catalog", body = ErrorBody),
        (status = 429, description = "This Herald process holds its most streams open (`--max-streams`); try again later", body = ErrorBody),
    ),
)]
pub async fn stream(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    use crate::server::service::stream::{self, StreamItem, StreamRequest};
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;
    caller.require(Scope::Read)?;
    let query = super::query_params(query)?;
    let header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("not text"));
    let Ok(slot) = state.settings.stream_slots.clone().try_acquire_owned() else {
        return Ok(too_many_streams());
    };
    let request = StreamRequest {
        after: header.or(query.last_event_id.as_deref()),
        event_type: query.event_type,
        stall_limit: state.settings.stream_stall_limit,
        slot,
    };
    let items = stream::open(&state.pool, request, state.closing.clone()).await?;
    let events = items.map(|item| {
        Ok::<_, std::convert::Infallible>(match item {
            StreamItem::Event { id, envelope } => Event::default().id(id).data(envelope),
            StreamItem::End { reason } => Event::default().event("end").data(reason),
        })
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
