//! Background bulk retries and their progress.

use crate::domain::delivery::JobProgress;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn insert(
    pool: &PgPool,
    id: Uuid,
    filter: serde_json::Value,
    total: i32,
    user: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO bulk_jobs (id, kind, filter, total, created_by) VALUES ($1, 'retry', $2, $3, $4)",
    )
    .bind(id)
    .bind(filter)
    .bind(total)
    .bind(user)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn add_done(pool: &PgPool, id: Uuid, done: u64) -> sqlx::Result<()> {
    sqlx::query("UPDATE bulk_jobs SET done = done + $2 WHERE id = $1")
        .bind(id)
        .bind(i32::try_from(done).unwrap_or(i32::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn finish(pool: &PgPool, id: Uuid, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE bulk_jobs SET status = $2, finished_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn progress(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<JobProgress>> {
    sqlx::query_as("SELECT id, total, done, status FROM bulk_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}
