//! `/admin/webhook-deliveries/:id`: what was sent and what came back, for every attempt, with
//! Retry. Payloads and response bodies are shown as text (escaped), never as HTML.

use crate::api::deliveries::{RetryDelivery, delivery_progress, load_delivery};
use crate::domain::delivery::{AttemptView, DeliveryDetail};
use crate::domain::ids::event_ref;
use crate::domain::time::relative;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::poll::poll_until;
use crate::ui::components::status_badge::StatusBadge;
use crate::ui::components::time::LocalTime;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;
use uuid::Uuid;

/// The route, rendered on the server. Only the Retry button and the copy buttons are islands.
#[component]
pub fn DeliveryDetailPage() -> impl IntoView {
    let id =
        use_params_map().with_untracked(|p| p.get("id").and_then(|s| Uuid::parse_str(&s).ok()));
    let detail = OnceResource::new(async move {
        match id {
            Some(id) => load_delivery(id).await,
            None => Err(crate::error::AppError::NotFound("Delivery".into())),
        }
    });
    view! {
        <a href="/admin/webhook-deliveries" class="text-sm text-indigo-600 hover:underline">"← Delivery log"</a>
        <Suspense fallback=|| view! { <p class="mt-4 text-slate-500">"Loading delivery…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(data) => view! { <Detail data /> }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Retry: queues a manual attempt. While an attempt is due (just queued, or an automatic retry
/// in the next seconds) it checks the delivery every second and reloads the page once the new
/// attempt is recorded, so the page always shows what the server has.
#[island]
fn RetryButton(id: Uuid, waiting: bool, attempts: i64) -> impl IntoView {
    let retry = ServerAction::<RetryDelivery>::new();
    // Waiting for an attempt: one was due when the page was drawn, or Retry just queued one.
    let busy = move || waiting || retry.value().get().is_some_and(|r| r.is_ok());
    Effect::new(move |_| {
        if busy() {
            reload_after_next_attempt(id, attempts);
        }
    });
    let error = move || {
        retry
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <ActionForm action=retry>
            <input type="hidden" name="id" value=id.to_string() />
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60"
                disabled=move || busy() || retry.pending().get()>
                {move || if busy() { "Retrying…" } else { "Retry" }}
            </button>
            {move || error().map(|e| view! { <span role="alert" class="ml-2 text-sm text-red-700">{e}</span> })}
        </ActionForm>
    }
}

/// Checks the delivery every second (for up to a minute) until it has more than `attempts`
/// attempts or no attempt is due any more, then reloads the page.
fn reload_after_next_attempt(id: Uuid, attempts: i64) {
    poll_until(Duration::from_secs(1), 60, move || async move {
        let settled = delivery_progress(id)
            .await
            .is_ok_and(|p| p.attempts > attempts || !p.due);
        if settled {
            let _ = window().location().reload();
        }
        settled
    });
}

#[component]
fn Detail(data: DeliveryDetail) -> impl IntoView {
    let waiting = data.attempt_due();
    let d = data.delivery.clone();
    let now = data.generated_at;
    let latest = data.attempts.last().cloned();
    view! {
        <div class="mt-3 mb-6 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-xl font-semibold">
                    <span class="font-mono">{d.event_type.clone()}</span>
                    <span>{format!(" → {}", d.endpoint_name)}</span>
                </h1>
                <p class="mt-1 text-sm text-slate-600">
                    <span class="font-mono">{event_ref(d.event_id)}</span>
                    <span>" · created "<LocalTime at=d.created_at /></span>
                </p>
            </div>
            <div class="flex items-center gap-3">
                <span data-testid="delivery-status"><StatusBadge status=d.status /></span>
                <span class="text-sm text-slate-600">
                    {d.next_attempt_at.filter(|_| d.status.is_open() && d.attempt_count > 0).map(|at| format!("next retry {}", relative(at, now))).unwrap_or_default()}
                </span>
                <RetryButton id=d.id waiting attempts=data.attempts.len() as i64 />
            </div>
        </div>
        <div class="grid gap-6 lg:grid-cols-2">
            <section class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" aria-labelledby="request-heading">
                <h2 id="request-heading" class="mb-3 font-semibold">"Request"</h2>
                <p class="mb-3 break-all font-mono text-sm"><span class="font-semibold">"POST "</span>{latest.as_ref().map(|a| a.request_url.clone()).unwrap_or(d.endpoint_url.clone())}</p>
                {latest.as_ref().map(|a| view! { <Headers title="Headers" headers=a.request_headers.clone() testid="request-headers".to_string() /> })}
                <h3 class="mt-4 mb-1 text-sm font-medium text-slate-700">"Payload"</h3>
                <CodeBlock text=data.body_pretty.clone() copy=data.body.clone() testid="payload".to_string() />
            </section>
            <section class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" aria-labelledby="response-heading">
                <h2 id="response-heading" class="mb-3 font-semibold">"Response"</h2>
                {match latest.clone() {
                    Some(attempt) => view! { <Response attempt /> }.into_any(),
                    None => view! { <p class="text-sm text-slate-600">"Not attempted yet."</p> }.into_any(),
                }}
            </section>
        </div>
        <section class="mt-6 rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200" aria-labelledby="attempts-heading">
            <h2 id="attempts-heading" class="mb-3 font-semibold">{format!("Attempts ({})", data.attempts.len())}</h2>
            <ol class="space-y-3" data-testid="attempts">
                {data.attempts.iter().rev().cloned().map(|a| view! { <AttemptItem attempt=a now /> }).collect_view()}
            </ol>
        </section>
    }
}

/// What came back from one attempt. `in_timeline`: inside an attempt of the timeline (its own
/// test ids, so the page's latest response stays unambiguous).
#[component]
fn Response(attempt: AttemptView, #[prop(optional)] in_timeline: bool) -> impl IntoView {
    let id = move |name: &'static str| {
        if in_timeline {
            format!("attempt-{name}")
        } else {
            name.to_string()
        }
    };
    let pretty = attempt
        .response_body
        .as_deref()
        .filter(|_| !attempt.response_body_binary)
        .map(pretty_if_json)
        .or_else(|| attempt.response_body.clone())
        .unwrap_or_default();
    let raw = attempt.response_body.clone().unwrap_or_default();
    view! {
        <dl class="mb-3 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
            <dt class="text-slate-500">"Status"</dt>
            <dd data-testid=id("response-status") class="font-mono">{attempt.response_status.map(|s| s.to_string()).unwrap_or_else(|| "no response".into())}</dd>
            <dt class="text-slate-500">"Duration"</dt><dd>{format!("{} ms", attempt.duration_ms)}</dd>
            {attempt.error_class.clone().map(|class| view! {
                <dt class="text-slate-500">"Failure"</dt>
                <dd data-testid=id("failure")><span class="font-mono text-red-700">{class}</span><span>{format!(" {}", attempt.error_message.clone().unwrap_or_default())}</span></dd>
            })}
        </dl>
        {(!attempt.response_headers.is_empty()).then(|| view! { <Headers title="Headers" headers=attempt.response_headers.clone() testid=id("response-headers") /> })}
        {attempt.response_body.is_some().then(|| view! {
            <h3 class="mt-4 mb-1 text-sm font-medium text-slate-700">
                <span>"Body"</span>{attempt.response_body_truncated.then(|| view! { <span class="ml-2 rounded bg-amber-100 px-1.5 text-xs text-amber-800">"truncated at 64 KiB"</span> })}
                {attempt.response_body_binary.then(|| view! { <span class="ml-2 rounded bg-slate-100 px-1.5 text-xs text-slate-700" data-testid=id("binary-body")>"not plain text: bytes shown as \\xNN, control characters as \\u{…}"</span> })}
            </h3>
            <CodeBlock text=pretty.clone() copy=raw.clone() testid=id("response-body") />
        })}
    }
}

fn pretty_if_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

#[component]
fn Headers(title: &'static str, headers: Vec<(String, String)>, testid: String) -> impl IntoView {
    view! {
        <h3 class="mb-1 text-sm font-medium text-slate-700">{title}</h3>
        <table class="w-full text-xs" data-testid=testid>
            <tbody>
                {headers.into_iter().map(|(name, value)| view! {
                    <tr class="align-top">
                        <td class="py-0.5 pr-3 font-mono whitespace-nowrap text-slate-500">{name}</td>
                        <td class="py-0.5 font-mono break-all">{value}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Preformatted text with a copy button (the copy puts the exact bytes on the clipboard).
#[component]
fn CodeBlock(text: String, copy: String, testid: String) -> impl IntoView {
    view! {
        <div class="relative">
            <CopyButton text=copy />
            <pre class="max-h-96 overflow-auto rounded-lg bg-slate-900 p-3 text-xs text-slate-100" data-testid=testid><code>{text}</code></pre>
        </div>
    }
}

#[island]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&text);
        copied.set(true);
    };
    view! {
        <button type="button" class="absolute top-2 right-2 rounded bg-white/90 px-2 py-0.5 text-xs ring-1 ring-slate-300 hover:bg-white" on:click=on_copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

#[component]
fn AttemptItem(attempt: AttemptView, now: DateTime<Utc>) -> impl IntoView {
    let ok = attempt.succeeded();
    let result = match (attempt.response_status, &attempt.error_class) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(class)) => class.clone(),
        (None, None) => "—".to_string(),
    };
    let who = match (&attempt.triggered_by, attempt.trigger.as_str()) {
        (Some(email), trigger) => format!("{trigger} by {email}"),
        (None, trigger) => trigger.to_string(),
    };
    view! {
        <li class="flex items-start gap-3" data-testid="attempt" data-result=if ok { "success" } else { "failure" }>
            <span class=if ok { "mt-1.5 h-2.5 w-2.5 rounded-full bg-emerald-500" } else { "mt-1.5 h-2.5 w-2.5 rounded-full bg-red-500" }></span>
            <div class="text-sm">
                <div>
                    <span class="font-medium">{format!("#{}", attempt.attempt_number)}</span>
                    <span class="font-mono">{format!(" · {result} · {} ms · ", attempt.duration_ms)}</span>
                    <span data-testid="trigger">{who}</span>
                </div>
                <div class="text-xs text-slate-500">{format!("{} · ", relative(attempt.started_at, now))}<LocalTime at=attempt.started_at /></div>
                {attempt.error_message.clone().filter(|_| !ok).map(|m| view! { <div class="text-xs text-red-700">{m}</div> })}
                <details class="mt-1" data-testid="attempt-details">
                    <summary class="cursor-pointer text-xs text-indigo-700">"Request and response"</summary>
                    <div class="mt-2 grid gap-4 rounded-lg bg-slate-50 p-3 lg:grid-cols-2">
                        <div>
                            <p class="mb-2 break-all font-mono text-xs"><span class="font-semibold">"POST "</span>{attempt.request_url.clone()}</p>
                            <Headers title="Request headers" headers=attempt.request_headers.clone() testid="attempt-request-headers".to_string() />
                        </div>
                        <div><Response attempt=attempt.clone() in_timeline=true /></div>
                    </div>
                </details>
            </div>
        </li>
    }
}
