//! Portal users: list, create, change role or disabled state.

use super::Actor;
use crate::domain::admin::UserView;
use crate::domain::role::Role;
use crate::domain::user::{check_password, normalize_email};
use crate::error::{AppError, FieldError};
use crate::server::state::AppState;
use crate::server::{auth, db};
use serde_json::json;
use uuid::Uuid;

pub async fn list(state: &AppState) -> Result<Vec<UserView>, AppError> {
    Ok(db::admin::users(&state.pool).await?)
}

/// Creates a user; every problem with the fields is reported at once, next to its field.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    email: &str,
    password: &str,
    role: &str,
) -> Result<(), AppError> {
    let mut problems = Vec::new();
    let email = normalize_email(email);
    if email.is_none() {
        problems.push(FieldError::new("email", "Enter an email address"));
    }
    if let Err(p) = check_password(password) {
        problems.push(FieldError::new("password", format!("The password {p}")));
    }
    let role = Role::parse(role);
    if role.is_none() {
        problems.push(FieldError::new("role", "Choose owner, admin or member"));
    }
    let (Some(email), Some(role), true) = (email, role, problems.is_empty()) else {
        return Err(AppError::Validation(problems));
    };
    let taken = || AppError::field("email", "A user with this email exists");
    if db::users::exists(&state.pool, &email).await? {
        return Err(taken());
    }
    let hash = auth::password::hash(password.to_string()).await?;
    if !db::users::insert(&state.pool, &email, &hash, role).await? {
        return Err(taken());
    }
    db::audit::record(
        &state.pool,
        actor,
        "user.create",
        &email,
        json!({ "role": role }),
    )
    .await?;
    Ok(())
}

/// Changes a user's role and/or disabled state (an empty role means "unchanged"); the last
/// active owner can be neither demoted nor disabled.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    role: Option<&str>,
    disabled: Option<bool>,
) -> Result<(), AppError> {
    let role = match role.filter(|r| !r.is_empty()) {
        Some(text) => Some(
            Role::parse(text)
                .ok_or_else(|| AppError::field("role", "Choose owner, admin or member"))?,
        ),
        None => None,
    };
    let email = db::admin::change_user(&state.pool, id, role, disabled).await?;
    // A disabled user's API keys stop working with the next request.
    state.lookups.forget();
    let details = json!({ "role": role, "disabled": disabled });
    db::audit::record(&state.pool, actor, "user.update", &email, details).await?;
    Ok(())
}
