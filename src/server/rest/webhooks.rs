//! `/api/v1/webhooks`: create, list, read, update (PATCH), delete, rotate the secret, list the
//! endpoint's deliveries. The same validation and storage as the portal's form.

use super::auth::ApiCaller;
use super::error::ApiError;
use crate::domain::endpoint::{EndpointForm, EndpointView, headers_text, validate};
use crate::domain::log_query::{Cursor, LogPage, LogQuery};
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

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
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        if let Some(v) = self.name {
            form.name = v
        }
        if let Some(v) = self.url {
            form.url = v
        }
        if let Some(v) = self.description {
            form.description = v
        }
        if let Some(v) = self.event_types {
            form.event_types = v
        }
        if let Some(v) = self.custom_headers {
            form.custom_headers = headers_text(&v, false)
        }
        if let Some(v) = self.retry_schedule {
            form.retry_schedule = v
        }
        if let Some(v) = self.timeout_ms {
            form.timeout_ms = number(v)
        }
        if let Some(v) = self.rate_limit_per_sec {
            form.rate_limit_per_sec = number(v)
        }
        if let Some(v) = self.max_in_flight {
            form.max_in_flight = number(v)
        }
        if let Some(v) = self.signature_scheme {
            form.signature_scheme = v
        }
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

async fn catalog(state: &AppState) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar("SELECT name FROM event_types")
        .fetch_all(&state.pool)
        .await?)
}

/// The body as JSON, or a 400 that says what is wrong with it.
fn json_body(body: Result<Json<WebhookInput>, JsonRejection>) -> Result<WebhookInput, ApiError> {
    body.map(|Json(input)| input)
        .map_err(|err| ApiError(AppError::BadRequest(err.body_text())))
}

fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError(AppError::NotFound("webhook".into())))
}

pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<WebhookInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = json_body(body)?;
    let enabled = input.enabled;
    let form = input.onto(EndpointForm::default());
    let settings = validate(&form, state.settings.allow_http, &catalog(&state).await?)
        .map_err(AppError::Validation)?;
    let id = db::endpoints::create(&state.pool, &settings, &state.settings.secrets).await?;
    if enabled == Some(false) {
        db::endpoints::set_enabled(&state.pool, id, false).await?;
    }
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "endpoint.create",
        &id.to_string(),
        json!({ "name": settings.name }),
    )
    .await?;
    let secret = db::endpoints::reveal_secret(&state.pool, id, &state.settings.secrets).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            webhook: db::endpoints::get(&state.pool, id).await?,
            secret,
        }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        json!({ "data": db::endpoints::list(&state.pool).await? }),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(db::endpoints::get(&state.pool, parse_id(&id)?).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Result<Json<WebhookInput>, JsonRejection>,
) -> Result<Json<EndpointView>, ApiError> {
    let id = parse_id(&id)?;
    let input = json_body(body)?;
    let current = db::endpoints::get(&state.pool, id).await?;
    let enabled = input.enabled;
    let form = input.onto(current.to_form());
    let settings = validate(&form, state.settings.allow_http, &catalog(&state).await?)
        .map_err(AppError::Validation)?;
    db::endpoints::update(&state.pool, id, &settings).await?;
    if let Some(enabled) = enabled {
        db::endpoints::set_enabled(&state.pool, id, enabled).await?;
    }
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "endpoint.update",
        &id.to_string(),
        json!({ "name": settings.name }),
    )
    .await?;
    Ok(Json(db::endpoints::get(&state.pool, id).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    db::endpoints::delete(&state.pool, id).await?;
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "endpoint.delete",
        &id.to_string(),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse_id(&id)?;
    let secret = db::endpoints::rotate_secret(
        &state.pool,
        id,
        &state.settings.secrets,
        chrono::Duration::hours(24),
    )
    .await?;
    let label = caller.label();
    db::audit::record(
        &state.pool,
        &caller.actor(&label),
        "endpoint.secret_rotate",
        &id.to_string(),
        json!({ "overlap_hours": 24 }),
    )
    .await?;
    Ok(Json(
        json!({ "secret": secret, "previous_secret_valid_hours": 24 }),
    ))
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// The endpoint's deliveries, newest first, 50 a page (`next_cursor` for the next).
pub async fn deliveries(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse_id(&id)?;
    db::endpoints::get(&state.pool, id).await?;
    let mut pairs = vec![("endpoint".to_string(), id.to_string())];
    pairs.extend(q.status.map(|s| ("status".to_string(), s)));
    pairs.extend(q.cursor.map(|c| ("cursor".to_string(), c)));
    let query = LogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let page: LogPage = db::log::page(&state.pool, &query, chrono::Utc::now()).await?;
    Ok(Json(
        json!({ "data": page.rows, "next_cursor": page.next.as_ref().map(Cursor::encode) }),
    ))
}
