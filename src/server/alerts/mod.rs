//! Alerts: every few seconds the rules of every endpoint are checked against what is known of
//! it (its state in PostgreSQL, its recent attempts in [`window::AttemptWindow`]); a rule that
//! starts holding fires once, one that stops recovers once. Each firing and recovery is an
//! `alerts` row and an audit entry, committed together, and is then told: as an operational
//! webhook to the endpoints subscribed to it, and by email when SMTP is configured.
//!
//! The check runs in processes that dispatch (their attempts are what the rate rules read);
//! the unique open-alert index keeps two such processes from firing the same alert twice.

pub mod email;
pub mod notify;
pub mod window;

use crate::domain::alert::{AlertKind, EndpointFacts, holding};
use crate::server::db;
use crate::server::db::alerts::Watched;
use crate::server::db::audit::{Actor, record};
use chrono::{DateTime, Utc};
use notify::Notifier;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;
use window::AttemptWindow;

/// A rule that started or stopped holding.
#[derive(Debug, Clone)]
pub struct Change {
    pub alert_id: Uuid,
    pub endpoint: Watched,
    pub kind: AlertKind,
    /// What held (when fired) or why it ended (when recovered).
    pub summary: String,
    pub fired: bool,
    pub at: DateTime<Utc>,
}

pub struct AlertCheck {
    pub pool: PgPool,
    pub window: Arc<AttemptWindow>,
    pub notifier: Notifier,
}

impl AlertCheck {
    /// Checks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(err) = self.check().await {
                tracing::error!(error = format!("{err:#}"), "checking alert rules failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One check of every rule of every endpoint: what fired and what recovered (already
    /// recorded and told).
    pub async fn check(&self) -> anyhow::Result<Vec<Change>> {
        let endpoints = db::alerts::watched(&self.pool).await?;
        let changed = db::alerts::changed_rules(&self.pool).await?;
        let rules_of = |id: Uuid| changed.get(&id).cloned().unwrap_or_default();
        let open: HashSet<(Uuid, AlertKind)> = db::alerts::open_keys(&self.pool)
            .await?
            .into_iter()
            .filter_map(|(id, kind)| Some((id, AlertKind::parse(&kind)?)))
            .collect();
        let now = Utc::now();
        let mut changes = Vec::new();
        for endpoint in &endpoints {
            let rules = rules_of(endpoint.id);
            let stats = self.window.stats(endpoint.id, rules.window_minutes, now);
            let facts = EndpointFacts {
                enabled: endpoint.enabled,
                disabled_reason: endpoint.disabled_reason.as_deref(),
                exhausted: endpoint.exhausted,
                window: &stats,
            };
            let held = holding(&rules, &facts);
            for (kind, summary) in &held {
                if !open.contains(&(endpoint.id, *kind)) {
                    changes.extend(self.fire(endpoint, *kind, summary).await?);
                }
            }
            for kind in AlertKind::ALL {
                let holds = held.iter().any(|(k, _)| *k == kind);
                if open.contains(&(endpoint.id, kind)) && !holds {
                    let why = if rules.watches(kind) {
                        recovery(kind)
                    } else {
                        "the rule was switched off"
                    };
                    changes.extend(self.resolve(endpoint, kind, why).await?);
                }
            }
        }
        // A deleted endpoint's alerts end with it (quietly: there is nothing left to fix).
        let live: HashSet<Uuid> = endpoints.iter().map(|e| e.id).collect();
        if open.iter().any(|(id, _)| !live.contains(id)) {
            db::alerts::resolve_deleted(&self.pool).await?;
        }
        for change in &changes {
            self.notifier
                .tell(change, &rules_of(change.endpoint.id))
                .await;
        }
        Ok(changes)
    }

    async fn fire(
        &self,
        endpoint: &Watched,
        kind: AlertKind,
        summary: &str,
    ) -> anyhow::Result<Option<Change>> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = db::alerts::fire(&mut tx, endpoint.id, kind, summary).await? else {
            return Ok(None);
        };
        self.audit(&mut tx, "alert.fired", endpoint, kind, summary)
            .await?;
        tx.commit().await?;
        tracing::warn!(endpoint = %endpoint.name, rule = kind.as_str(), summary, "alert fired");
        Ok(Some(change(id, endpoint, kind, summary, true)))
    }

    async fn resolve(
        &self,
        endpoint: &Watched,
        kind: AlertKind,
        why: &str,
    ) -> anyhow::Result<Option<Change>> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = db::alerts::resolve(&mut tx, endpoint.id, kind, why).await? else {
            return Ok(None);
        };
        self.audit(&mut tx, "alert.recovered", endpoint, kind, why)
            .await?;
        tx.commit().await?;
        tracing::info!(endpoint = %endpoint.name, rule = kind.as_str(), "alert recovered");
        Ok(Some(change(id, endpoint, kind, why, false)))
    }

    async fn audit(
        &self,
        tx: &mut sqlx::PgConnection,
        action: &str,
        endpoint: &Watched,
        kind: AlertKind,
        summary: &str,
    ) -> sqlx::Result<()> {
        let details =
            serde_json::json!({ "name": endpoint.name, "rule": kind.as_str(), "summary": summary });
        record(
            tx,
            &Actor::herald(),
            action,
            &endpoint.id.to_string(),
            details,
        )
        .await
    }
}

fn change(id: Uuid, endpoint: &Watched, kind: AlertKind, summary: &str, fired: bool) -> Change {
    Change {
        alert_id: id,
        endpoint: endpoint.clone(),
        kind,
        summary: summary.to_string(),
        fired,
        at: Utc::now(),
    }
}

/// Why a rule stopped holding, as the recovery says it.
fn recovery(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Exhausted => "a delivery to the endpoint succeeded again",
        AlertKind::Disabled => "the endpoint is enabled again",
        AlertKind::SuccessRate => "the success rate is back at or above the rule's floor",
        AlertKind::Latency => "response times are back under the rule's ceiling",
    }
}
