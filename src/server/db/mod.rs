//! Database access: one module per table family. Queries are plain functions over `&PgPool`
//! (or a transaction) so integration tests call them directly.

pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod bulk_jobs;
pub mod deliveries;
pub mod endpoints;
pub mod event_types;
pub mod events;
pub mod log;
pub mod sessions;
pub mod users;

use super::config::redact_url;
use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// Opens the pool, failing with one line that names the URL (password hidden) and the fix.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot connect to PostgreSQL at {} ({err}); start PostgreSQL or set DATABASE_URL / --database-url",
                redact_url(url)
            )
        })
}

/// Applies pending migrations and makes sure the coming days have log partitions.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("applying database migrations")?;
    ensure_partitions(pool).await
}

/// Creates the daily log partitions from yesterday to a week ahead (idempotent).
pub async fn ensure_partitions(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("SELECT herald_ensure_partitions(current_date - 1, current_date + 7)")
        .execute(pool)
        .await
        .context("creating log partitions")?;
    Ok(())
}
