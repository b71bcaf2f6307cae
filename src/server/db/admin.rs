//! Users and API keys as the owner pages list them, and the owner's changes to a user.

use crate::domain::admin::{ApiKeyView, UserView};
use crate::domain::role::Role;
use crate::error::AppError;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn users(pool: &PgPool) -> sqlx::Result<Vec<UserView>> {
    sqlx::query_as(
        r#"SELECT id, email, role, disabled_at IS NOT NULL AS disabled, last_login_at, created_at
           FROM users ORDER BY email"#,
    )
    .fetch_all(pool)
    .await
}

/// Changes a user's role or disabled state, refusing to leave no active owner. Disabling ends
/// the user's sessions. Returns the user's email.
pub async fn change_user(
    pool: &PgPool,
    id: Uuid,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<String, AppError> {
    let mut tx = pool.begin().await?;
    // Lock the owners so two owners demoting each other at once cannot both succeed.
    let owners: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'owner' AND disabled_at IS NULL FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let email = email.ok_or(AppError::NotFound("User".into()))?;
    let stops_being_owner =
        owners.contains(&id) && (role.is_some_and(|r| r != Role::Owner) || disabled == Some(true));
    if stops_being_owner && owners.len() == 1 {
        return Err(AppError::Conflict(crate::error::LAST_OWNER.into()));
    }
    if let Some(role) = role {
        sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(disabled) = disabled {
        sqlx::query("UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END WHERE id = $1")
            .bind(id)
            .bind(disabled)
            .execute(&mut *tx)
            .await?;
        if disabled {
            super::sessions::delete_all(&mut *tx, id).await?;
        }
    }
    tx.commit().await?;
    Ok(email)
}

pub async fn api_keys(pool: &PgPool) -> sqlx::Result<Vec<ApiKeyView>> {
    sqlx::query_as(
        r#"SELECT k.id, k.name, k.prefix, k.scopes, u.email AS created_by,
                  u.disabled_at IS NOT NULL AS creator_disabled, k.created_at, k.last_used_at,
                  k.revoked_at
           FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
           ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC"#,
    )
    .fetch_all(pool)
    .await
}
