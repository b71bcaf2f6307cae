//! Authentication (argon2id passwords, Postgres sessions) and the role guard that every
//! server function and REST handler calls itself.

pub mod bearer;
pub mod guard;
pub mod limiter;
pub mod password;
pub mod session;

use super::db;
use super::db::audit::Actor;
use crate::domain::user::{CurrentUser, normalize_email};
use crate::error::AppError;
use sqlx::PgPool;
use std::time::Duration;

/// Checks the credentials and opens a session; returns the new cookie token. Unknown email,
/// disabled user and wrong password all give the same error after the same amount of work.
pub async fn sign_in(
    pool: &PgPool,
    ttl: Duration,
    email: &str,
    password: &str,
) -> Result<(String, CurrentUser), AppError> {
    let credentials = match normalize_email(email) {
        Some(email) => db::users::credentials(pool, &email).await?,
        None => None,
    };
    let (stored_hash, user) = match credentials {
        Some(c) if !c.disabled => (Some(c.password_hash), Some(c.user)),
        _ => (None, None),
    };
    let password_ok = password::verify(password.to_string(), stored_hash).await;
    let user = user
        .filter(|_| password_ok)
        .ok_or(AppError::InvalidCredentials)?;

    let (token, token_hash) = session::new_token();
    let expires_at =
        chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    db::sessions::create(pool, &token_hash, user.id, expires_at).await?;
    db::users::record_login(pool, user.id).await?;
    db::audit::record(
        pool,
        &Actor::user(&user),
        "user.sign_in",
        &user.email,
        serde_json::json!({}),
    )
    .await?;
    Ok((token, user))
}

/// Ends the session the request's cookie names, if any.
pub async fn sign_out(pool: &PgPool, headers: &http::HeaderMap) -> Result<(), AppError> {
    if let Some(token) = session::token_from_headers(headers) {
        db::sessions::delete(pool, &session::token_hash(&token)).await?;
    }
    Ok(())
}

/// Ends every session of `user` except the one the request's cookie names (a lost laptop, a
/// shared machine); returns how many ended.
pub async fn sign_out_others(
    pool: &PgPool,
    user: &CurrentUser,
    headers: &http::HeaderMap,
) -> Result<u64, AppError> {
    let token = session::token_from_headers(headers).ok_or(AppError::Unauthorized)?;
    let ended = db::sessions::delete_others(pool, user.id, &session::token_hash(&token)).await?;
    db::audit::record(
        pool,
        &Actor::user(user),
        "user.sign_out_others",
        &user.email,
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    Ok(ended)
}
