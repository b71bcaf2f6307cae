//! Webhook endpoints: list, read, create, update, enable or disable, delete, reveal and rotate
//! the signing secret, send a test event, recover failed deliveries, list their deliveries.

use super::Actor;
use super::events::{self, PublishRequest, Published};
use crate::domain::attempt::Trigger;
use crate::domain::endpoint::{EndpointForm, EndpointSettings, EndpointView, validate};
use crate::domain::log_query::{LogPage, LogQuery};
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// A new endpoint and its signing secret (shown once, at creation).
pub struct Created {
    pub webhook: EndpointView,
    pub secret: String,
}

/// A test event sent to one endpoint, and the delivery to follow.
pub struct TestSent {
    pub event: Published,
    pub delivery: Uuid,
}

pub async fn list(state: &AppState) -> Result<Vec<EndpointView>, AppError> {
    Ok(db::endpoints::list(&state.pool).await?)
}

pub async fn get(state: &AppState, id: Uuid) -> Result<EndpointView, AppError> {
    db::endpoints::get(&state.pool, id).await
}

/// Checks the form against the rules and the event-type catalog.
async fn validated(state: &AppState, form: &EndpointForm) -> Result<EndpointSettings, AppError> {
    let catalog = db::event_types::names(&state.pool).await?;
    validate(form, state.settings.allow_http, &catalog).map_err(AppError::Validation)
}

fn described(settings: &EndpointSettings) -> serde_json::Value {
    json!({ "name": settings.name, "url": settings.url, "event_types": settings.event_types })
}

async fn audit(
    state: &AppState,
    actor: &Actor,
    action: &str,
    id: Uuid,
    details: serde_json::Value,
) -> Result<(), AppError> {
    db::audit::record(&state.pool, actor, action, &id.to_string(), details).await?;
    Ok(())
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    form: &EndpointForm,
    enabled: bool,
) -> Result<Created, AppError> {
    let settings = validated(state, form).await?;
    let secrets = &state.settings.secrets;
    let id = db::endpoints::create(&state.pool, &settings, enabled, secrets).await?;
    audit(state, actor, "endpoint.create", id, described(&settings)).await?;
    Ok(Created {
        webhook: get(state, id).await?,
        secret: db::endpoints::reveal_secret(&state.pool, id, secrets).await?,
    })
}

/// Saves a whole form (PATCH callers merge their fields onto [`EndpointView::to_form`] first);
/// `enabled`, when given, enables or disables it too.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    form: &EndpointForm,
    enabled: Option<bool>,
) -> Result<EndpointView, AppError> {
    let settings = validated(state, form).await?;
    db::endpoints::update(&state.pool, id, &settings, &state.settings.secrets).await?;
    if let Some(enabled) = enabled {
        db::endpoints::set_enabled(&state.pool, id, enabled).await?;
    }
    audit(state, actor, "endpoint.update", id, described(&settings)).await?;
    get(state, id).await
}

pub async fn set_enabled(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    enabled: bool,
) -> Result<(), AppError> {
    db::endpoints::set_enabled(&state.pool, id, enabled).await?;
    let action = if enabled {
        "endpoint.enable"
    } else {
        "endpoint.disable"
    };
    audit(state, actor, action, id, json!({})).await
}

/// Soft delete: the log keeps the endpoint's deliveries.
pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    db::endpoints::delete(&state.pool, id).await?;
    audit(state, actor, "endpoint.delete", id, json!({})).await
}

/// The signing secret in clear; every reveal is audited.
pub async fn reveal_secret(state: &AppState, actor: &Actor, id: Uuid) -> Result<String, AppError> {
    let secret = db::endpoints::reveal_secret(&state.pool, id, &state.settings.secrets).await?;
    audit(state, actor, "endpoint.secret_reveal", id, json!({})).await?;
    Ok(secret)
}

/// The custom headers with their values in clear; every reveal is audited.
pub async fn reveal_headers(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> Result<Vec<(String, String)>, AppError> {
    let headers = db::endpoints::reveal_headers(&state.pool, id, &state.settings.secrets).await?;
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    audit(
        state,
        actor,
        "endpoint.headers_reveal",
        id,
        json!({ "headers": names }),
    )
    .await?;
    Ok(headers)
}

/// A new secret; the old one keeps signing for [`ROTATION_OVERLAP_HOURS`].
pub async fn rotate_secret(state: &AppState, actor: &Actor, id: Uuid) -> Result<String, AppError> {
    let overlap = chrono::Duration::hours(ROTATION_OVERLAP_HOURS);
    let secret =
        db::endpoints::rotate_secret(&state.pool, id, &state.settings.secrets, overlap).await?;
    let details = json!({ "overlap_hours": ROTATION_OVERLAP_HOURS });
    audit(state, actor, "endpoint.secret_rotate", id, details).await?;
    Ok(secret)
}

/// Publishes the catalog's example `webhook.test` payload to this endpoint only (even when it
/// is disabled: an admin checks an endpoint before enabling it).
pub async fn send_test(state: &AppState, actor: &Actor, id: Uuid) -> Result<TestSent, AppError> {
    if !db::endpoints::is_live(&state.pool, id).await? {
        return Err(AppError::NotFound("Webhook".into()));
    }
    let example = db::event_types::example(&state.pool, "webhook.test")
        .await?
        .unwrap_or_else(|| "{}".into());
    let data = serde_json::value::RawValue::from_string(example).map_err(|_| AppError::Internal)?;
    let request = PublishRequest {
        only_endpoint: Some(id),
        trigger: Some((Trigger::Test, actor.user_id)),
        ..PublishRequest::automatic("webhook.test", &data)
    };
    let event = events::publish(&state.pool, request).await?;
    audit(
        state,
        actor,
        "endpoint.test",
        id,
        json!({ "event": event.id }),
    )
    .await?;
    let delivery = db::deliveries::of_event(&state.pool, event.uuid)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(TestSent { event, delivery })
}

/// How many failed deliveries [`recover`] would queue again.
pub async fn recover_count(
    state: &AppState,
    id: Uuid,
    since: DateTime<Utc>,
) -> Result<i64, AppError> {
    Ok(db::deliveries::failed_since(&state.pool, id, since).await?)
}

/// Queues one attempt (trigger `bulk`) for every failed delivery of the endpoint since `since`.
pub async fn recover(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    since: DateTime<Utc>,
) -> Result<u64, AppError> {
    get(state, id).await?;
    let queued = db::deliveries::recover(&state.pool, id, since, actor.user_id).await?;
    crate::server::dispatcher::wake(&state.pool).await?;
    let details = json!({ "since": since, "queued": queued });
    audit(state, actor, "endpoint.recover", id, details).await?;
    Ok(queued)
}

/// The endpoint's deliveries, newest first, one page (filtered by status, after a cursor).
pub async fn deliveries(
    state: &AppState,
    id: Uuid,
    status: Option<&str>,
    cursor: Option<&str>,
) -> Result<LogPage, AppError> {
    get(state, id).await?;
    let id = id.to_string();
    let mut pairs = vec![("endpoint", id.as_str())];
    pairs.extend(status.map(|s| ("status", s)));
    pairs.extend(cursor.map(|c| ("cursor", c)));
    let query = LogQuery::from_pairs(pairs);
    Ok(db::log::page(&state.pool, &query, Utc::now()).await?)
}
