//! Users, API keys and the audit log for the owner and audit pages.

use crate::domain::admin::{ApiKeyView, AuditEntry, UserView};
use crate::domain::role::Role;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn users(pool: &PgPool) -> sqlx::Result<Vec<UserView>> {
    let rows: Vec<(Uuid, String, String, bool, Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, email, role, disabled_at IS NOT NULL, last_login_at, created_at FROM users ORDER BY email",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, email, role, disabled, last_login_at, created_at)| UserView {
                id,
                email,
                role: Role::parse(&role).unwrap_or(Role::Member),
                disabled,
                last_login_at,
                created_at,
            },
        )
        .collect())
}

/// Changes a user's role or disabled state, refusing to leave no active owner. Disabling ends
/// the user's sessions.
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
        return Err(AppError::Conflict(
            "This is the last owner; make someone else owner first".into(),
        ));
    }
    if let Some(role) = role {
        sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
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
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(email)
}

pub async fn api_keys(pool: &PgPool) -> sqlx::Result<Vec<ApiKeyView>> {
    let rows: Vec<(
        Uuid,
        String,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    )> = sqlx::query_as(
        r#"SELECT k.id, k.name, k.prefix, u.email, k.created_at, k.last_used_at, k.revoked_at
           FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
           ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC"#,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, prefix, created_by, created_at, last_used_at, revoked_at)| ApiKeyView {
                id,
                name,
                prefix,
                created_by,
                created_at,
                last_used_at,
                revoked_at,
            },
        )
        .collect())
}

/// The newest audit entries, optionally for one actor (email or key label) and/or one action
/// prefix (e.g. `endpoint.`).
pub async fn audit(
    pool: &PgPool,
    actor: Option<&str>,
    action: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<AuditEntry>> {
    let rows: Vec<(
        Uuid,
        String,
        String,
        String,
        serde_json::Value,
        DateTime<Utc>,
    )> = sqlx::query_as(
        r#"SELECT id, actor, action, target, details, created_at FROM audit_log
           WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action LIKE $2 || '%')
           ORDER BY created_at DESC, id DESC LIMIT $3"#,
    )
    .bind(actor)
    .bind(action)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, actor, action, target, details, created_at)| AuditEntry {
                id,
                actor,
                action,
                target,
                details: if details == serde_json::json!({}) {
                    String::new()
                } else {
                    details.to_string()
                },
                created_at,
            },
        )
        .collect())
}
