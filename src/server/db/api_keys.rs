//! REST API keys: `hk_<base64url of 32 random bytes>`, shown once, stored as SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::scope::Scope;

pub const KEY_PREFIX: &str = "hk_";

pub fn key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// The key an API caller authenticated with.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub created_by: Option<Uuid>,
    pub scopes: Vec<Scope>,
    #[sqlx(default)]
    last_used_at: Option<DateTime<Utc>>,
}

/// Creates a key; returns its id and the key itself (the only time it exists in clear).
pub async fn create(
    pool: &PgPool,
    name: &str,
    scopes: &[Scope],
    created_by: Option<Uuid>,
) -> sqlx::Result<(Uuid, String)> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO api_keys (id, name, prefix, key_hash, created_by, scopes) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(name)
    .bind(&key[..10])
    .bind(key_hash(&key))
    .bind(created_by)
    .bind(scopes)
    .execute(pool)
    .await?;
    Ok((id, key))
}

/// The live key whose value has this hash ([`key_hash`]): not revoked, and its creator (if it
/// has one: keys made with the CLI have none) not disabled.
pub async fn find(pool: &PgPool, hash: &[u8]) -> sqlx::Result<Option<ApiKey>> {
    sqlx::query_as(
        r#"SELECT k.id, k.name, k.created_by, k.scopes, k.last_used_at
           FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
           WHERE k.key_hash = $1 AND k.revoked_at IS NULL
             AND (k.created_by IS NULL OR u.disabled_at IS NULL)"#,
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Notes that `key` was just used. `last_used_at` is written at most once a minute per key,
/// so a busy producer does not turn every publish into an extra write. Whether it wrote.
pub async fn touch(pool: &PgPool, key: &mut ApiKey) -> sqlx::Result<bool> {
    let now = Utc::now();
    if key
        .last_used_at
        .is_some_and(|at| now - at <= chrono::Duration::minutes(1))
    {
        return Ok(false);
    }
    key.last_used_at = Some(now);
    sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
        .bind(key.id)
        .execute(pool)
        .await?;
    Ok(true)
}

pub async fn revoke(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}
