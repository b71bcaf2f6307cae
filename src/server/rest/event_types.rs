//! `/api/v1/event-types`: the event-type catalog. Reading needs the `read` scope, changing it
//! `manage`. PATCH with `"archived": true` archives a type (new events of it are refused, its
//! history stays) and `false` restores it; DELETE removes a type nothing has used yet.
//! Adapters over [`service::event_types`].

use super::auth::ApiCaller;
use super::error::{ApiError, ErrorBody};
use super::json_body;
use crate::domain::event_type::{self as domain, EventTypeForm};
use crate::domain::scope::Scope;
use crate::error::AppError;
use crate::server::service::event_types as service;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// The JSON body of POST and PATCH. POST needs `name`; on PATCH absent fields keep their
/// value and the name is the path's (a type is never renamed).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "order.shipped", "description": "An order left the warehouse.", "example": {"order_id": "ord_1"}, "schema": {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}}))]
pub struct EventTypeInput {
    /// Lowercase words (a-z, 0-9, _) joined by dots.
    #[schema(max_length = 100, pattern = "^[a-z0-9_]+(\\.[a-z0-9_]+)+$")]
    name: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// An example of the event's data: any JSON (it must match the schema).
    #[schema(value_type = Option<Value>)]
    example: Option<Box<RawValue>>,
    /// A JSON Schema (an object) that published data must match; `null` removes it.
    /// References to other documents are refused.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    /// Archived types refuse new events; their history stays.
    archived: Option<bool>,
}

/// A field given as `null` is `Some(Value::Null)`, told apart from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl EventTypeInput {
    fn onto(self, mut form: EventTypeForm) -> EventTypeForm {
        if let Some(name) = self.name {
            form.name = name;
        }
        if let Some(description) = self.description {
            form.description = description;
        }
        if let Some(example) = self.example {
            form.example = example.get().to_string();
        }
        match self.schema {
            Some(Value::Null) => form.schema.clear(),
            Some(schema) => form.schema = schema.to_string(),
            None => {}
        }
        form
    }
}

/// A catalog entry on the wire: the example and schema as JSON, not as text.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "order.shipped", "description": "An order left the warehouse.", "example": {"order_id": "ord_1"}, "schema": {"type": "object", "required": ["order_id"]}, "archived": false, "created_at": "2026-11-25T12:00:00Z", "updated_at": "2026-11-25T12:00:00Z"}))]
pub struct EventType {
    name: String,
    description: String,
    /// An example of the event's data.
    #[schema(value_type = Value)]
    example: Box<RawValue>,
    /// The JSON Schema published data must match, or null.
    #[schema(value_type = Option<Object>)]
    schema: Option<Box<RawValue>>,
    /// Archived types refuse new events; their history stays.
    archived: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<domain::EventType> for EventType {
    fn from(t: domain::EventType) -> Self {
        // Both were checked to be JSON when saved.
        let json = |text: String| RawValue::from_string(text).ok();
        EventType {
            example: json(t.example).unwrap_or_else(|| json("{}".into()).expect("{} is JSON")),
            schema: t.schema.and_then(json),
            name: t.name,
            description: t.description,
            archived: t.archived,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventTypeList {
    /// Active types first, then archived ones, each by name.
    data: Vec<EventType>,
}

/// List the event-type catalog
///
/// Every type, archived ones too (their events stay in the log). Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/event-types",
    tag = "event-types",
    responses(
        (status = 200, description = "The catalog", body = EventTypeList),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<EventTypeList>, ApiError> {
    caller.require(Scope::Read)?;
    let data = service::list(&state)
        .await?
        .into_iter()
        .map(EventType::from)
        .collect();
    Ok(Json(EventTypeList { data }))
}

/// The `{name}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path parameter handlers read as text
pub struct NameParam {
    /// The type's name; one the catalog does not have is a 404.
    #[param(example = "user.created")]
    name: String,
}

/// Read an event type
///
/// Its description, example, schema and state. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/event-types/{name}",
    tag = "event-types",
    params(NameParam),
    responses(
        (status = 200, description = "The type", body = EventType),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such type", body = ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<EventType>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(service::get(&state, &name).await?.into()))
}

/// Add an event type
///
/// Producers may publish it at once. With a schema, the schema must compile and the example
/// match it. Audited. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/event-types",
    tag = "event-types",
    request_body = EventTypeInput,
    responses(
        (status = 201, description = "Added", body = EventType),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "A field breaks a rule (a taken name, a schema that does not compile, an example that breaks it); `fields` says which and why", body = ErrorBody),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<EventTypeInput>, JsonRejection>,
) -> Result<(StatusCode, Json<EventType>), ApiError> {
    caller.require(Scope::Manage)?;
    let input = json_body(body, state.settings.max_payload_bytes)?;
    let archived = input.archived.unwrap_or(false);
    let actor = caller.actor();
    let mut created =
        service::create(&state, &actor, &input.onto(EventTypeForm::default())).await?;
    if archived {
        created = service::set_archived(&state, &actor, &created.name, true).await?;
    }
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Change an event type
///
/// Its description, example, schema or archived flag; only the fields given change. Audited.
/// Needs the `manage` scope.
#[utoipa::path(
    patch,
    path = "/api/v1/event-types/{name}",
    tag = "event-types",
    params(NameParam),
    request_body = EventTypeInput,
    responses(
        (status = 200, description = "The type as changed", body = EventType),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such type", body = ErrorBody),
        (status = 409, description = "webhook.test cannot be archived", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `fields` says which and why", body = ErrorBody),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
    body: Result<Json<EventTypeInput>, JsonRejection>,
) -> Result<Json<EventType>, ApiError> {
    caller.require(Scope::Manage)?;
    let mut input = json_body(body, state.settings.max_payload_bytes)?;
    let existing = service::get(&state, &name).await?;
    // The name is the path's: a type is never renamed (its events keep the old name).
    if input.name.take().is_some_and(|given| given != name) {
        let problem = "a type is never renamed: add a new type and archive this one";
        return Err(AppError::field("name", problem).into());
    }
    let archived = input.archived.take();
    let actor = caller.actor();
    let mut updated =
        service::update(&state, &actor, &input.onto(EventTypeForm::from(&existing))).await?;
    if let Some(archived) = archived.filter(|a| *a != updated.archived) {
        updated = service::set_archived(&state, &actor, &name, archived).await?;
    }
    Ok(Json(updated.into()))
}

/// Delete an unused event type
///
/// Removes a type that no event has and no endpoint subscribes to (a typo, say). A type with
/// history is archived instead: PATCH with `"archived": true`. Audited. Needs the `manage`
/// scope.
#[utoipa::path(
    delete,
    path = "/api/v1/event-types/{name}",
    tag = "event-types",
    params(NameParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such type", body = ErrorBody),
        (status = 409, description = "The type has events or subscribers (archive it instead), or is webhook.test", body = ErrorBody),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Manage)?;
    service::delete(&state, &caller.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
