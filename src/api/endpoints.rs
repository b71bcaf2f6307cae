//! Webhook endpoints in the portal: list with health, create/edit, enable/disable, delete,
//! reveal and rotate the secret, send a test event, recover failed deliveries. Admin or
//! higher; each function checks the role, then calls [`service::endpoints`] (which validates,
//! writes and audits).

// save_webhook takes the form's fields as arguments, so a plain HTML form (no wasm) can post it.
#![allow(clippy::too_many_arguments)]

use crate::domain::endpoint::EndpointView;
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::{Actor, endpoints as service},
};

#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<EndpointView>, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::list(&state).await)
}

#[server(endpoint = "get_webhook")]
pub async fn get_webhook(id: Uuid) -> Result<EndpointView, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::get(&state, id).await)
}

/// Creates (no `id`) or updates an endpoint from the form; returns its id. Field errors come
/// back as `AppError::Validation`.
#[server(endpoint = "save_webhook")]
pub async fn save_webhook(
    id: Option<Uuid>,
    name: String,
    url: String,
    #[server(default)] description: String,
    #[server(default)] event_types: Vec<String>,
    #[server(default)] custom_headers: String,
    #[server(default)] retry_schedule: String,
    #[server(default)] timeout_ms: String,
    #[server(default)] rate_limit_per_sec: String,
    #[server(default)] max_in_flight: String,
    #[server(default)] signature_scheme: String,
) -> Result<Uuid, AppError> {
    use crate::domain::endpoint::EndpointForm;
    let (state, user) = authorize(Role::Admin).await?;
    let form = EndpointForm {
        name,
        url,
        description,
        event_types,
        custom_headers,
        retry_schedule,
        timeout_ms,
        rate_limit_per_sec,
        max_in_flight,
        signature_scheme,
    };
    let actor = Actor::user(&user);
    let saved = match id {
        Some(id) => service::update(&state, &actor, id, &form, None).await,
        None => service::create(&state, &actor, &form, true)
            .await
            .map(|created| created.webhook),
    };
    respond(saved.map(|webhook| webhook.id))
}

#[server(endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(id: Uuid, enabled: bool) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(service::set_enabled(&state, &Actor::user(&user), id, enabled).await)
}

#[server(endpoint = "delete_webhook")]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(service::delete(&state, &Actor::user(&user), id).await)?;
    leptos_axum::redirect("/admin/webhooks");
    Ok(())
}

/// The signing secret in clear (audited).
#[server(endpoint = "reveal_webhook_secret")]
pub async fn reveal_webhook_secret(id: Uuid) -> Result<String, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(service::reveal_secret(&state, &Actor::user(&user), id).await)
}

/// The custom headers' values in clear, one `Name: value` per line (audited).
#[server(endpoint = "reveal_webhook_headers")]
pub async fn reveal_webhook_headers(id: Uuid) -> Result<String, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let headers = respond(service::reveal_headers(&state, &Actor::user(&user), id).await)?;
    Ok(crate::domain::endpoint::headers_text(&headers))
}

/// A new secret; the old one keeps signing for 24 hours (audited).
#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(id: Uuid) -> Result<String, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(service::rotate_secret(&state, &Actor::user(&user), id).await)
}

/// Sends `webhook.test` to the endpoint; returns the delivery id to follow.
#[server(endpoint = "send_webhook_test")]
pub async fn send_webhook_test(id: Uuid) -> Result<Uuid, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(
        service::send_test(&state, &Actor::user(&user), id)
            .await
            .map(|sent| sent.delivery),
    )
}

/// How many failed deliveries "Recover" would re-send: those since `since` (RFC 3339, or
/// YYYY-MM-DDTHH:MM typed in the zone `tz` minutes east of UTC; UTC without it).
#[server(endpoint = "recover_count")]
pub async fn recover_count(
    id: Uuid,
    since: String,
    #[server(default)] tz: Option<i32>,
) -> Result<i64, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    let since = respond(parse_since(&since, tz))?;
    respond(service::recover_count(&state, id, since).await)
}

#[server(endpoint = "recover_webhook")]
pub async fn recover_webhook(
    id: Uuid,
    since: String,
    #[server(default)] tz: Option<i32>,
) -> Result<u64, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let since = respond(parse_since(&since, tz))?;
    respond(service::recover(&state, &Actor::user(&user), id, since).await)
}

/// The result of the newest attempt of a delivery, for the inline test result.
#[server(endpoint = "delivery_outcome")]
pub async fn delivery_outcome(id: Uuid) -> Result<Option<String>, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(crate::server::service::deliveries::outcome(&state, id).await)
}

#[cfg(feature = "ssr")]
fn parse_since(text: &str, tz: Option<i32>) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    use crate::domain::time::{MAX_OFFSET_MINUTES, parse_instant};
    let offset = tz.filter(|m| m.abs() <= MAX_OFFSET_MINUTES).unwrap_or(0);
    parse_instant(text.trim(), offset)
        .ok_or_else(|| AppError::field("since", "Pick a date and time"))
}
