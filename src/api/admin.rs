//! Users and API keys (owner only) and the audit log (admin or higher).

use crate::domain::admin::{ApiKeyView, AuditEntry, UserView};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::domain::role::Role;
    pub use crate::server::auth::guard;
    pub use crate::server::db::audit::{self, Actor};
    pub use crate::server::db::{admin, api_keys};
    pub use crate::server::state::AppState;

    pub async fn record(
        state: &AppState,
        user: &crate::domain::user::CurrentUser,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<(), crate::error::AppError> {
        audit::record(
            &state.pool,
            &Actor {
                user_id: Some(user.id),
                label: &user.email,
            },
            action,
            target,
            details,
        )
        .await?;
        Ok(())
    }
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use ssr::*;
    guard::require(Role::Owner).await?;
    Ok(admin::users(&AppState::from_context()?.pool).await?)
}

#[server(endpoint = "create_user")]
pub async fn create_user(email: String, password: String, role: String) -> Result<(), AppError> {
    use crate::domain::user::{check_password, normalize_email};
    use ssr::*;
    let user = guard::require(Role::Owner).await?;
    let state = AppState::from_context()?;
    let mut problems = Vec::new();
    let email = normalize_email(&email);
    if email.is_none() {
        problems.push(crate::error::FieldError::new(
            "email",
            "Enter an email address",
        ));
    }
    if let Err(p) = check_password(&password) {
        problems.push(crate::error::FieldError::new(
            "password",
            format!("The password {p}"),
        ));
    }
    let role = Role::parse(&role);
    if role.is_none() {
        problems.push(crate::error::FieldError::new(
            "role",
            "Choose owner, admin or member",
        ));
    }
    let (Some(email), Some(role), true) = (email, role, problems.is_empty()) else {
        let err = AppError::Validation(problems);
        guard::set_status(&err);
        return Err(err);
    };
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
        .bind(&email)
        .fetch_one(&state.pool)
        .await?;
    if exists {
        return Err(AppError::field("email", "A user with this email exists"));
    }
    let hash = crate::server::auth::password::hash(password).await?;
    crate::server::db::users::upsert(&state.pool, &email, &hash, role).await?;
    ssr::record(
        &state,
        &user,
        "user.create",
        &email,
        serde_json::json!({ "role": role }),
    )
    .await
}

#[server(endpoint = "change_user")]
pub async fn change_user(
    id: Uuid,
    role: Option<String>,
    disabled: Option<bool>,
) -> Result<(), AppError> {
    use ssr::*;
    let user = guard::require(Role::Owner).await?;
    let state = AppState::from_context()?;
    let role = match role.as_deref().filter(|r| !r.is_empty()) {
        Some(text) => Some(
            Role::parse(text)
                .ok_or_else(|| AppError::field("role", "Choose owner, admin or member"))?,
        ),
        None => None,
    };
    let email = admin::change_user(&state.pool, id, role, disabled).await?;
    ssr::record(
        &state,
        &user,
        "user.update",
        &email,
        serde_json::json!({ "role": role, "disabled": disabled }),
    )
    .await
}

#[server(endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    use ssr::*;
    guard::require(Role::Owner).await?;
    Ok(admin::api_keys(&AppState::from_context()?.pool).await?)
}

/// Creates a key and returns it: the only time it is shown.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<String, AppError> {
    use ssr::*;
    let user = guard::require(Role::Owner).await?;
    let state = AppState::from_context()?;
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::field(
            "name",
            "Name the key (1 to 100 characters)",
        ));
    }
    let (_, key) = api_keys::create(&state.pool, &name, Some(user.id)).await?;
    ssr::record(
        &state,
        &user,
        "api_key.create",
        &name,
        serde_json::json!({}),
    )
    .await?;
    Ok(key)
}

/// The key list as the page shows it (HTML), for the page to refresh it in place.
#[server(endpoint = "api_key_table")]
pub async fn api_key_table() -> Result<String, AppError> {
    use ssr::*;
    guard::require(Role::Owner).await?;
    let keys = admin::api_keys(&AppState::from_context()?.pool).await?;
    Ok(crate::ui::pages::api_keys::render_table(keys))
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let user = guard::require(Role::Owner).await?;
    let state = AppState::from_context()?;
    if !api_keys::revoke(&state.pool, id).await? {
        return Err(AppError::NotFound("API key".into()));
    }
    ssr::record(
        &state,
        &user,
        "api_key.revoke",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await
}

#[server(endpoint = "audit_entries")]
pub async fn audit_entries(
    actor: Option<String>,
    action: Option<String>,
) -> Result<Vec<AuditEntry>, AppError> {
    use ssr::*;
    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let actor = actor.filter(|a| !a.trim().is_empty());
    let action = action.filter(|a| !a.trim().is_empty());
    Ok(admin::audit(
        &state.pool,
        actor.as_deref().map(str::trim),
        action.as_deref().map(str::trim),
        200,
    )
    .await?)
}
