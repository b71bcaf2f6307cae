//! Users: portal accounts with an argon2id password hash and a role.

use crate::domain::role::Role;
use crate::domain::user::CurrentUser;
use sqlx::PgPool;
use uuid::Uuid;

/// What sign-in needs to check a password.
pub struct Credentials {
    pub user: CurrentUser,
    pub password_hash: String,
    pub disabled: bool,
}

pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pool)
        .await
}

#[derive(sqlx::FromRow)]
struct CredentialsRecord {
    #[sqlx(flatten)]
    user: CurrentUser,
    password_hash: String,
    disabled: bool,
}

pub async fn exists(pool: &PgPool, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
        .bind(email)
        .fetch_one(pool)
        .await
}

pub async fn credentials(pool: &PgPool, email: &str) -> sqlx::Result<Option<Credentials>> {
    let row: Option<CredentialsRecord> = sqlx::query_as(
        r#"SELECT id, email, role, password_hash, disabled_at IS NOT NULL AS disabled
           FROM users WHERE email = $1"#,
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Credentials {
        user: r.user,
        password_hash: r.password_hash,
        disabled: r.disabled,
    }))
}

/// Creates the user or resets its password and role; true when it was created.
pub async fn upsert(
    pool: &PgPool,
    email: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        r#"INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (email) DO UPDATE
               SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, disabled_at = NULL
           RETURNING (xmax = 0)"#,
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .fetch_one(pool)
    .await
}

pub async fn record_login(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
