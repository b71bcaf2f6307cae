//! The delivery detail, retries and bulk retries. Admin or higher: every function checks the
//! role itself, then calls [`service::deliveries`]. (The log's own server functions, which
//! answer with the page's HTML, sit with the page in `ui::pages::deliveries::fragment`.)

use crate::domain::delivery::{AttemptProgress, DeliveryDetail, JobProgress};
use crate::domain::log_query::LogFilters;
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    domain::log_query::LogQuery,
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::{Actor, deliveries as service},
};

/// The event types and live endpoints the log can be filtered by.
#[server(endpoint = "filter_choices")]
pub async fn filter_choices() -> Result<LogFilters, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::filter_choices(&state).await)
}

#[server(endpoint = "load_delivery")]
pub async fn load_delivery(id: Uuid) -> Result<DeliveryDetail, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::detail(&state, id).await)
}

/// Where the delivery's attempts stand (what the detail page's Retry button waits on).
#[server(endpoint = "delivery_progress")]
pub async fn delivery_progress(id: Uuid) -> Result<AttemptProgress, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::progress(&state, id).await)
}

/// Queues one immediate attempt, recorded as `manual` with the admin's name.
#[server(endpoint = "retry_delivery")]
pub async fn retry_delivery(id: Uuid) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    respond(service::retry(&state, &Actor::user(&user), id).await)
}

/// How many failed deliveries a bulk retry of this view would queue.
#[server(endpoint = "bulk_retry_count")]
pub async fn bulk_retry_count(view: String) -> Result<i64, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::bulk_retry_count(&state, &LogQuery::from_query_string(&view)).await)
}

#[server(endpoint = "start_bulk_retry")]
pub async fn start_bulk_retry(view: String) -> Result<JobProgress, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let view = LogQuery::from_query_string(&view);
    respond(service::start_bulk_retry(&state, &Actor::user(&user), &view).await)
}

#[server(endpoint = "bulk_job")]
pub async fn bulk_job(id: Uuid) -> Result<JobProgress, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::bulk_job(&state, id).await)
}
