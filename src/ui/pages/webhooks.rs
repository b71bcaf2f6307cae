//! `/admin/webhooks`: endpoints with their health; send a test event from the list. The page
//! is rendered on the server; each row's "Send test" is an island.

use crate::api::endpoints::{delivery_outcome, list_webhooks, send_webhook_test};
use crate::domain::endpoint::{EndpointView, Health};
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::poll::poll_until;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use uuid::Uuid;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let endpoints = OnceResource::new(list_webhooks());
    view! {
        <div class="mb-4 flex items-end justify-between">
            <div>
                <h1 class="text-xl font-semibold">"Webhooks"</h1>
                <p class="text-sm text-slate-600">"Endpoints Herald delivers to, with their health over the last day and week."</p>
            </div>
            <a href="/admin/webhooks/new" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">"New webhook"</a>
        </div>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading webhooks…"</p> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="rounded-xl border border-dashed border-slate-300 bg-white p-12 text-center">
                            <h2 class="font-medium">"No webhooks yet"</h2>
                            <p class="mt-1 text-sm text-slate-600">"Add an endpoint URL and Herald will sign and deliver your events to it."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
                            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="webhook-table">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr>
                                        <th class="px-4 py-2">"Webhook"</th>
                                        <th class="px-4 py-2">"Events"</th>
                                        <th class="px-4 py-2">"State"</th>
                                        <th class="px-4 py-2">"Last 24 h"</th>
                                        <th class="px-4 py-2">"Last 7 days"</th>
                                        <th class="px-4 py-2">"Attempts per hour"</th>
                                        <th class="px-4 py-2 text-right">"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|e| view! { <WebhookRow endpoint=e /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WebhookRow(endpoint: EndpointView) -> impl IntoView {
    let types = if endpoint.event_types.is_empty() {
        "All events".to_string()
    } else {
        endpoint.event_types.join(", ")
    };
    let edit = format!("/admin/webhooks/{}", endpoint.id);
    view! {
        <tr data-testid="webhook-row" data-name=endpoint.name.clone()>
            <td class="px-4 py-2">
                <a href=edit.clone() class="font-medium text-indigo-700 hover:underline">{endpoint.name.clone()}</a>
                <div class="max-w-xs truncate text-xs text-slate-500">{endpoint.url.clone()}</div>
            </td>
            <td class="max-w-48 px-4 py-2 text-xs">{types}</td>
            <td class="px-4 py-2 text-xs">
                {if endpoint.enabled {
                    view! { <span class="rounded bg-emerald-50 px-1.5 py-0.5 text-emerald-700" data-testid="webhook-state">"Enabled"</span> }.into_any()
                } else {
                    view! {
                        <span class="rounded bg-slate-100 px-1.5 py-0.5 text-slate-700" data-testid="webhook-state">"Disabled"</span>
                        {endpoint.disabled_reason.clone().map(|r| view! { <div class="mt-1 max-w-48 text-red-700">{r}</div> })}
                    }.into_any()
                }}
            </td>
            <td class="px-4 py-2 text-xs"><HealthCell health=endpoint.day.clone() /></td>
            <td class="px-4 py-2 text-xs"><HealthCell health=endpoint.week.clone() /></td>
            <td class="px-4 py-2"><Sparkline hourly=endpoint.hourly.clone() /></td>
            <td class="px-4 py-2 text-right whitespace-nowrap"><TestButton id=endpoint.id /></td>
        </tr>
    }
}

#[component]
fn HealthCell(health: Health) -> impl IntoView {
    match health.success_rate() {
        None => view! { <span class="text-slate-400">"no traffic"</span> }.into_any(),
        Some(rate) => {
            let latency = match (health.p50_ms, health.p95_ms) {
                (Some(p50), Some(p95)) => format!("p50 ≤ {p50} ms · p95 ≤ {p95} ms"),
                _ => String::new(),
            };
            view! {
                <div class=if rate < 90.0 { "font-medium text-red-700" } else { "font-medium" }>{format!("{rate:.1} % ok")}</div>
                <div class="text-slate-500">{format!("{} failed of {}", health.failed, health.failed + health.succeeded)}</div>
                <div class="text-slate-500">{latency}</div>
            }.into_any()
        }
    }
}

/// 24 bars, one an hour: height = attempts, red part = failures.
#[component]
fn Sparkline(hourly: Vec<(i64, i64)>) -> impl IntoView {
    let peak = hourly.iter().map(|(s, f)| s + f).max().unwrap_or(0).max(1) as f64;
    view! {
        <svg width="96" height="24" viewBox="0 0 96 24" role="img" aria-label="Attempts per hour, last 24 hours">
            {hourly.into_iter().enumerate().map(|(i, (ok, bad))| {
                let x = (i * 4) as f64;
                let total = (ok + bad) as f64 / peak * 24.0;
                let failed = bad as f64 / peak * 24.0;
                view! {
                    <rect x=x y=24.0 - total width="3" height=total - failed fill="#a5b4fc"></rect>
                    <rect x=x y=24.0 - failed width="3" height=failed fill="#ef4444"></rect>
                }
            }).collect_view()}
        </svg>
    }
}

#[island]
fn TestButton(id: Uuid) -> impl IntoView {
    view! { <SendTest id /> }
}

/// Sends `webhook.test` and shows the outcome inline, with a link to the delivery.
#[component]
pub fn SendTest(id: Uuid) -> impl IntoView {
    let delivery = RwSignal::new(None::<Uuid>);
    let outcome = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let send = move |_| {
        outcome.set(None);
        error.set(None);
        spawn_local(async move {
            match send_webhook_test(id).await {
                Ok(sent) => {
                    delivery.set(Some(sent));
                    follow_outcome(sent, outcome);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <span class="inline-flex items-center gap-2" data-testid="test-result">
            {move || delivery.get().map(|d| view! {
                <a href=format!("/admin/webhook-deliveries/{d}") class="font-mono text-xs text-indigo-700 hover:underline">
                    {move || outcome.get().unwrap_or_else(|| "sending…".into())}
                </a>
            })}
            {move || error.get().map(|e| view! { <span role="alert" class="text-xs text-red-700">{e}</span> })}
            <button type="button" class="rounded px-2 py-1 text-indigo-600 hover:bg-indigo-50" on:click=send>"Send test"</button>
        </span>
    }
}

/// Asks for the test delivery's outcome twice a second, for up to 15 seconds.
fn follow_outcome(delivery: Uuid, outcome: RwSignal<Option<String>>) {
    poll_until(Duration::from_millis(500), 30, move || async move {
        match delivery_outcome(delivery).await {
            Ok(Some(result)) => {
                outcome.try_set(Some(result));
                true
            }
            _ => false,
        }
    });
}
