//! Users and API keys (owner only) and the audit log (admin or higher). Each function checks
//! the role itself, then calls the service. (The key list's HTML for the API-keys page is
//! served by `ui::pages::api_keys::api_key_table`.)

use crate::domain::admin::{ApiKeyView, AuditEntry, UserView};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::{self, Actor},
};

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let (state, _) = authorize(Role::Owner).await?;
    respond(service::users::list(&state).await)
}

#[server(endpoint = "create_user")]
pub async fn create_user(email: String, password: String, role: String) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Owner).await?;
    respond(service::users::create(&state, &Actor::user(&user), &email, &password, &role).await)
}

#[server(endpoint = "change_user")]
pub async fn change_user(
    id: Uuid,
    role: Option<String>,
    disabled: Option<bool>,
) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Owner).await?;
    let actor = Actor::user(&user);
    respond(service::users::change(&state, &actor, id, role.as_deref(), disabled).await)
}

#[server(endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let (state, _) = authorize(Role::Owner).await?;
    respond(service::api_keys::list(&state).await)
}

/// Creates a key with the chosen scopes (none: `publish`) and returns it: the only time it is
/// shown.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<String, AppError> {
    let (state, user) = authorize(Role::Owner).await?;
    let actor = Actor::user(&user);
    respond(service::api_keys::create(&state, &actor, &name, &scopes).await)
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: Uuid) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Owner).await?;
    respond(service::api_keys::revoke(&state, &Actor::user(&user), id).await)
}

#[server(endpoint = "audit_entries")]
pub async fn audit_entries(
    actor: Option<String>,
    action: Option<String>,
) -> Result<Vec<AuditEntry>, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::audit::entries(&state, actor.as_deref(), action.as_deref()).await)
}
