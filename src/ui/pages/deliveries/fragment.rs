//! The log's server functions. They answer with the page's own HTML (the filter form and the
//! rows, rendered by the same components as the first page load), so they live here with the
//! page rather than in `crate::api`: `ui` calls `api`, never the other way round. Each checks
//! the admin role itself and reads through [`service::deliveries`].

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    domain::log_query::LogQuery,
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::deliveries as service,
};

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
    let (state, _) = authorize(Role::Admin).await?;
    let query = LogQuery::from_query_string(&view);
    let log = respond(service::log(&state, query, anchor, with_form).await)?;
    Ok(render(&log.query, log.page, log.choices))
}

/// How many deliveries matching the view are newer than `top`.
#[server(endpoint = "newer_count")]
pub async fn newer_count(view: String, top: Uuid) -> Result<i64, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::newer_count(&state, LogQuery::from_query_string(&view), top).await)
}

/// The filter form (when there are `choices`) and the rows of one view, as HTML.
#[cfg(feature = "ssr")]
pub fn render(
    query: &LogQuery,
    page: crate::domain::log_query::LogPage,
    choices: Option<crate::domain::log_query::LogFilters>,
) -> LogFragment {
    use super::filters::FilterBar;
    use super::table::LogResults;
    Owner::new().with(|| LogFragment {
        view: query.to_query_string(),
        filters: choices
            .map(|choices| view! { <FilterBar query=query.clone() choices /> }.to_html()),
        results: view! { <LogResults page query=query.clone() /> }.to_html(),
    })
}
