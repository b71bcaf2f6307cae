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

/// Adds a user; false (nothing written) when the email is taken.
pub async fn insert(
    db: impl sqlx::PgExecutor<'_>,
    email: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        r#"INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (email) DO NOTHING"#,
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What `create-admin` did to the user with that email.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminUpsert {
    Created,
    /// Password and role set; `sessions_ended` sessions signed out.
    Updated {
        sessions_ended: u64,
    },
    /// The user is disabled and `enable` was not asked for: nothing changed.
    RefusedDisabled,
}

/// Creates the user, or sets an existing one's password and role and ends their sessions (a
/// reset password must not leave an old session signed in). A disabled user is enabled only
/// when `enable` is set.
pub async fn upsert(
    pool: &PgPool,
    email: &str,
    password_hash: &str,
    role: Role,
    enable: bool,
) -> sqlx::Result<AdminUpsert> {
    let mut tx = pool.begin().await?;
    let existing: Option<(Uuid, bool)> =
        sqlx::query_as("SELECT id, disabled_at IS NOT NULL FROM users WHERE email = $1 FOR UPDATE")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
    let outcome = match existing {
        None => {
            if !insert(&mut *tx, email, password_hash, role).await? {
                return Err(sqlx::Error::Protocol(
                    "the user was created by someone else at the same moment; run it again".into(),
                ));
            }
            AdminUpsert::Created
        }
        Some((_, true)) if !enable => AdminUpsert::RefusedDisabled,
        Some((id, _)) => {
            sqlx::query(
                "UPDATE users SET password_hash = $2, role = $3, disabled_at = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(password_hash)
            .bind(role)
            .execute(&mut *tx)
            .await?;
            AdminUpsert::Updated {
                sessions_ended: super::sessions::delete_all(&mut *tx, id).await?,
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub async fn record_login(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
