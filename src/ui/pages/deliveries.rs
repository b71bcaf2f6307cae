//! `/admin/webhook-deliveries`: the delivery log. The URL query string is the whole view
//! (search, filters, sort, cursor). The filter form is a plain GET form, so it works before
//! the wasm loads; once the log's island is live, filter changes show the new view without a
//! page load (the address bar and history follow), the first page refreshes itself every few
//! seconds (keeping the rows in place and offering the newer ones), and failed deliveries can
//! be retried one by one or all at once.

use crate::api::deliveries::{
    LogFilters, RetryDelivery, delivery_log, filter_choices, newer_count,
};
use crate::domain::delivery::{DeliveryRow, DeliveryStatus};
use crate::domain::ids::event_ref;
use crate::domain::log_query::{CodeClass, Direction, LogPage, LogQuery, SortKey};
use crate::domain::time::{exact, relative};
use crate::ui::components::bulk_retry::BulkRetry;
use crate::ui::components::status_badge::StatusBadge;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::time::Duration;
use uuid::Uuid;

const BASE: &str = "/admin/webhook-deliveries";

fn link(query: &LogQuery) -> String {
    format!("{BASE}{}", query.to_query_string())
}

/// The route (rendered on the server): hands the request's view to the log's island.
#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let view = use_query_map().with_untracked(|p| {
        LogQuery::from_pairs(p.into_iter().map(|(k, v)| (k.as_ref(), v))).to_query_string()
    });
    view! { <DeliveryLog view /> }
}

/// The whole log, live in the browser. `view` is the query string it starts from.
#[island]
fn DeliveryLog(view: String) -> impl IntoView {
    let location = RwSignal::new(view);
    follow_history(location);
    let query = Memo::new(move |_| location.with(|v| LogQuery::from_query_string(v)));
    let view_string = Memo::new(move |_| query.with(LogQuery::to_query_string));
    // Live refresh: re-read the page at or below its top row, so rows never jump.
    let anchor = RwSignal::new(None::<Uuid>);
    Effect::new(move |_| {
        view_string.track();
        anchor.set(None);
    });
    let page = Resource::new(
        move || (view_string.get(), anchor.get()),
        |(view, anchor)| delivery_log(view, anchor),
    );
    let filters = Resource::new(|| (), |_| filter_choices());
    let newer = RwSignal::new(0i64);
    let retry = ServerAction::<RetryDelivery>::new();
    Effect::new(move |_| {
        if retry.version().get() > 0 {
            page.refetch();
        }
    });
    live_refresh(query, view_string, page, anchor, newer);

    view! {
        <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
            <div>
                <h1 class="text-xl font-semibold">"Webhook deliveries"</h1>
                <p class="text-sm text-slate-600">"Every event sent to your webhook endpoints, with each attempt's request and response."</p>
            </div>
            <BulkRetry view=view_string on_done=Callback::new(move |_| page.refetch()) />
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let choices = filters.await.unwrap_or(LogFilters { event_types: Vec::new(), endpoints: Vec::new() });
                view! { <FilterBar query location choices /> }
            })}
        </Transition>
        <Show when=move || { newer.get() > 0 }>
            <button
                type="button"
                data-testid="newer-deliveries"
                class="mb-3 w-full rounded-md bg-indigo-50 px-3 py-2 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-100"
                on:click=move |_| {
                    newer.set(0);
                    anchor.set(None);
                    page.refetch();
                }
            >
                {move || {
                    let n = newer.get();
                    let label = if n >= 1000 { "1000+".to_string() } else { n.to_string() };
                    format!("{label} newer {} — show", if n == 1 { "delivery" } else { "deliveries" })
                }}
            </button>
        </Show>
        <Transition fallback=|| view! { <LoadingRows /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) if data.rows.is_empty() => view! { <EmptyLog filtered=query.with_untracked(LogQuery::is_filtered) /> }.into_any(),
                    Ok(data) => view! { <DeliveryTable data query=query.get_untracked() retry /> }.into_any(),
                    Err(err) => view! {
                        <p role="alert" class="rounded-md bg-red-50 p-4 text-red-700">{format!("The log could not be loaded: {err}")}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Shows another view of the log without a page load; the address bar and history follow.
fn show(location: RwSignal<String>, next: &LogQuery) {
    let view = next.to_query_string();
    #[cfg(feature = "hydrate")]
    if let Ok(history) = window().history() {
        let url = if view.is_empty() {
            BASE.to_string()
        } else {
            link(next)
        };
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
    location.set(view);
}

/// Back and Forward between views shown by `show` change the view, not the page.
fn follow_history(location: RwSignal<String>) {
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::popstate, move |_| {
            location.set(window().location().search().unwrap_or_default());
        });
        on_cleanup(move || handle.remove());
    });
}

