//! The delivery log, the detail view, retries and bulk retries. Every function checks for the
//! admin role itself before touching data.

use crate::domain::delivery::{AttemptProgress, DeliveryDetail, JobProgress};
use crate::domain::log_query::LogFilters;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The log's HTML for one view, rendered on the server: the browser swaps it into the page, so
/// the table's markup and formatting exist once, in the server build, and not in the wasm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogFragment {
    /// The view, normalised: what follows the page's path in the address bar.
    pub view: String,
    /// The filter form, when asked for (a new view; not a refresh of the same one).
    pub filters: Option<String>,
    /// The table with its pager, or the empty state.
    pub results: String,
}

#[cfg(feature = "ssr")]
fn parse_view(view: &str) -> crate::domain::log_query::LogQuery {
    crate::domain::log_query::LogQuery::from_query_string(view)
}

/// The log for the view in `view` (the page's URL query string). With `anchor` (live refresh
/// of the first page) rows newer than the anchor are left out, so the rows the admin is
/// reading stay where they are; `newer_count` tells how many arrived since. `with_form`: the
/// filter form comes too.
#[server(endpoint = "delivery_log")]
pub async fn delivery_log(
    view: String,
    anchor: Option<Uuid>,
    #[server(default)] with_form: bool,
) -> Result<LogFragment, AppError> {
    use crate::domain::log_query::{Cursor, LogQuery};
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};
    use crate::ui::pages::deliveries::render_log;

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let query = parse_view(&view);
    let mut rows_query = query.clone();
    let anchored = anchor.filter(|_| query.cursor.is_none() && query.is_newest_first());
    if let Some(anchor) = anchored {
        // Rows at or below the anchor: the same page the admin is reading, with fresh statuses.
        rows_query.cursor = Some(Cursor {
            before: false,
            key: String::new(),
            id: Uuid::from_u128(anchor.as_u128().saturating_add(1)),
        });
    }
    let mut page = db::log::page(&state.pool, &rows_query, chrono::Utc::now()).await?;
    if anchored.is_some() {
        page.prev = None;
    }
    // "← Newer" back to the newest rows: that is the first page, live like any first page.
    let reached_top = page.prev.is_none() && query.cursor.as_ref().is_some_and(|c| c.before);
    let query = match reached_top {
        true => LogQuery {
            cursor: None,
            ..query
        },
        false => query,
    };
    let choices = match with_form {
        true => Some(db::log::filter_choices(&state.pool).await?),
        false => None,
    };
    Ok(render_log(&query, page, choices))
}

/// How many deliveries matching the view are newer than `top`.
#[server(endpoint = "newer_count")]
pub async fn newer_count(view: String, top: Uuid) -> Result<i64, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let mut query = parse_view(&view);
    query.cursor = None;
    Ok(db::log::count_newer(&state.pool, &query, chrono::Utc::now(), top).await?)
}

/// The event types and live endpoints the log can be filtered by.
#[server(endpoint = "filter_choices")]
pub async fn filter_choices() -> Result<LogFilters, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    Ok(db::log::filter_choices(&state.pool).await?)
}

#[server(endpoint = "load_delivery")]
pub async fn load_delivery(id: Uuid) -> Result<DeliveryDetail, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let delivery = db::deliveries::get(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound("Delivery".into()))?;
    let body: String = sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
        .bind(delivery.event_id)
        .fetch_optional(&state.pool)
        .await?
        .unwrap_or_default();
    let body_pretty = serde_json::from_str::<serde_json::Value>(&body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| body.clone());
    let attempts = db::deliveries::attempts(&state.pool, id).await?;
    Ok(DeliveryDetail {
        delivery,
        body,
        body_pretty,
        attempts,
        generated_at: chrono::Utc::now(),
    })
}

/// Where the delivery's attempts stand (what the detail page's Retry button waits on).
#[server(endpoint = "delivery_progress")]
pub async fn delivery_progress(id: Uuid) -> Result<AttemptProgress, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    db::deliveries::progress(&state.pool, id, chrono::Utc::now())
        .await?
        .ok_or(AppError::NotFound("Delivery".into()))
}

/// Queues one immediate attempt, recorded as `manual` with the admin's name.
#[server(endpoint = "retry_delivery")]
pub async fn retry_delivery(id: Uuid) -> Result<(), AppError> {
    use crate::domain::attempt::Trigger;
    use crate::domain::role::Role;
    use crate::server::db::audit::{self, Actor};
    use crate::server::{auth::guard, dispatcher::manual, state::AppState};

    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    if !manual::retry(&state.pool, id, Trigger::Manual, Some(user.id)).await? {
        return Err(AppError::NotFound("Delivery".into()));
    }
    let actor = Actor {
        user_id: Some(user.id),
        label: &user.email,
    };
    audit::record(
        &state.pool,
        &actor,
        "delivery.retry",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// How many failed deliveries a bulk retry of this view would queue.
#[server(endpoint = "bulk_retry_count")]
pub async fn bulk_retry_count(view: String) -> Result<i64, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, bulk, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let now = chrono::Utc::now();
    Ok(db::log::count(
        &state.pool,
        &bulk::failed_matching(&parse_view(&view), now),
        now,
    )
    .await?)
}

#[server(endpoint = "start_bulk_retry")]
pub async fn start_bulk_retry(view: String) -> Result<JobProgress, AppError> {
    use crate::domain::role::Role;
    use crate::server::db::audit::{self, Actor};
    use crate::server::{auth::guard, bulk, state::AppState};

    let user = guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let job = bulk::start(&state.pool, &parse_view(&view), user.id).await?;
    let actor = Actor {
        user_id: Some(user.id),
        label: &user.email,
    };
    let details = serde_json::json!({ "view": view, "total": job.total });
    audit::record(
        &state.pool,
        &actor,
        "delivery.bulk_retry",
        &job.id.to_string(),
        details,
    )
    .await?;
    Ok(job)
}

#[server(endpoint = "bulk_job")]
pub async fn bulk_job(id: Uuid) -> Result<JobProgress, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, bulk, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    bulk::progress(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound("Bulk job".into()))
}
