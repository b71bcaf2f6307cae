//! Alerts and alert rules for the portal (admin or higher). Each function checks the role
//! itself, then calls `server::service::alerts`, as the REST API does.

use crate::domain::alert::{AlertRules, AlertView};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    domain::alert::AlertRulesForm,
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::{self, Actor},
};

/// Open alerts, then up to `recent` resolved ones.
#[server(endpoint = "list_alerts")]
pub async fn list_alerts(recent: i64) -> Result<Vec<AlertView>, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::alerts::list(&state, recent).await)
}

#[server(endpoint = "get_alert_rules")]
pub async fn get_alert_rules(id: Uuid) -> Result<AlertRules, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::alerts::rules(&state, id).await)
}

/// Saves the rules from the endpoint page's form (a checkbox that is not ticked is absent).
#[server(endpoint = "save_alert_rules")]
#[allow(clippy::too_many_arguments)] // one argument per form field
pub async fn save_alert_rules(
    id: Uuid,
    on_exhausted: Option<String>,
    on_disabled: Option<String>,
    #[server(default)] min_success_rate: String,
    #[server(default)] window_minutes: String,
    #[server(default)] min_attempts: String,
    #[server(default)] max_p95_ms: String,
    #[server(default)] email_to: String,
) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let form = AlertRulesForm {
        on_exhausted: on_exhausted.is_some(),
        on_disabled: on_disabled.is_some(),
        min_success_rate,
        window_minutes,
        min_attempts,
        max_p95_ms,
        email_to,
    };
    let saved = match form.parse() {
        Ok(rules) => service::alerts::save_rules(&state, &Actor::user(&user), id, rules)
            .await
            .map(|_| ()),
        Err(problems) => Err(AppError::Validation(problems)),
    };
    respond(saved)
}