/// Every 5 s (after hydration, while the tab is visible): refresh the rows in place and count
/// newer deliveries. Only the newest-first first page grows at the top; other views just refresh.
fn live_refresh(
    query: Memo<LogQuery>,
    view_string: Memo<String>,
    page: Resource<Result<LogPage, crate::error::AppError>>,
    anchor: RwSignal<Option<Uuid>>,
    newer: RwSignal<i64>,
) {
    Effect::new(move |_| {
        let tick = move || {
            let top = page
                .get_untracked()
                .and_then(|r| r.ok())
                .and_then(|p| p.rows.first().map(|r| r.id));
            let live_top = query.with_untracked(|q| q.cursor.is_none() && q.is_newest_first());
            match (live_top, top) {
                (true, Some(top)) => {
                    anchor.set(Some(top));
                    page.refetch();
                    let view = view_string.get_untracked();
                    leptos::task::spawn_local(async move {
                        if let Ok(count) = newer_count(view, top).await {
                            newer.try_set(count);
                        }
                    });
                }
                _ => page.refetch(),
            }
        };
        let handle = set_interval_with_handle(tick, Duration::from_secs(5)).ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
}

#[component]
fn FilterBar(
    query: Memo<LogQuery>,
    location: RwSignal<String>,
    choices: LogFilters,
) -> impl IntoView {
    // After hydration a changed select applies at once and Apply submits the search without a
    // page load; without wasm the form is an ordinary GET form.
    let on_select = move |field: &'static str| {
        move |ev: leptos::ev::Event| {
            let mut next = query.get_untracked();
            set_field(&mut next, field, &event_target_value(&ev));
            show(location, &next.first_page());
        }
    };
    // The form follows the view (Back and Forward change it without drawing the form again):
    // each control's current value is a property, not just the server-rendered `selected`.
    let current =
        move |field: fn(&LogQuery) -> Option<String>| move || query.with(field).unwrap_or_default();
    let search_box = NodeRef::<leptos::html::Input>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = search_box
            .get()
            .map(|input| input.value())
            .unwrap_or_default();
        let mut next = query.get_untracked();
        set_field(&mut next, "q", &typed);
        show(location, &next.first_page());
    };
    let q = query.get_untracked();
    let categories = categories(&choices.event_types);
    let select_class = "rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300";
    let selected = |current: Option<String>, value: &str| current.as_deref() == Some(value);
    view! {
        <form method="GET" action=BASE class="mb-4 flex flex-wrap items-center gap-2" role="search" aria-label="Filter deliveries" on:submit=on_submit>
            <input
                type="search" name="q" value=q.search.clone().unwrap_or_default()
                prop:value=current(|q| q.search.clone())
                node_ref=search_box
                placeholder="Search webhook name, URL, event type or event id"
                aria-label="Search"
                class="min-w-72 flex-1 rounded-md border-0 px-3 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-500"
            />
            <select name="status" aria-label="Status" class=select_class on:change=on_select("status")
                prop:value=current(|q| q.status.map(|s| s.as_str().to_string()))>
                <option value="">"Any status"</option>
                {[("success", "Success"), ("failed", "Failed"), ("pending", "Pending")].into_iter().map(|(value, label)| {
                    view! { <option value=value selected=selected(q.status.map(|s| s.as_str().to_string()), value)>{label}</option> }
                }).collect_view()}
            </select>
            <select name="event" aria-label="Event type" class=select_class on:change=on_select("event")
                prop:value=current(|q| q.event.clone())>
                <option value="">"All events"</option>
                <optgroup label="Categories">
                    {categories.into_iter().map(|c| {
                        let value = format!("{c}.*");
                        let is = selected(q.event.clone(), &value);
                        view! { <option value=value.clone() selected=is>{value.clone()}</option> }
                    }).collect_view()}
                </optgroup>
                <optgroup label="Event types">
                    {choices.event_types.into_iter().map(|t| {
                        let is = selected(q.event.clone(), &t);
                        view! { <option value=t.clone() selected=is>{t.clone()}</option> }
                    }).collect_view()}
                </optgroup>
            </select>
            <select name="endpoint" aria-label="Webhook" class=select_class on:change=on_select("endpoint")
                prop:value=current(|q| q.endpoint.map(|e| e.to_string()))>
                <option value="">"All webhooks"</option>
                {choices.endpoints.into_iter().map(|(id, name)| {
                    let is = q.endpoint == Some(id);
                    view! { <option value=id.to_string() selected=is>{name}</option> }
                }).collect_view()}
            </select>
            <select name="since" aria-label="Time range" class=select_class on:change=on_select("since")
                prop:value=current(|q| q.since.clone())>
                <option value="">"Any time"</option>
                {[("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days")].into_iter().map(|(value, label)| {
                    view! { <option value=value selected=selected(q.since.clone(), value)>{label}</option> }
                }).collect_view()}
            </select>
            <select name="code" aria-label="Response code" class=select_class on:change=on_select("code")
                prop:value=current(|q| q.code.map(|c| c.as_str().to_string()))>
                <option value="">"Any response"</option>
                {CodeClass::ALL.into_iter().map(|c| {
                    let label = if c == CodeClass::NoResponse { "No response".to_string() } else { c.as_str().to_string() };
                    view! { <option value=c.as_str() selected=q.code == Some(c)>{label}</option> }
                }).collect_view()}
            </select>
            {(q.sort != SortKey::Time).then(|| view! { <input type="hidden" name="sort" value=q.sort.as_str() /> })}
            {(q.dir == Direction::Asc).then(|| view! { <input type="hidden" name="dir" value="asc" /> })}
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">"Apply"</button>
            {q.is_filtered().then(|| view! { <a href=BASE class="text-sm text-slate-600 hover:underline">"Clear"</a> })}
        </form>
    }
}

