//! `/api/v1/webhooks`: create, list, read, update (PATCH), delete, rotate the secret, list the
//! endpoint's deliveries. Adapters over [`service::endpoints`], the portal's operations.

use super::auth::ApiCaller;
use super::error::{ApiError, ErrorBody};
use super::{IdParam, header_pairs};
use super::{id_of, json_body};
use crate::domain::delivery::DeliveryRow;
use crate::domain::endpoint::{EndpointForm, EndpointView, headers_text};
use crate::domain::log_query::Cursor;
use crate::domain::log_query::StatusFilter;
use crate::domain::scope::Scope;
use crate::domain::signing::SignatureScheme;
use crate::error::AppError;
use crate::server::service::endpoints::{self as service, ROTATION_OVERLAP_HOURS};
use crate::server::service::events::Published;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// The JSON body of POST and PATCH. On PATCH, absent fields keep their value; POST needs
/// `name` and `url`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Billing", "url": "https://billing.example.com/hooks", "event_types": ["payment.failed"], "custom_headers": [["X-Tenant", "acme"]], "retry_schedule": "1m,5m,25m", "timeout_ms": 5000}))]
pub struct WebhookInput {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: Option<String>,
    /// An https:// URL with a host (http:// only where the server allows it), no credentials;
    /// spaces around it are dropped.
    #[schema(
        max_length = 2000,
        pattern = "^\\s*https?://[^/?#@\\s]+([/?#][^\\s]*)?\\s*$"
    )]
    url: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// Types from the event-type catalog; empty means every type.
    event_types: Option<Vec<String>>,
    /// `[name, value]` pairs, at most 20; Herald's own headers cannot be replaced.
    #[schema(schema_with = header_pairs)]
    custom_headers: Option<Vec<(String, String)>>,
    /// e.g. "1m,5m,25m" (each 1 s to 7 days, at most 20); "" = the server's schedule.
    #[schema(pattern = "^(\\s*[0-9]+[smh]?\\s*(,\\s*[0-9]+[smh]?\\s*)*)?$")]
    retry_schedule: Option<String>,
    /// 100 to 60000; null = the server's timeout.
    #[serde(default, deserialize_with = "super::whole_number")]
    #[schema(minimum = 100, maximum = 60000)]
    timeout_ms: Option<Option<u32>>,
    /// 1 to 10000; null = no limit.
    #[serde(default, deserialize_with = "super::whole_number")]
    #[schema(minimum = 1, maximum = 10000)]
    rate_limit_per_sec: Option<Option<u32>>,
    /// 1 to 1000; null = no limit.
    #[serde(default, deserialize_with = "super::whole_number")]
    #[schema(minimum = 1, maximum = 1000)]
    max_in_flight: Option<Option<u32>>,
    /// How `X-Webhook-Signature` is computed: timestamped, body or off.
    #[schema(value_type = Option<SignatureScheme>)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    webhook: EndpointView,
    /// The signing secret, returned once at creation (and by rotate-secret).
    secret: String,
}

/// Create a webhook endpoint
///
/// The endpoint starts receiving the events it subscribes to at once (unless `enabled` is
/// false). Its signing secret is in the answer, the only time it is returned besides reveal
/// and rotate. Audited. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Created, with its secret", body = Created),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `fields` says which and why", body = ErrorBody),
    ),
)]
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

/// List webhook endpoints
///
/// Every endpoint with its settings (custom header values masked) and health over the last
/// 24 hours and 7 days. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = WebhookList),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<WebhookList>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(WebhookList {
        data: service::list(&state).await?,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    data: Vec<EndpointView>,
}

/// Read a webhook endpoint
///
/// Its settings (custom header values masked) and health. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(IdParam),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(service::get(&state, id_of(&id, "Webhook")?).await?))
}

/// Change a webhook endpoint
///
/// Only the fields given change. A custom header value sent back masked keeps the stored
/// value. Audited. Needs the `manage` scope.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(IdParam),
    request_body = WebhookInput,
    responses(
        (status = 200, description = "The endpoint as changed", body = EndpointView),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `fields` says which and why", body = ErrorBody),
    ),
)]
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

/// Delete a webhook endpoint
///
/// It receives nothing more; its deliveries stay in the log. Audited. Needs the `manage`
/// scope.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(IdParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Manage)?;
    service::delete(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate the signing secret
///
/// A new secret signs from now on; the previous one still signs alongside it for 24 hours,
/// so receivers can switch without losing events. Audited. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(IdParam),
    responses(
        (status = 200, description = "The new secret", body = Rotated),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Rotated>, ApiError> {
    caller.require(Scope::Manage)?;
    let secret = service::rotate_secret(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok(Json(Rotated {
        secret,
        previous_secret_valid_hours: ROTATION_OVERLAP_HOURS,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "previous_secret_valid_hours": 24}))]
pub struct Rotated {
    secret: String,
    /// How long the previous secret still signs alongside the new one.
    previous_secret_valid_hours: i64,
}

/// Reveal the secret and header values
///
/// The signing secret and the custom header values in clear. Both reveals are audited with
/// the key's name. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/reveal",
    tag = "webhooks",
    params(IdParam),
    responses(
        (status = 200, description = "The secret and the headers in clear", body = Revealed),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn reveal(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Revealed>, ApiError> {
    caller.require(Scope::Manage)?;
    let (id, actor) = (id_of(&id, "Webhook")?, caller.actor());
    let secret = service::reveal_secret(&state, &actor, id).await?;
    let custom_headers = service::reveal_headers(&state, &actor, id).await?;
    Ok(Json(Revealed {
        secret,
        custom_headers,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "custom_headers": [["X-Tenant", "acme"]]}))]
pub struct Revealed {
    secret: String,
    #[schema(schema_with = header_pairs)]
    custom_headers: Vec<(String, String)>,
}

/// Send a test event
///
/// Publishes a `webhook.test` event to this endpoint only (even a disabled one); its
/// delivery appears in the log like any other. Audited. Needs the `manage` scope.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/test",
    tag = "webhooks",
    params(IdParam),
    responses(
        (status = 202, description = "The test event, queued", body = Published),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn send_test(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<crate::server::service::events::Published>), ApiError> {
    caller.require(Scope::Manage)?;
    let sent = service::send_test(&state, &caller.actor(), id_of(&id, "Webhook")?).await?;
    Ok((StatusCode::ACCEPTED, Json(sent.event)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state.
    #[param(value_type = Option<StatusParam>, inline)]
    status: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List an endpoint's deliveries
///
/// Newest first, 50 a page; pass `next_cursor` as `cursor` for the next. Needs the `read`
/// scope.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(IdParam, DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 400, description = "A query parameter is not understood", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 422, description = "`status` is not one of the states", body = ErrorBody),
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveryPage>, ApiError> {
    caller.require(Scope::Read)?;
    let q = super::query_params(query)?;
    let id = id_of(&id, "Webhook")?;
    if q.status
        .as_deref()
        .is_some_and(|s| StatusFilter::parse(s).is_none())
    {
        let problem = "must be success, failed or pending";
        return Err(AppError::field("status", problem).into());
    }
    let page = service::deliveries(&state, id, q.status.as_deref(), q.cursor.as_deref()).await?;
    Ok(Json(DeliveryPage {
        data: page.rows,
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

/// The states a delivery list can be narrowed to (`failed` includes exhausted retries).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // describes the `status` parameter, read as text
pub enum StatusParam {
    Success,
    Failed,
    Pending,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    data: Vec<DeliveryRow>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}
