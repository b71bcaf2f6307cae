//! `/admin/webhook-deliveries`: the delivery log. The URL query string is the whole view
//! (search, filters, sort, cursor). The filter form and the table are rendered on the server,
//! for the first page load and for every later view: the live log (an island) asks the server
//! for the new view's HTML and swaps it in, so the browser bundle carries the log's behaviour
//! (filtering without a page load, history, live refresh, Retry, bulk retry) but not its
//! markup. Without wasm the same page works as plain links and forms.

// Rendered on the server only: never part of the browser bundle.
#[cfg(feature = "ssr")]
mod filters;
pub mod fragment;
mod live;
#[cfg(feature = "ssr")]
mod table;

use crate::domain::log_query::LogQuery;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::form::FormError;
use fragment::delivery_log;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use live::LiveLog;

const BASE: &str = "/admin/webhook-deliveries";

/// The route (rendered on the server): the request's view, inside the live log.
#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let raw = use_location().search.get_untracked();
    let query = LogQuery::from_query_string(&raw);
    let view = query.to_query_string();
    // A form sent without the wasm (its empty fields included) or an edited address is
    // answered with the tidy address of the same view: the address bar shows what to share.
    if !query.is_tidy(&raw) {
        #[cfg(feature = "ssr")]
        leptos_axum::redirect(&format!("{BASE}{view}"));
        return ().into_any();
    }
    let log = OnceResource::new(delivery_log(view, None, true));
    view! {
        // A Retry posted without the wasm comes back here with its error, if it had one.
        <FormError />
        <Suspense fallback=|| view! { <LoadingRows /> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(log) => view! {
                        <LiveLog view=log.view>
                            <div data-log="filters" inner_html=log.filters.unwrap_or_default()></div>
                            <div data-log="results" class="transition-opacity aria-busy:opacity-50" inner_html=log.results></div>
                        </LiveLog>
                    }.into_any(),
                    Err(err) => view! { <ErrorAlert message=format!("The log could not be loaded: {err}") /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn LoadingRows() -> impl IntoView {
    view! {
        <div class="animate-pulse space-y-2 rounded-xl bg-white p-4 ring-1 ring-slate-200" aria-busy="true" aria-label="Loading deliveries">
            {(0..6).map(|_| view! { <div class="h-8 rounded bg-slate-100"></div> }).collect_view()}
        </div>
    }
}
