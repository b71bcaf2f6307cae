//! REST API keys: list, create (the key is returned once), revoke.

use super::Actor;
use crate::domain::admin::ApiKeyView;
use crate::domain::scope::parse_scopes;
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;
use serde_json::json;
use uuid::Uuid;

pub async fn list(state: &AppState) -> Result<Vec<ApiKeyView>, AppError> {
    Ok(db::admin::api_keys(&state.pool).await?)
}

/// Creates a key named `name` with the chosen scopes (none chosen: `publish`) and returns it:
/// the only time it exists in clear.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    scopes: &[String],
) -> Result<String, AppError> {
    let name = valid_name(name)?;
    let scopes = parse_scopes(scopes).map_err(|problem| AppError::field("scopes", problem))?;
    let (_, key) = db::api_keys::create(&state.pool, name, &scopes, actor.user_id).await?;
    let details = json!({ "scopes": scopes });
    db::audit::record(&state.pool, actor, "api_key.create", name, details).await?;
    Ok(key)
}

/// A key's name: 1 to 100 characters once trimmed.
pub fn valid_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if crate::domain::text::has_nul(name) {
        return Err(AppError::field("name", crate::domain::text::NO_NUL));
    }
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::field(
            "name",
            "Name the key (1 to 100 characters)",
        ));
    }
    Ok(name)
}

pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    if !db::api_keys::revoke(&state.pool, id).await? {
        return Err(AppError::NotFound("API key".into()));
    }
    state.lookups.forget();
    db::audit::record(
        &state.pool,
        actor,
        "api_key.revoke",
        &id.to_string(),
        json!({}),
    )
    .await?;
    Ok(())
}
