//! `/admin/webhook-deliveries`: the delivery log.

use crate::api::deliveries::list_deliveries;
use crate::domain::delivery::DeliveryRow;
use crate::domain::ids::event_ref;
use crate::domain::time::{exact, relative};
use crate::ui::components::status_badge::StatusBadge;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| list_deliveries());
    view! {
        <div class="mb-4 flex items-end justify-between">
            <div>
                <h1 class="text-xl font-semibold">"Webhook deliveries"</h1>
                <p class="text-sm text-slate-600">"Every event sent to your webhook endpoints, newest first."</p>
            </div>
            <button
                type="button"
                class="rounded-md bg-white px-3 py-1.5 text-sm ring-1 ring-slate-300 hover:bg-slate-50"
                on:click=move |_| page.refetch()
            >
                "Refresh"
            </button>
        </div>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading deliveries…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) if data.rows.is_empty() => view! { <EmptyLog /> }.into_any(),
                    Ok(data) => view! { <DeliveryTable rows=data.rows now=data.generated_at /> }.into_any(),
                    Err(err) => view! {
                        <p role="alert" class="rounded-md bg-red-50 p-4 text-red-700">{err.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EmptyLog() -> impl IntoView {
    view! {
        <div class="rounded-xl border border-dashed border-slate-300 bg-white p-12 text-center">
            <h2 class="font-medium">"No deliveries yet"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "When a producer publishes an event to an endpoint's event types, each delivery shows up here."
            </p>
        </div>
    }
}

#[component]
fn DeliveryTable(rows: Vec<DeliveryRow>, now: DateTime<Utc>) -> impl IntoView {
    view! {
        <div class="overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="delivery-table">
                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="px-4 py-2">"Webhook"</th>
                        <th class="px-4 py-2">"Event"</th>
                        <th class="px-4 py-2">"Status"</th>
                        <th class="px-4 py-2">"Response"</th>
                        <th class="px-4 py-2">"Attempts"</th>
                        <th class="px-4 py-2">"Attempted at"</th>
                        <th class="px-4 py-2 text-right">"Actions"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {rows.into_iter().map(|row| view! { <DeliveryLine row now /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeliveryLine(row: DeliveryRow, now: DateTime<Utc>) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let failed = row.status == crate::domain::delivery::DeliveryStatus::Failed;
    let attempted = row.last_attempt_at.unwrap_or(row.created_at);
    let event = event_ref(row.event_id);
    let event_for_details = event.clone();
    let next_retry = row.next_attempt_at.filter(|_| row.status.is_open()).map(|at| relative(at, now));
    view! {
        <tr class=if failed { "bg-red-50/60" } else { "" } data-testid="delivery-row" data-status=row.status.as_str()>
            <td class="px-4 py-2">
                <div class="font-medium">{row.endpoint_name.clone()}{row.endpoint_deleted.then_some(" (deleted)")}</div>
                <div class="max-w-xs truncate text-xs text-slate-500">{row.endpoint_url.clone()}</div>
            </td>
            <td class="px-4 py-2">
                <div class="font-mono text-xs">{row.event_type.clone()}</div>
                <div class="font-mono text-[11px] text-slate-400" title=event.clone()>{event}</div>
            </td>
            <td class="px-4 py-2">
                <StatusBadge status=row.status />
                {next_retry.map(|when| view! { <div class="mt-0.5 text-xs text-slate-500">"next retry " {when}</div> })}
            </td>
            <td class="px-4 py-2 font-mono text-xs">{row.response_label()}</td>
            <td class="px-4 py-2 text-center">{row.attempt_count}</td>
            <td class="px-4 py-2" title=exact(attempted)>{relative(attempted, now)}</td>
            <td class="px-4 py-2 text-right">
                <button
                    type="button"
                    class="rounded px-2 py-1 text-indigo-600 hover:bg-indigo-50"
                    aria-expanded=move || expanded.get().to_string()
                    on:click=move |_| expanded.update(|open| *open = !*open)
                >
                    {move || if expanded.get() { "Hide" } else { "Details" }}
                </button>
            </td>
        </tr>
        <Show when=move || expanded.get()>
            <tr data-testid="delivery-details">
                <td colspan="7" class="bg-slate-50 px-4 py-3 text-xs text-slate-700">
                    <dl class="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
                        <dt class="font-medium">"Delivery"</dt><dd class="font-mono">{row.id.to_string()}</dd>
                        <dt class="font-medium">"Event"</dt><dd class="font-mono">{event_for_details.clone()}</dd>
                        <dt class="font-medium">"Created"</dt><dd>{exact(row.created_at)}</dd>
                        <dt class="font-medium">"Last attempt"</dt><dd>{row.last_attempt_at.map(exact).unwrap_or_else(|| "not yet".into())}</dd>
                    </dl>
                </td>
            </tr>
        </Show>
    }
}
