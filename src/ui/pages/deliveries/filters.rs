//! The log's search and filter form: a plain GET form, rendered on the server. Without wasm it
//! submits like any form; the live log applies a changed select at once and the search on
//! Apply, without a page load.

use super::BASE;
use crate::domain::log_query::{CodeClass, LogFilters, LogQuery};
use crate::domain::time::local_minute;
use leptos::prelude::*;

const SELECT: &str = "rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300";

#[component]
pub fn FilterBar(query: LogQuery, choices: LogFilters) -> impl IntoView {
    let q = query;
    // The view's parts with no control in the form travel with it, so a change keeps them.
    let kept: Vec<_> = q
        .to_pairs()
        .into_iter()
        .filter(|(name, _)| ["sort", "dir"].contains(name))
        .collect();
    // The bounds as typed, in the zone they were typed in; the browser fills `tz` with its
    // own offset, so what the admin types next is read in their zone (UTC without wasm).
    let offset = q.tz.unwrap_or(0);
    let bound = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|t| local_minute(t, offset)).unwrap_or_default()
    };
    let (from, to) = (bound(q.from), bound(q.to));
    let tz = q.tz.map(|m| m.to_string()).unwrap_or_default();
    let status = q.status.map(|s| s.as_str().to_string());
    let endpoint = q.endpoint.map(|e| e.to_string());
    let code = q.code.map(|c| c.as_str().to_string());
    let statuses = [
        ("success", "Success"),
        ("failed", "Failed"),
        ("pending", "Pending"),
    ];
    let ranges = [
        ("1h", "Last hour"),
        ("24h", "Last 24 hours"),
        ("7d", "Last 7 days"),
        ("30d", "Last 30 days"),
    ];
    let categories: Vec<(String, String)> = categories(&choices.event_types)
        .into_iter()
        .map(|c| (format!("{c}.*"), format!("{c}.*")))
        .collect();
    let types: Vec<(String, String)> = choices
        .event_types
        .into_iter()
        .map(|t| (t.clone(), t))
        .collect();
    let endpoints: Vec<(String, String)> = choices
        .endpoints
        .into_iter()
        .map(|e| (e.id.to_string(), e.name))
        .collect();
    let codes: Vec<(String, String)> = CodeClass::ALL
        .into_iter()
        .map(|c| {
            let label = match c {
                CodeClass::NoResponse => "No response",
                other => other.as_str(),
            };
            (c.as_str().to_string(), label.to_string())
        })
        .collect();
    view! {
        <form method="GET" action=BASE class="mb-4 flex flex-wrap items-center gap-2" role="search" aria-label="Filter deliveries">
            <input
                type="search" name="q" value=q.search.clone().unwrap_or_default()
                placeholder="Search webhook name, URL, event type or event id"
                aria-label="Search"
                class="min-w-72 flex-1 rounded-md border-0 px-3 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-500"
            />
            <select name="status" aria-label="Status" class=SELECT>
                <option value="">"Any status"</option>
                <Options items=pairs(&statuses) current=status.clone() />
            </select>
            <select name="event" aria-label="Event type" class=SELECT>
                <option value="">"All events"</option>
                <optgroup label="Categories"><Options items=categories current=q.event.clone() /></optgroup>
                <optgroup label="Event types"><Options items=types current=q.event.clone() /></optgroup>
            </select>
            <select name="endpoint" aria-label="Webhook" class=SELECT>
                <option value="">"All webhooks"</option>
                <Options items=endpoints current=endpoint />
            </select>
            <select name="since" aria-label="Time range" class=SELECT>
                <option value="">"Any time"</option>
                <Options items=pairs(&ranges) current=q.since.clone() />
            </select>
            <label class="flex items-center gap-1 text-sm text-slate-600">"From"
                <input type="datetime-local" name="from" value=from aria-label="From" class=SELECT />
            </label>
            <label class="flex items-center gap-1 text-sm text-slate-600">"To"
                <input type="datetime-local" name="to" value=to aria-label="To" class=SELECT />
            </label>
            <input type="hidden" name="tz" value=tz />
            <select name="code" aria-label="Response code" class=SELECT>
                <option value="">"Any response"</option>
                <Options items=codes current=code />
            </select>
            {kept.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">"Apply"</button>
            {q.is_filtered().then(|| view! { <a href=BASE class="text-sm text-slate-600 hover:underline">"Clear"</a> })}
        </form>
    }
}

/// `<option>`s with the current value selected.
#[component]
fn Options(items: Vec<(String, String)>, current: Option<String>) -> impl IntoView {
    items
        .into_iter()
        .map(|(value, label)| {
            let selected = current.as_deref() == Some(value.as_str());
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(value, label)| (value.to_string(), label.to_string()))
        .collect()
}

/// `license` from `license.assigned`, once each, in order.
fn categories(types: &[String]) -> Vec<String> {
    let mut out: Vec<String> = types
        .iter()
        .filter_map(|t| t.split_once('.').map(|(c, _)| c.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}
