//! Housekeeping that runs in every `herald serve`: log partitions for the coming days,
//! retention (dropping whole days past the configured age), expired sessions. Idempotent, so
//! several processes may run it.

use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

pub async fn maintain(pool: PgPool, retention_days: u32, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(err) = run_once(&pool, retention_days).await {
            tracing::warn!(
                error = format!("{err:#}"),
                "housekeeping failed; trying again in an hour"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

pub async fn run_once(pool: &PgPool, retention_days: u32) -> anyhow::Result<()> {
    super::db::ensure_partitions(pool).await?;
    let dropped: i32 =
        sqlx::query_scalar("SELECT herald_drop_partitions_before(current_date - $1::int)")
            .bind(i32::try_from(retention_days.max(1)).unwrap_or(i32::MAX))
            .fetch_one(pool)
            .await?;
    if dropped > 0 {
        tracing::info!(
            dropped,
            retention_days,
            "retention dropped old log partitions"
        );
    }
    super::db::sessions::delete_expired(pool).await?;
    Ok(())
}
