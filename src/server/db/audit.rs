//! The audit log: one row per admin write.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// Who did something: a portal user or an API key.
pub struct Actor<'a> {
    pub user_id: Option<Uuid>,
    pub label: &'a str,
}

pub async fn record<'e>(
    db: impl PgExecutor<'e>,
    actor: &Actor<'_>,
    action: &str,
    target: &str,
    details: Value,
) -> sqlx::Result<()> {
    sqlx::query(
        r#"INSERT INTO audit_log (id, actor_id, actor, action, target, details)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
    )
    .bind(Uuid::now_v7())
    .bind(actor.user_id)
    .bind(actor.label)
    .bind(action)
    .bind(target)
    .bind(details)
    .execute(db)
    .await?;
    Ok(())
}
