//! `/api/v1/webhooks`: create, list, read, update (PATCH), delete, rotate the secret, list the
//! endpoint's deliveries. Adapters over [`service::endpoints`], the portal's operations.

use super::auth::ApiCaller;
use super::error::ApiError;
use super::{id_of, json_body};
use crate::domain::endpoint::{EndpointForm, EndpointView, headers_text};
use crate::domain::log_query::Cursor;
use crate::domain::scope::Scope;
use crate::server::service::endpoints::{self as service, ROTATION_OVERLAP_HOURS};
use crate::server::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The JSON body of POST and PATCH. On PATCH, absent fields keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    name: Option<String>,
    url: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    custom_headers: Option<Vec<(String, String)>>,
    /// e.g. "1m,5m,25m"; "" = the server's schedule.
    retry_schedule: Option<String>,
    timeout_ms: Option<Option<u32>>,
    rate_limit_per_sec: Option<Option<u32>>,
    max_in_flight: Option<Option<u32>>,
    /// timestamped, body or off
    signature_scheme: Option<String>,
    enabled: Option<bool>,
}

impl WebhookInput {
    /// Applies the given fields onto a form (empty for POST, the stored one for PATCH).
    fn onto(self, mut form: EndpointForm) -> EndpointForm {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        set(&mut form.name, self.name);
        set(&mut form.url, self.url);
        set(&mut form.description, self.description);
        set(&mut form.event_types, self.event_types);
        set(
            &mut form.custom_headers,
            self.custom_headers.map(|h| headers_text(&h)),
        );
        set(&mut form.retry_schedule, self.retry_schedule);
        set(&mut form.timeout_ms, self.timeout_ms.map(number));
        set(
            &mut form.rate_limit_per_sec,
            self.rate_limit_per_sec.map(number),
        );
        set(&mut form.max_in_flight, self.max_in_flight.map(number));
        set(&mut form.signature_scheme, self.signature_scheme);
        form
    }
}

#[derive(Serialize)]
pub struct Created {
    #[serde(flatten)]
    webhook: EndpointView,
    /// The signing secret, returned once at creation (and by rotate-secret).
    secret: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<WebhookInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    caller.require(Scope::Manage)?;
    let input = json_body(body, state.settings.max_payload_bytes)?;
    let enabled = input.enabled.unwrap_or(true);
    let form = input.onto(EndpointForm::default());
    let created = service::create(&state, &caller.actor(), &form, enabled).await?;
    let body = Created {
        webhook: created.webhook,
        secret: created.secret,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(json!({ "data": service::list(&state).await? })))
}

pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(service::get(&state, id_of(&id, "Webhook")?).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Result<Json<WebhookInput>, JsonRejection>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(Scope::Manage)?;
    let id = id_of(&id, "Webhook")?;
    let input = json_body(body, state.settings.max_payload_bytes)?;
    let enabled = input.enabled;
    let form = input.onto(service::get(&state, id).await?.to_form());
    let updated = service::update(&state, &caller.actor(), id, &form, enabled).await?;
    Ok(Json(updated))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Manage)?;
    service::delete(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Manage)?;
    let secret = service::rotate_secret(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok(Json(
        json!({ "secret": secret, "previous_secret_valid_hours": ROTATION_OVERLAP_HOURS }),
    ))
}

/// The signing secret and the custom header values in clear (manage scope; both reveals are
/// audited with the key's name).
pub async fn reveal(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Manage)?;
    let (id, actor) = (id_of(&id, "Webhook")?, caller.actor());
    let secret = service::reveal_secret(&state, &actor, id).await?;
    let headers = service::reveal_headers(&state, &actor, id).await?;
    Ok(Json(json!({ "secret": secret, "custom_headers": headers })))
}

/// Sends a `webhook.test` event to one endpoint (even a disabled one).
pub async fn send_test(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<crate::server::service::events::Published>), ApiError> {
    caller.require(Scope::Manage)?;
    let sent = service::send_test(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok((StatusCode::ACCEPTED, Json(sent.event)))
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// The endpoint's deliveries, newest first, 50 a page (`next_cursor` for the next).
pub async fn deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Read)?;
    let id = id_of(&id, "Webhook")?;
    let page = service::deliveries(&state, id, q.status.as_deref(), q.cursor.as_deref()).await?;
    Ok(Json(
        json!({ "data": page.rows, "next_cursor": page.next.as_ref().map(Cursor::encode) }),
    ))
}
