//! Telling people about an alert: an operational webhook (an event Herald publishes to the
//! endpoints subscribed to its type) and, with SMTP configured, an email. A failure to tell
//! is logged; the alert itself is already recorded.

use super::Change;
use super::email::Mailer;
use crate::domain::alert::{AlertRules, RECOVERED_EVENT};
use crate::server::db;
use crate::server::service::events::{PublishRequest, publish};
use serde_json::json;
use sqlx::PgPool;

pub struct Notifier {
    pub pool: PgPool,
    pub mailer: Option<Mailer>,
}

impl Notifier {
    pub async fn tell(&self, change: &Change, rules: &AlertRules) {
        self.publish(change).await;
        if let Some(mailer) = &self.mailer {
            self.email(mailer, change, rules).await;
        }
    }

    async fn publish(&self, change: &Change) {
        let event_type = if change.fired {
            change.kind.fired_event()
        } else {
            RECOVERED_EVENT
        };
        let data = json!({
            "alert_id": change.alert_id,
            "endpoint": { "id": change.endpoint.id, "name": change.endpoint.name, "url": change.endpoint.url },
            "rule": change.kind.as_str(),
            "summary": change.summary,
            "at": change.at,
        });
        let raw = match serde_json::value::to_raw_value(&data) {
            Ok(raw) => raw,
            Err(err) => {
                tracing::error!(error = %err, "an alert's event did not serialise");
                return;
            }
        };
        if let Err(err) = publish(&self.pool, PublishRequest::operational(event_type, &raw)).await {
            tracing::error!(error = %err, event_type, "publishing an alert's event failed");
        }
    }

    async fn email(&self, mailer: &Mailer, change: &Change, rules: &AlertRules) {
        let recipients = if rules.email_to.is_empty() {
            match db::alerts::admin_emails(&self.pool).await {
                Ok(all) => all,
                Err(err) => {
                    tracing::error!(error = %err, "reading the admins' addresses failed");
                    return;
                }
            }
        } else {
            rules.email_to.clone()
        };
        let (subject, body) = message(change);
        if let Err(err) = mailer.send(&recipients, &subject, &body).await {
            tracing::error!(error = format!("{err:#}"), "emailing an alert failed");
        }
    }
}

/// The subject and plain-text body of an alert's email.
pub fn message(change: &Change) -> (String, String) {
    let name = &change.endpoint.name;
    let label = change.kind.label();
    let subject = if change.fired {
        format!("[Herald] {label}: {name}")
    } else {
        format!("[Herald] Recovered ({label}): {name}")
    };
    let body = format!(
        "{}\n\nEndpoint: {name}\nURL: {}\nRule: {label}\n{}: {}\nWhen: {}\n",
        if change.fired {
            "An alert rule started holding."
        } else {
            "An alert rule stopped holding."
        },
        change.endpoint.url,
        if change.fired { "What" } else { "Why it ended" },
        change.summary,
        change.at.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    (subject, body)
}
