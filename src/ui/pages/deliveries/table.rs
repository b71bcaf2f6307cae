//! The log's rows, pager and empty state. Rendered on the server only (the page, and the
//! fragments the live log swaps in), so none of this is in the browser bundle.

use super::BASE;
use crate::api::deliveries::RetryDelivery;
use crate::domain::delivery::{DeliveryRow, DeliveryStatus};
use crate::domain::ids::event_ref;
use crate::domain::log_query::{Direction, LogPage, LogQuery, SortKey};
use crate::domain::time::relative;
use crate::ui::components::status_badge::StatusBadge;
use crate::ui::components::time::RelativeTime;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use uuid::Uuid;

/// The address of a view of the log.
fn link(query: &LogQuery) -> String {
    format!("{BASE}{}", query.to_query_string())
}

/// The rows of one view, or why there are none. `data-live` tells the browser whether new
/// deliveries would appear at the top of this view (newest first, first page).
#[component]
pub fn LogResults(page: LogPage, query: LogQuery) -> impl IntoView {
    let live = query.cursor.is_none() && query.is_newest_first();
    let body = if page.rows.is_empty() {
        view! { <EmptyLog filtered=query.is_filtered() /> }.into_any()
    } else {
        view! { <DeliveryTable page query /> }.into_any()
    };
    view! { <div data-live=live.to_string()>{body}</div> }
}

#[component]
fn EmptyLog(filtered: bool) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-dashed border-slate-300 bg-white p-12 text-center" data-testid="empty-log">
            {if filtered {
                view! {
                    <h2 class="font-medium">"No deliveries match these filters"</h2>
                    <a href=BASE class="mt-2 inline-block text-sm text-indigo-600 hover:underline">"Clear the filters"</a>
                }.into_any()
            } else {
                view! {
                    <h2 class="font-medium">"No deliveries yet"</h2>
                    <p class="mt-1 text-sm text-slate-600">"When a producer publishes an event that an endpoint subscribes to, its delivery shows up here."</p>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn DeliveryTable(page: LogPage, query: LogQuery) -> impl IntoView {
    let now = page.generated_at;
    let at = |cursor| {
        link(&LogQuery {
            cursor: Some(cursor),
            ..query.clone()
        })
    };
    let newer = page.prev.clone().map(at);
    let older = page.next.clone().map(at);
    view! {
        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="delivery-table">
                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="px-4 py-2">"Webhook"</th>
                        <th class="px-4 py-2">"Event"</th>
                        <th class="px-4 py-2"><SortLink query=query.clone() key=SortKey::Status label="Status" /></th>
                        <th class="px-4 py-2"><SortLink query=query.clone() key=SortKey::Code label="Response" /></th>
                        <th class="px-4 py-2 text-center">"Attempts"</th>
                        <th class="px-4 py-2"><SortLink query=query.clone() key=SortKey::Time label="Attempted at" /></th>
                        <th class="px-4 py-2 text-right">"Actions"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {page.rows.into_iter().map(|row| view! { <DeliveryLine row now /> }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="mt-3 flex items-center justify-between text-sm" aria-label="Pages">
            {match newer {
                Some(href) => view! { <a href=href rel="prev" class="rounded-md px-3 py-1.5 ring-1 ring-slate-300 hover:bg-white">"← Newer"</a> }.into_any(),
                None => view! { <span></span> }.into_any(),
            }}
            {match older {
                Some(href) => view! { <a href=href rel="next" class="rounded-md px-3 py-1.5 ring-1 ring-slate-300 hover:bg-white">"Older →"</a> }.into_any(),
                None => view! { <span class="text-slate-400">"End of the log"</span> }.into_any(),
            }}
        </nav>
    }
}

/// A column header that sorts by its key; a second click flips the direction.
#[component]
fn SortLink(query: LogQuery, key: SortKey, label: &'static str) -> impl IntoView {
    let active = query.sort == key;
    let dir = match (active, query.dir) {
        (true, Direction::Desc) => Direction::Asc,
        _ => Direction::Desc,
    };
    let href = link(&LogQuery {
        sort: key,
        dir,
        cursor: None,
        ..query
    });
    let (arrow, sorted) = match (active, dir) {
        (false, _) => ("", "none"),
        (true, Direction::Asc) => (" ↓", "descending"),
        (true, Direction::Desc) => (" ↑", "ascending"),
    };
    view! { <a href=href class="hover:text-slate-900" aria-sort=sorted data-testid=format!("sort-{}", key.as_str())>{label}{arrow}</a> }
}

#[component]
fn DeliveryLine(row: DeliveryRow, now: DateTime<Utc>) -> impl IntoView {
    let failed = row.status == DeliveryStatus::Failed;
    let event = event_ref(row.event_id);
    let next_retry = row
        .next_attempt_at
        .filter(|_| row.status.is_open() && row.attempt_count > 0)
        .map(|at| format!("next retry {}", relative(at, now)));
    let deleted = if row.endpoint_deleted {
        " (deleted)"
    } else {
        ""
    };
    view! {
        <tr class=if failed { "bg-red-50/70" } else { "" } data-testid="delivery-row" data-status=row.status.as_str() data-id=row.id.to_string()>
            <td class="px-4 py-2">
                <div class="font-medium">{format!("{}{deleted}", row.endpoint_name)}</div>
                <div class="max-w-xs truncate text-xs text-slate-500" title=row.endpoint_url.clone()>{row.endpoint_url.clone()}</div>
            </td>
            <td class="px-4 py-2">
                <div class="font-mono text-xs">{row.event_type.clone()}</div>
                <div class="font-mono text-[11px] text-slate-400" title=event.clone()>{event.clone()}</div>
            </td>
            <td class="px-4 py-2">
                <StatusBadge status=row.status />
                {next_retry.map(|when| view! { <div class="mt-0.5 text-xs text-slate-500">{when}</div> })}
            </td>
            <td class="px-4 py-2 font-mono text-xs" data-testid="response">{row.response_label()}</td>
            <td class="px-4 py-2 text-center">{row.attempt_count}</td>
            <td class="px-4 py-2 whitespace-nowrap">
                {match row.last_attempt_at {
                    Some(at) => view! { <RelativeTime at now /> }.into_any(),
                    None => view! { <span class="text-slate-400">"not yet"</span> }.into_any(),
                }}
            </td>
            <td class="px-4 py-2 text-right whitespace-nowrap">
                {failed.then(|| view! { <RetryForm id=row.id /> })}
                <a href=format!("{BASE}/{}", row.id) class="rounded px-2 py-1 text-indigo-600 hover:bg-indigo-50">"View"</a>
            </td>
        </tr>
    }
}

/// A plain form posting to the Retry server function: without wasm the server queues the
/// attempt and sends the browser back to the log; with it, the live log sends it in place.
#[component]
fn RetryForm(id: Uuid) -> impl IntoView {
    view! {
        <form method="post" action=RetryDelivery::url() class="inline" data-retry=id.to_string()>
            <input type="hidden" name="id" value=id.to_string() />
            <button type="submit" class="rounded px-2 py-1 font-medium text-red-700 hover:bg-red-100">"Retry"</button>
        </form>
    }
}
