//! Sign-in and sessions at the function level, against a real PostgreSQL.

use crate::helpers::create_user;
use herald::domain::role::Role;
use herald::error::AppError;
use herald::server::auth::{self, guard, session};
use herald::server::db;
use sqlx::PgPool;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[sqlx::test]
async fn sign_in_opens_a_session_for_the_right_user(pool: PgPool) {
    create_user(&pool, "ada@example.com", "analytical-engine", Role::Owner).await;
    let (token, user) = auth::sign_in(&pool, HOUR, "  ADA@example.com ", "analytical-engine")
        .await
        .unwrap();
    assert_eq!(user.role, Role::Owner);
    let found = db::sessions::user(&pool, &session::token_hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.email, "ada@example.com");
    // Each sign-in issues a new session id.
    let (second, _) = auth::sign_in(&pool, HOUR, "ada@example.com", "analytical-engine")
        .await
        .unwrap();
    assert_ne!(token, second);
}

#[sqlx::test]
async fn bad_credentials_and_disabled_users_are_refused_alike(pool: PgPool) {
    create_user(&pool, "ada@example.com", "analytical-engine", Role::Admin).await;
    create_user(&pool, "gone@example.com", "analytical-engine", Role::Admin).await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE email = 'gone@example.com'")
        .execute(&pool)
        .await
        .unwrap();
    for (email, password) in [
        ("ada@example.com", "difference-engine"),
        ("nobody@example.com", "analytical-engine"),
        ("gone@example.com", "analytical-engine"),
        ("not an email", "analytical-engine"),
    ] {
        let err = auth::sign_in(&pool, HOUR, email, password)
            .await
            .unwrap_err();
        assert_eq!(err, AppError::InvalidCredentials, "{email}");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[sqlx::test]
async fn expired_sessions_and_disabled_users_lose_access(pool: PgPool) {
    create_user(&pool, "ada@example.com", "analytical-engine", Role::Admin).await;
    let (token, _) = auth::sign_in(&pool, HOUR, "ada@example.com", "analytical-engine")
        .await
        .unwrap();
    let hash = session::token_hash(&token);
    sqlx::query("UPDATE users SET disabled_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    assert!(db::sessions::user(&pool, &hash).await.unwrap().is_none());
    sqlx::query("UPDATE users SET disabled_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(db::sessions::user(&pool, &hash).await.unwrap().is_none());
    assert_eq!(db::sessions::delete_expired(&pool).await.unwrap(), 1);
}

#[sqlx::test]
async fn the_guard_orders_roles(pool: PgPool) {
    create_user(&pool, "m@example.com", "member-password", Role::Member).await;
    let (_, member) = auth::sign_in(&pool, HOUR, "m@example.com", "member-password")
        .await
        .unwrap();
    let refused = guard::check_role(member.clone(), Role::Admin).unwrap_err();
    assert_eq!(refused.to_string(), "Admin or higher role required");
    assert_eq!(refused.status(), 403);
    assert!(guard::check_role(member, Role::Member).is_ok());
}

#[sqlx::test]
async fn create_admin_resets_an_existing_user_and_ends_their_sessions(pool: PgPool) {
    create_user(&pool, "ada@example.com", "first-password", Role::Member).await;
    let (old_token, _) = auth::sign_in(&pool, HOUR, "ada@example.com", "first-password")
        .await
        .unwrap();
    let old_session = auth::session::token_hash(&old_token);
    assert!(
        db::sessions::user(&pool, &old_session)
            .await
            .unwrap()
            .is_some()
    );

    let hash = auth::password::hash("second-password".into())
        .await
        .unwrap();
    let outcome = db::users::upsert(&pool, "ada@example.com", &hash, Role::Owner, false)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        db::users::AdminUpsert::Updated { sessions_ended: 1 }
    );
    assert!(
        db::sessions::user(&pool, &old_session)
            .await
            .unwrap()
            .is_none(),
        "a reset password signs the old session out"
    );
    let (_, user) = auth::sign_in(&pool, HOUR, "ada@example.com", "second-password")
        .await
        .unwrap();
    assert_eq!(user.role, Role::Owner);
}

#[sqlx::test]
async fn create_admin_does_not_re_enable_a_disabled_user_unasked(pool: PgPool) {
    create_user(&pool, "ada@example.com", "first-password", Role::Member).await;
    sqlx::query("UPDATE users SET disabled_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let hash = auth::password::hash("second-password".into())
        .await
        .unwrap();
    let refused = db::users::upsert(&pool, "ada@example.com", &hash, Role::Owner, false)
        .await
        .unwrap();
    assert_eq!(refused, db::users::AdminUpsert::RefusedDisabled);
    let still_out = auth::sign_in(&pool, HOUR, "ada@example.com", "second-password").await;
    assert_eq!(still_out.unwrap_err(), AppError::InvalidCredentials);
    let role: Role = sqlx::query_scalar("SELECT role FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(role, Role::Member, "nothing changed");

    let enabled = db::users::upsert(&pool, "ada@example.com", &hash, Role::Owner, true)
        .await
        .unwrap();
    assert!(matches!(enabled, db::users::AdminUpsert::Updated { .. }));
    assert!(
        auth::sign_in(&pool, HOUR, "ada@example.com", "second-password")
            .await
            .is_ok()
    );
}

#[sqlx::test]
async fn the_last_owner_cannot_be_demoted_or_disabled(pool: PgPool) {
    create_user(&pool, "owner@example.com", "owner-password", Role::Owner).await;
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let demote = db::admin::change_user(&pool, owner, Some(Role::Admin), None)
        .await
        .unwrap_err();
    assert!(matches!(demote, AppError::Conflict(_)), "{demote:?}");
    let disable = db::admin::change_user(&pool, owner, None, Some(true))
        .await
        .unwrap_err();
    assert!(matches!(disable, AppError::Conflict(_)));

    create_user(&pool, "second@example.com", "owner-password", Role::Owner).await;
    db::admin::change_user(&pool, owner, Some(Role::Admin), None)
        .await
        .unwrap();
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(owner)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(role, "admin");
}
