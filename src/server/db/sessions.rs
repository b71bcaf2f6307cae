//! Portal sessions, stored by the SHA-256 of their cookie value.

use crate::domain::user::CurrentUser;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn create(
    pool: &PgPool,
    token_hash: &[u8],
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The live, enabled user behind a session, if any.
pub async fn user(pool: &PgPool, token_hash: &[u8]) -> sqlx::Result<Option<CurrentUser>> {
    sqlx::query_as(
        r#"SELECT u.id, u.email, u.role
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL"#,
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

pub async fn delete(pool: &PgPool, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes all of the user's sessions (disabled, or password reset); returns how many.
pub async fn delete_all(db: impl sqlx::PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes the user's sessions other than `keep`; returns how many.
pub async fn delete_others(pool: &PgPool, user_id: Uuid, keep: &[u8]) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub async fn delete_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
