//! The event-type catalog.

use sqlx::PgPool;

/// Every type name, sorted.
pub async fn names(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM event_types ORDER BY name")
        .fetch_all(pool)
        .await
}

pub async fn exists(pool: &PgPool, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM event_types WHERE name = $1)")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// The type's example payload (JSON text), if the type exists.
pub async fn example(pool: &PgPool, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT example_payload FROM event_types WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
}
