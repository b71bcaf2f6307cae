//! `/api/v1/alerts` (what the alert rules fired) and `/api/v1/webhooks/{id}/alert-rules`
//! (read and replace an endpoint's rules). Adapters over [`service::alerts`].

use super::auth::ApiCaller;
use super::error::{ApiError, ErrorBody};
use super::{IdParam, id_of, json_body};
use crate::domain::alert::{AlertRules, AlertView, EMAIL_MAX_LEN, EMAIL_PATTERN, MAX_RECIPIENTS};
use crate::domain::scope::Scope;
use crate::server::service::alerts as service;
use crate::server::state::AppState;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

/// An endpoint's alert rules. On PUT, fields left out take their defaults (shown here).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(example = json!({"on_exhausted": true, "on_disabled": true, "min_success_rate": 95.0, "window_minutes": 60, "min_attempts": 20, "max_p95_ms": 5000, "email_to": ["ops@example.com"]}))]
pub struct AlertRulesBody {
    /// Alert when a delivery fails every automatic attempt.
    on_exhausted: bool,
    /// Alert while the endpoint is disabled (by a 410, by failing too long, by an admin).
    on_disabled: bool,
    /// Alert when fewer than this percent of attempts in the window succeed; null: off.
    #[schema(minimum = 0, maximum = 100)]
    min_success_rate: Option<f64>,
    /// The window of the success-rate and latency rules, in minutes.
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 5, maximum = 1440)]
    window_minutes: u32,
    /// Neither window rule holds with fewer attempts than this in the window.
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 1, maximum = 1000000)]
    min_attempts: u32,
    /// Alert when the 95th-percentile response time in the window is above this; null: off.
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(minimum = 100, maximum = 9999)]
    max_p95_ms: Option<Option<u32>>,
    /// Who is emailed (with SMTP configured); empty: every active admin and owner.
    #[schema(schema_with = email_list)]
    email_to: Vec<String>,
}

impl Default for AlertRulesBody {
    fn default() -> Self {
        Self::from(AlertRules::default())
    }
}

impl From<AlertRules> for AlertRulesBody {
    fn from(rules: AlertRules) -> Self {
        Self {
            on_exhausted: rules.on_exhausted,
            on_disabled: rules.on_disabled,
            min_success_rate: rules.min_success_rate,
            window_minutes: rules.window_minutes,
            min_attempts: rules.min_attempts,
            max_p95_ms: Some(rules.max_p95_ms),
            email_to: rules.email_to,
        }
    }
}

impl From<AlertRulesBody> for AlertRules {
    fn from(body: AlertRulesBody) -> Self {
        AlertRules {
            on_exhausted: body.on_exhausted,
            on_disabled: body.on_disabled,
            min_success_rate: body.min_success_rate,
            window_minutes: body.window_minutes,
            min_attempts: body.min_attempts,
            max_p95_ms: body.max_p95_ms.flatten(),
            email_to: body.email_to,
        }
    }
}

/// A whole number given as a JSON number (`60` or `60.0`), for a field that cannot be null.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    super::whole_number(d)?
        .flatten()
        .ok_or_else(|| serde::de::Error::custom("must be a whole number, not null"))
}

/// Email addresses, at most 20.
fn email_list() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let address = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(EMAIL_PATTERN))
        .max_length(Some(EMAIL_MAX_LEN));
    ArrayBuilder::new()
        .items(address)
        .max_items(Some(MAX_RECIPIENTS))
        .description(Some("Email addresses like ops@example.com"))
}

/// Read an endpoint's alert rules
///
/// The rules the alert check applies to this endpoint (the defaults until changed). Needs
/// the `read` scope.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/alert-rules",
    tag = "alerts",
    params(IdParam),
    responses(
        (status = 200, description = "The rules", body = AlertRulesBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
)]
pub async fn get_rules(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AlertRulesBody>, ApiError> {
    caller.require(Scope::Read)?;
    let rules = service::rules(&state, id_of(&id, "Webhook")?).await?;
    Ok(Json(rules.into()))
}

/// Replace an endpoint's alert rules
///
/// Fields left out take their defaults; the next check (every few seconds) applies the
/// rules. Audited. Needs the `manage` scope.
#[utoipa::path(
    put,
    path = "/api/v1/webhooks/{id}/alert-rules",
    tag = "alerts",
    params(IdParam),
    request_body = AlertRulesBody,
    responses(
        (status = 200, description = "The rules as saved", body = AlertRulesBody),
        (status = 400, description = "Not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the manage scope", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 413, description = "Over --max-payload-bytes", body = ErrorBody),
        (status = 422, description = "A field breaks a rule; `fields` says which and why", body = ErrorBody),
    ),
)]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Result<Json<AlertRulesBody>, JsonRejection>,
) -> Result<Json<AlertRulesBody>, ApiError> {
    caller.require(Scope::Manage)?;
    let id = id_of(&id, "Webhook")?;
    let rules = json_body(body, state.settings.max_payload_bytes)?;
    let saved = service::save_rules(&state, &caller.actor(), id, rules.into()).await?;
    Ok(Json(saved.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Resolved alerts to list after the open ones, newest first: 0 to 500 (50 by default;
    /// values outside are brought inside).
    recent: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"data": [{"id": "0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7", "endpoint_id": "0193a1b2-c3d4-7e5f-8071-8293a4b5c6d8", "endpoint_name": "Billing", "rule": "success_rate", "summary": "success rate 40.0 % over the last 60 min (12 of 30 attempts succeeded), below 95 %", "started_at": "2026-11-30T12:00:00Z", "resolved_at": null, "resolution": null}]}))]
pub struct AlertList {
    data: Vec<AlertView>,
}

/// List alerts
///
/// Open alerts (oldest first), then recently resolved ones (newest first). Needs the `read`
/// scope.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(AlertsQuery),
    responses(
        (status = 200, description = "Alerts", body = AlertList),
        (status = 400, description = "A query parameter is not understood", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = ErrorBody),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    caller.require(Scope::Read)?;
    let query = super::query_params(query)?;
    let data = service::list(&state, query.recent.unwrap_or(50)).await?;
    Ok(Json(AlertList { data }))
}