fn set_field(query: &mut LogQuery, field: &str, value: &str) {
    let mut pairs = query.to_pairs();
    pairs.retain(|(k, _)| *k != field);
    if !value.is_empty() {
        pairs.push((leak_key(field), value.to_string()));
    }
    *query = LogQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
}

fn leak_key(field: &str) -> &'static str {
    [
        "q", "status", "event", "endpoint", "since", "code", "sort", "dir",
    ]
    .into_iter()
    .find(|k| *k == field)
    .unwrap_or("q")
}

/// `license` from `license.assigned`, once each.
fn categories(types: &[String]) -> Vec<String> {
    let mut out: Vec<String> = types
        .iter()
        .filter_map(|t| t.split_once('.').map(|(c, _)| c.to_string()))
        .collect();
    out.dedup();
    out.sort();
    out.dedup();
    out
}

#[component]
fn LoadingRows() -> impl IntoView {
    view! {
        <div class="animate-pulse space-y-2 rounded-xl bg-white p-4 ring-1 ring-slate-200" aria-busy="true" aria-label="Loading deliveries">
            {(0..6).map(|_| view! { <div class="h-8 rounded bg-slate-100"></div> }).collect_view()}
        </div>
    }
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
fn DeliveryTable(
    data: LogPage,
    query: LogQuery,
    retry: ServerAction<RetryDelivery>,
) -> impl IntoView {
    let now = data.generated_at;
    let newer = data.prev.clone().map(|c| {
        link(&LogQuery {
            cursor: Some(c),
            ..query.clone()
        })
    });
    let older = data.next.clone().map(|c| {
        link(&LogQuery {
            cursor: Some(c),
            ..query.clone()
        })
    });
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
                    {data.rows.into_iter().map(|row| view! { <DeliveryLine row now retry /> }).collect_view()}
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
    let arrow = match (active, dir) {
        (false, _) => "",
        (true, Direction::Asc) => " ↓",
        (true, Direction::Desc) => " ↑",
    };
    let sorted = if active {
        if dir == Direction::Asc {
            "descending"
        } else {
            "ascending"
        }
    } else {
        "none"
    };
    view! { <a href=href class="hover:text-slate-900" aria-sort=sorted data-testid=format!("sort-{}", key.as_str())>{label}{arrow}</a> }
}

#[component]
fn DeliveryLine(
    row: DeliveryRow,
    now: DateTime<Utc>,
    retry: ServerAction<RetryDelivery>,
) -> impl IntoView {
    let failed = row.status == DeliveryStatus::Failed;
    let attempted = row.last_attempt_at;
    let event = event_ref(row.event_id);
    let next_retry = row
        .next_attempt_at
        .filter(|_| row.status.is_open() && row.attempt_count > 0)
        .map(|at| relative(at, now));
    let detail = format!("{BASE}/{}", row.id);
    let id = row.id;
    view! {
        <tr class=if failed { "bg-red-50/70" } else { "" } data-testid="delivery-row" data-status=row.status.as_str() data-id=row.id.to_string()>
            <td class="px-4 py-2">
                <div class="font-medium">{format!("{}{}", row.endpoint_name, if row.endpoint_deleted { " (deleted)" } else { "" })}</div>
                <div class="max-w-xs truncate text-xs text-slate-500" title=row.endpoint_url.clone()>{row.endpoint_url.clone()}</div>
            </td>
            <td class="px-4 py-2">
                <div class="font-mono text-xs">{row.event_type.clone()}</div>
                <div class="font-mono text-[11px] text-slate-400" title=event.clone()>{event.clone()}</div>
            </td>
            <td class="px-4 py-2">
                <StatusBadge status=row.status />
                // Always present (empty when there is no retry) so server and browser render the
                // same structure.
                <div class="mt-0.5 text-xs text-slate-500">{next_retry.map(|when| format!("next retry {when}")).unwrap_or_default()}</div>
            </td>
            <td class="px-4 py-2 font-mono text-xs" data-testid="response">{row.response_label()}</td>
            <td class="px-4 py-2 text-center">{row.attempt_count}</td>
            <td class="px-4 py-2 whitespace-nowrap">
                {match attempted {
                    Some(at) => view! { <span title=exact(at)>{relative(at, now)}</span> }.into_any(),
                    None => view! { <span class="text-slate-400">"not yet"</span> }.into_any(),
                }}
            </td>
            <td class="px-4 py-2 text-right whitespace-nowrap">
                {failed.then(|| view! {
                    <ActionForm action=retry attr:class="inline">
                        <input type="hidden" name="id" value=id.to_string() />
                        <button type="submit" class="rounded px-2 py-1 font-medium text-red-700 hover:bg-red-100">"Retry"</button>
                    </ActionForm>
                })}
                <a href=detail class="rounded px-2 py-1 text-indigo-600 hover:bg-indigo-50">"View"</a>
            </td>
        </tr>
    }
}
