//! The API keys and event-type rules that REST publishes look up are kept in memory
//! (`src/server/lookups.rs`). These tests hold that cache to its promise: it is used, and it
//! never answers what PostgreSQL no longer says — after a change made through this process, by
//! another process or psql (the triggers' notification), or while the listener was away.

use crate::helpers::{create_user, session_cookie, spawn_app_with_state};
use crate::silent_features::eventually;
use herald::domain::role::Role;
use herald::domain::scope::Scope;
use herald::server::db;
use herald::server::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Long enough for a notification, or a reconnection after a second, on a loaded machine.
const NOTICED: Duration = Duration::from_secs(10);

/// A server whose lookups are listening (so they keep answers), and a live key for it.
async fn listening_app(pool: &PgPool) -> (crate::helpers::TestApp, AppState, Uuid, String) {
    let (app, state) = spawn_app_with_state(pool.clone()).await;
    let lookups = state.lookups.clone();
    eventually("the lookups' listener connects", NOTICED, || {
        let listening = lookups.is_listening();
        async move { listening }
    })
    .await;
    let (id, key) = db::api_keys::create(pool, "producer", &Scope::ALL, None)
        .await
        .unwrap();
    (app, state, id, key)
}

async fn publish(app: &crate::helpers::TestApp, key: &str) -> StatusCode {
    let event = json!({ "type": "user.created", "data": {} });
    app.send_json(Method::POST, "/api/v1/events", key, &event)
        .await
        .status()
}

/// Runs `sql` (binding `id`) as psql would, but with the table's lookup trigger switched off:
/// no notification tells Herald.
async fn silently(pool: &PgPool, table: &str, sql: &str, id: Uuid) {
    let trigger = format!("{table}_changed");
    let switch = |on: &str| format!("ALTER TABLE {table} {on} TRIGGER {trigger}");
    sqlx::query(&switch("DISABLE")).execute(pool).await.unwrap();
    sqlx::query(sql).bind(id).execute(pool).await.unwrap();
    sqlx::query(&switch("ENABLE")).execute(pool).await.unwrap();
}

/// Runs `sql` (binding `id` as `$1` if given) as another process or psql would.
async fn elsewhere(pool: &PgPool, sql: &str, id: Option<Uuid>) {
    let query = sqlx::query(sql);
    let query = match id {
        Some(id) => query.bind(id),
        None => query,
    };
    query.execute(pool).await.unwrap();
}

async fn refused_within(app: &crate::helpers::TestApp, key: &str, expected: StatusCode) {
    eventually(
        &format!("publishes answered {expected}"),
        NOTICED,
        || async { publish(app, key).await == expected },
    )
    .await;
}

#[sqlx::test]
async fn a_publish_reads_its_key_and_its_type_from_memory(pool: PgPool) {
    let (app, _state, id, key) = listening_app(&pool).await;
    assert_eq!(publish(&app, &key).await, StatusCode::CREATED);

    // Changed behind Herald's back: only a publish that read PostgreSQL would see it.
    let revoke = "UPDATE api_keys SET revoked_at = now() WHERE id = $1";
    silently(&pool, "api_keys", revoke, id).await;
    assert_eq!(
        publish(&app, &key).await,
        StatusCode::CREATED,
        "the key came from memory"
    );

    // Any notification on the channel empties the cache; the next publish reads the truth.
    sqlx::query("NOTIFY herald_lookups")
        .execute(&pool)
        .await
        .unwrap();
    refused_within(&app, &key, StatusCode::UNAUTHORIZED).await;
}

#[sqlx::test]
async fn a_key_revoked_through_the_portal_is_refused_at_once(pool: PgPool) {
    let (app, _state, id, key) = listening_app(&pool).await;
    create_user(&pool, "owner@test.dev", "owner-password", Role::Owner).await;
    let cookie = session_cookie(&app, "owner@test.dev", "owner-password").await;
    assert_eq!(publish(&app, &key).await, StatusCode::CREATED);
    // No notification can do it: only the revoke's own word to this process's cache.
    sqlx::query("ALTER TABLE api_keys DISABLE TRIGGER api_keys_changed")
        .execute(&pool)
        .await
        .unwrap();

    let id = id.to_string();
    let revoked = app
        .call("revoke_api_key", &[("id", id.as_str())], Some(&cookie))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(publish(&app, &key).await, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn changes_made_elsewhere_reach_the_cache_by_notification(pool: PgPool) {
    let (app, _state, id, key) = listening_app(&pool).await;
    create_user(&pool, "owner@test.dev", "owner-password", Role::Owner).await;
    let owner: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'owner@test.dev'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, owned) = db::api_keys::create(&pool, "owned", &Scope::ALL, Some(owner))
        .await
        .unwrap();
    assert_eq!(publish(&app, &key).await, StatusCode::CREATED);
    assert_eq!(publish(&app, &owned).await, StatusCode::CREATED);

    // As another Herald process, or psql, would: plain SQL, the triggers tell every process.
    let archive = "UPDATE event_types SET archived_at = now() WHERE name = 'user.created'";
    elsewhere(&pool, archive, None).await;
    refused_within(&app, &key, StatusCode::UNPROCESSABLE_ENTITY).await;
    let restore = "UPDATE event_types SET archived_at = NULL WHERE name = 'user.created'";
    elsewhere(&pool, restore, None).await;
    refused_within(&app, &key, StatusCode::CREATED).await;

    let disable = "UPDATE users SET disabled_at = now() WHERE id = $1";
    elsewhere(&pool, disable, Some(owner)).await;
    refused_within(&app, &owned, StatusCode::UNAUTHORIZED).await;
    let revoke = "UPDATE api_keys SET revoked_at = now() WHERE id = $1";
    elsewhere(&pool, revoke, Some(id)).await;
    refused_within(&app, &key, StatusCode::UNAUTHORIZED).await;
}

#[sqlx::test]
async fn a_lost_listener_connection_empties_the_cache(pool: PgPool) {
    let (app, _state, id, key) = listening_app(&pool).await;
    assert_eq!(publish(&app, &key).await, StatusCode::CREATED);
    let revoke = "UPDATE api_keys SET revoked_at = now() WHERE id = $1";
    silently(&pool, "api_keys", revoke, id).await;

    // The notification of a change may have been lost with the connection: nothing kept
    // from before it may be trusted.
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%herald_lookups%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(cut, [true], "one listener connection cut");
    refused_within(&app, &key, StatusCode::UNAUTHORIZED).await;
}
