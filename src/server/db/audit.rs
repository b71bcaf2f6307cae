//! The audit log: one row per admin write, whoever made it (a portal user, an API key, Herald).

use crate::domain::admin::AuditEntry;
use crate::domain::user::CurrentUser;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// Who did something: a portal user, an API key (recorded as `api-key:<name>` with the user who
/// created it), or Herald itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub label: String,
}

impl Actor {
    pub fn user(user: &CurrentUser) -> Self {
        Actor {
            user_id: Some(user.id),
            label: user.email.clone(),
        }
    }

    pub fn api_key(name: &str, created_by: Option<Uuid>) -> Self {
        Actor {
            user_id: created_by,
            label: format!("api-key:{name}"),
        }
    }

    /// Herald's own decisions (an endpoint disabled after failing too long, a 410).
    pub fn herald() -> Self {
        Actor {
            user_id: None,
            label: "herald".into(),
        }
    }
}

pub async fn record<'e>(
    db: impl PgExecutor<'e>,
    actor: &Actor,
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
    .bind(&actor.label)
    .bind(action)
    .bind(target)
    .bind(details)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRecord {
    id: Uuid,
    actor: String,
    action: String,
    target: String,
    details: Value,
    created_at: DateTime<Utc>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        AuditEntry {
            id: r.id,
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: if r.details == serde_json::json!({}) {
                String::new()
            } else {
                r.details.to_string()
            },
            created_at: r.created_at,
        }
    }
}

/// The newest entries, optionally for one actor (email or key label) and/or one action prefix
/// (e.g. `endpoint.`).
pub async fn entries(
    pool: &PgPool,
    actor: Option<&str>,
    action: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<AuditEntry>> {
    let rows: Vec<AuditRecord> = sqlx::query_as(
        r#"SELECT id, actor, action, target, details, created_at FROM audit_log
           WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action LIKE $2 || '%')
           ORDER BY created_at DESC, id DESC LIMIT $3"#,
    )
    .bind(actor)
    .bind(action)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}
