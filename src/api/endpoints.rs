//! Webhook endpoints in the portal: list with health, create/edit, enable/disable, delete,
//! reveal and rotate the secret, send a test event, recover failed deliveries. Admin or higher;
//! every write is audited.

// save_webhook takes the form's fields as arguments, so a plain HTML form (no wasm) can post it.
#![allow(clippy::too_many_arguments)]

use crate::domain::endpoint::EndpointView;
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::domain::role::Role;
    pub use crate::domain::user::CurrentUser;
    pub use crate::server::auth::guard;
    pub use crate::server::db::audit::{self, Actor};
    pub use crate::server::db::endpoints;
    pub use crate::server::state::AppState;

    /// Records an admin's action on an endpoint.
    pub async fn audit(
        state: &AppState,
        user: &CurrentUser,
        action: &str,
        id: uuid::Uuid,
        details: serde_json::Value,
    ) -> Result<(), crate::error::AppError> {
        let actor = Actor {
            user_id: Some(user.id),
            label: &user.email,
        };
        audit::record(&state.pool, &actor, action, &id.to_string(), details).await?;
        Ok(())
    }
}

#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<EndpointView>, AppError> {
    use ssr::*;
    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    Ok(endpoints::list(&state.pool).await?)
}

#[server(endpoint = "get_webhook")]
pub async fn get_webhook(id: Uuid) -> Result<EndpointView, AppError> {
    use ssr::*;
    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    endpoints::get(&state.pool, id).await
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
    use crate::domain::endpoint::{EndpointForm, validate};
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
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
    let known: Vec<String> = sqlx::query_scalar("SELECT name FROM event_types")
        .fetch_all(&state.pool)
        .await?;
    let settings = validate(&form, state.settings.allow_http, &known).map_err(AppError::Validation);
    let settings = match settings {
        Ok(s) => s,
        Err(err) => {
            guard::set_status(&err);
            return Err(err);
        }
    };
    let details = serde_json::json!({ "name": settings.name, "url": settings.url, "event_types": settings.event_types });
    let saved = match id {
        Some(id) => endpoints::update(&state.pool, id, &settings)
            .await
            .map(|_| (id, "endpoint.update")),
        None => endpoints::create(&state.pool, &settings, &state.settings.secrets)
            .await
            .map(|id| (id, "endpoint.create")),
    };
    let (id, action) = saved.inspect_err(guard::set_status)?;
    ssr::audit(&state, &user, action, id, details).await?;
    Ok(id)
}

#[server(endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(id: Uuid, enabled: bool) -> Result<(), AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    endpoints::set_enabled(&state.pool, id, enabled).await?;
    let action = if enabled {
        "endpoint.enable"
    } else {
        "endpoint.disable"
    };
    ssr::audit(&state, &user, action, id, serde_json::json!({})).await
}

#[server(endpoint = "delete_webhook")]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    endpoints::delete(&state.pool, id).await?;
    ssr::audit(&state, &user, "endpoint.delete", id, serde_json::json!({})).await?;
    leptos_axum::redirect("/admin/webhooks");
    Ok(())
}

/// The signing secret in clear (audited).
#[server(endpoint = "reveal_webhook_secret")]
pub async fn reveal_webhook_secret(id: Uuid) -> Result<String, AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let secret = endpoints::reveal_secret(&state.pool, id, &state.settings.secrets).await?;
    ssr::audit(
        &state,
        &user,
        "endpoint.secret_reveal",
        id,
        serde_json::json!({}),
    )
    .await?;
    Ok(secret)
}

/// A new secret; the old one keeps signing for 24 hours (audited).
#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(id: Uuid) -> Result<String, AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let secret = endpoints::rotate_secret(
        &state.pool,
        id,
        &state.settings.secrets,
        chrono::Duration::hours(24),
    )
    .await?;
    ssr::audit(
        &state,
        &user,
        "endpoint.secret_rotate",
        id,
        serde_json::json!({ "overlap_hours": 24 }),
    )
    .await?;
    Ok(secret)
}

/// Sends `webhook.test` to the endpoint; returns the delivery id to follow.
#[server(endpoint = "send_webhook_test")]
pub async fn send_webhook_test(id: Uuid) -> Result<Uuid, AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let published =
        crate::server::rest::deliveries::send_test_event(&state, id, Some(user.id)).await?;
    ssr::audit(
        &state,
        &user,
        "endpoint.test",
        id,
        serde_json::json!({ "event": published.id }),
    )
    .await?;
    let delivery: Uuid = sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1")
        .bind(published.uuid)
        .fetch_one(&state.pool)
        .await?;
    Ok(delivery)
}

/// How many failed deliveries "Recover" would re-send (since `since`, RFC 3339 or YYYY-MM-DDTHH:MM).
#[server(endpoint = "recover_count")]
pub async fn recover_count(id: Uuid, since: String) -> Result<i64, AppError> {
    use ssr::*;
    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    Ok(endpoints::failed_since(&state.pool, id, parse_since(&since)?).await?)
}

#[server(endpoint = "recover_webhook")]
pub async fn recover_webhook(id: Uuid, since: String) -> Result<u64, AppError> {
    use ssr::*;
    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let since = parse_since(&since)?;
    let queued = endpoints::recover(&state.pool, id, since, user.id).await?;
    ssr::audit(
        &state,
        &user,
        "endpoint.recover",
        id,
        serde_json::json!({ "since": since, "queued": queued }),
    )
    .await?;
    Ok(queued)
}

/// The result of the newest attempt of a delivery, for the inline test result.
#[server(endpoint = "delivery_outcome")]
pub async fn delivery_outcome(id: Uuid) -> Result<Option<String>, AppError> {
    use ssr::*;
    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let row = crate::server::db::deliveries::get(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound("Delivery".into()))?;
    Ok((row.attempt_count > 0).then(|| row.response_label()))
}

pub fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map(|t| t.and_utc())
        })
        .map_err(|_| AppError::field("since", "Pick a date and time"))
}
