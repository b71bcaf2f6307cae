//! `/admin/webhooks/new` and `/admin/webhooks/:id`: the endpoint form (field errors from the
//! server next to each field), and for an existing endpoint its secret, state, test, recovery
//! and deletion. The page is rendered on the server; the editor is one island.

use crate::api::deliveries::filter_choices;
use crate::api::endpoints::{
    DeleteWebhook, SaveWebhook, SetWebhookEnabled, get_webhook, recover_count, recover_webhook,
    reveal_webhook_headers, reveal_webhook_secret, rotate_webhook_secret,
};
use crate::domain::endpoint::{EndpointForm, EndpointView};
use crate::domain::log_query::LogFilters;
use crate::domain::signing::SignatureScheme;
use crate::domain::time::exact;
use crate::error::AppError;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::form::{FieldMessage, TextArea};
use crate::ui::pages::alerts::AlertRulesSection;
use crate::ui::pages::webhooks::SendTest;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[component]
pub fn WebhookEditPage() -> impl IntoView {
    let id =
        use_params_map().with_untracked(|p| p.get("id").and_then(|s| Uuid::parse_str(&s).ok()));
    let endpoint = OnceResource::new(async move {
        match id {
            Some(id) => get_webhook(id).await.map(Some),
            None => Ok(None),
        }
    });
    let catalog = OnceResource::new(filter_choices());
    view! {
        <a href="/admin/webhooks" class="text-sm text-indigo-600 hover:underline">"← Webhooks"</a>
        <Suspense fallback=|| view! { <p class="mt-4 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let catalog = catalog.await.unwrap_or_default();
                match endpoint.await {
                    Ok(found) => {
                        let form = found.as_ref().map(EndpointView::to_form).unwrap_or_else(|| EndpointForm {
                            signature_scheme: "timestamped".into(),
                            ..EndpointForm::default()
                        });
                        let types = offered_types(catalog, &form.event_types);
                        let existing = found.as_ref().map(Existing::from);
                        let rules = found.as_ref().map(|e| view! { <AlertRulesSection id=e.id /> });
                        view! { <Editor existing form types />{rules} }.into_any()
                    }
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The catalog's active types, and any archived one this endpoint still subscribes to.
fn offered_types(catalog: LogFilters, subscribed: &[String]) -> Vec<String> {
    let archived = catalog.archived_event_types;
    catalog
        .event_types
        .into_iter()
        .filter(|t| !archived.contains(t) || subscribed.contains(t))
        .collect()
}

/// What the editor needs of an existing endpoint, decided on the server. (Not the whole
/// `EndpointView`: its dates and health figures would bring their decoders into the bundle.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Existing {
    id: Uuid,
    name: String,
    enabled: bool,
    /// "Enabled", or "Disabled — why".
    state: String,
    /// While a rotated secret's predecessor still signs: until when.
    rotation_note: Option<String>,
}

impl From<&EndpointView> for Existing {
    fn from(e: &EndpointView) -> Self {
        let state = match (e.enabled, &e.disabled_reason) {
            (true, _) => "Enabled".to_string(),
            (false, Some(reason)) => format!("Disabled — {reason}"),
            (false, None) => "Disabled".to_string(),
        };
        Existing {
            id: e.id,
            name: e.name.clone(),
            enabled: e.enabled,
            state,
            rotation_note: e
                .rotation_ends_at
                .map(|at| format!("Previous secret still signs until {}", exact(at))),
        }
    }
}

#[island]
fn Editor(existing: Option<Existing>, form: EndpointForm, types: Vec<String>) -> impl IntoView {
    let save = ServerAction::<SaveWebhook>::new();
    let is_new = existing.is_none();
    // A new endpoint continues on its own page; an edited one keeps the form as typed.
    Effect::new(move |_| {
        if let (Some(Ok(id)), true) = (save.value().get(), is_new) {
            let _ = window()
                .location()
                .set_href(&format!("/admin/webhooks/{id}"));
        }
    });
    let error = move |field: &'static str| {
        move || {
            save.value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(field))
        }
    };
    let other_error = move || match save.value().get() {
        Some(Err(AppError::Validation(_))) | None | Some(Ok(_)) => None,
        Some(Err(err)) => Some(err.to_string()),
    };
    let saved = move || matches!(save.value().get(), Some(Ok(_))) && !is_new;
    let title = existing
        .as_ref()
        .map(|e| format!("Edit {}", e.name))
        .unwrap_or_else(|| "New webhook".into());
    view! {
        <h1 class="mt-3 mb-4 text-xl font-semibold">{title}</h1>
        {existing.clone().map(|e| view! { <Manage endpoint=e /> })}
        <ActionForm action=save attr:class="max-w-3xl space-y-4 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:novalidate=true>
            {existing.as_ref().map(|e| view! { <input type="hidden" name="id" value=e.id.to_string() /> })}
            <Field label="Name" name="name" value=form.name.clone() error=Signal::derive(error("name")) />
            <Field label="URL" name="url" value=form.url.clone() error=Signal::derive(error("url")) hint="HTTPS endpoint that receives the POST requests" />
            <Field label="Description" name="description" value=form.description.clone() error=Signal::derive(error("description")) />
            <fieldset>
                <legend class="text-sm font-medium text-slate-700">"Event types"</legend>
                <p class="text-xs text-slate-500">"None selected: every event type."</p>
                <div class="mt-2 grid grid-cols-2 gap-1 sm:grid-cols-3">
                    {types.into_iter().map(|t| {
                        let checked = form.event_types.contains(&t);
                        view! {
                            <label class="flex items-center gap-2 text-sm">
                                <input type="checkbox" name="event_types[]" value=t.clone() checked=checked />
                                <span class="font-mono text-xs">{t.clone()}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <FieldMessage message=Signal::derive(error("event_types")) />
            </fieldset>
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"Custom headers"</span>
                <TextArea name="custom_headers" label="Custom headers" text=form.custom_headers.clone() placeholder="X-Tenant: acme"
                    class="mt-1 block w-full rounded-md px-3 py-2 font-mono text-sm ring-1 ring-slate-300" />
                <span class="text-xs text-slate-500">"One \"Name: value\" per line. Herald's own headers (signatures, Content-Type, User-Agent…) cannot be replaced. Values are kept encrypted and shown masked; a masked value left as it is keeps the stored one."</span>
                <FieldMessage message=Signal::derive(error("custom_headers")) />
            </label>
            {existing.as_ref().map(|e| view! { <RevealHeaders id=e.id /> })}
            <div class="grid gap-4 sm:grid-cols-2">
                <Field label="Retry schedule" name="retry_schedule" value=form.retry_schedule.clone() error=Signal::derive(error("retry_schedule")) hint="e.g. 1m,5m,25m — empty: the server's schedule" />
                <Field label="Timeout (ms)" name="timeout_ms" value=form.timeout_ms.clone() error=Signal::derive(error("timeout_ms")) hint="empty: 10000" />
                <Field label="Rate limit (requests/s)" name="rate_limit_per_sec" value=form.rate_limit_per_sec.clone() error=Signal::derive(error("rate_limit_per_sec")) hint="empty: no limit" />
                <Field label="Max in flight" name="max_in_flight" value=form.max_in_flight.clone() error=Signal::derive(error("max_in_flight")) hint="empty: no limit" />
            </div>
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"X-Webhook-Signature"</span>
                <select name="signature_scheme" aria-label="X-Webhook-Signature" class="mt-1 block rounded-md px-2 py-1.5 text-sm ring-1 ring-slate-300">
                    {SignatureScheme::ALL.into_iter().map(|s| {
                        let label = match s {
                            SignatureScheme::Timestamped => "HMAC of timestamp.body (hex)",
                            SignatureScheme::Body => "HMAC of the body (hex)",
                            SignatureScheme::Off => "Off (Standard Webhooks headers only)",
                        };
                        view! { <option value=s.as_str() selected=form.signature_scheme == s.as_str()>{label}</option> }
                    }).collect_view()}
                </select>
                <FieldMessage message=Signal::derive(error("signature_scheme")) />
            </label>
            {move || other_error().map(|m| view! { <p role="alert" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">{m}</p> })}
            <div class="flex items-center gap-3">
                <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60" disabled=move || save.pending().get()>
                    {if is_new { "Create webhook" } else { "Save changes" }}
                </button>
                {move || saved().then(|| view! { <span role="status" class="text-sm text-emerald-700">"Saved"</span> })}
            </div>
        </ActionForm>
    }
}

#[component]
fn Field(
    label: &'static str,
    name: &'static str,
    value: String,
    error: Signal<Option<String>>,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    view! {
        <label class="block">
            <span class="text-sm font-medium text-slate-700">{label}</span>
            <input type="text" name=name value=value aria-label=label aria-invalid=move || error.get().is_some().to_string()
                class="mt-1 block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 aria-[invalid=true]:ring-red-500" />
            {(!hint.is_empty()).then(|| view! { <span class="text-xs text-slate-500">{hint}</span> })}
            <FieldMessage message=error />
        </label>
    }
}

/// "Reveal values": the custom headers in clear, on an explicit (audited) click.
#[component]
fn RevealHeaders(id: Uuid) -> impl IntoView {
    let shown = RwSignal::new(None::<String>);
    let reveal = move |_| {
        spawn_local(async move {
            let text = match reveal_webhook_headers(id).await {
                Ok(text) if text.is_empty() => "No custom headers".to_string(),
                Ok(text) => text,
                Err(err) => err.to_string(),
            };
            shown.set(Some(text));
        })
    };
    view! {
        <div class="text-sm">
            <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50" on:click=reveal>"Reveal header values"</button>
            {move || shown.get().map(|text| view! {
                <pre class="mt-2 overflow-auto rounded bg-slate-100 p-2 text-xs" data-testid="revealed-headers">{text}</pre>
            })}
        </div>
    }
}

/// Secret, state, test, recovery and deletion of an existing endpoint.
#[component]
fn Manage(endpoint: Existing) -> impl IntoView {
    let id = endpoint.id;
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    // Enabling or disabling changes what the server shows about the endpoint: show it afresh.
    Effect::new(move |_| {
        if toggle.version().get() > 0 {
            let _ = window().location().reload();
        }
    });
    let secret = RwSignal::new(None::<String>);
    let secret_note = RwSignal::new(None::<String>);
    let reveal = move |_| {
        spawn_local(async move {
            match reveal_webhook_secret(id).await {
                Ok(s) => secret.set(Some(s)),
                Err(e) => secret_note.set(Some(e.to_string())),
            }
        })
    };
    let rotate = move |_| {
        spawn_local(async move {
            match rotate_webhook_secret(id).await {
                Ok(s) => {
                    secret.set(Some(s));
                    secret_note.set(Some(
                        "Rotated: the previous secret also signs for the next 24 hours.".into(),
                    ));
                }
                Err(e) => secret_note.set(Some(e.to_string())),
            }
        })
    };
    let confirm_delete = RwSignal::new(false);
    view! {
        <div class="mb-6 grid max-w-3xl gap-4 sm:grid-cols-2">
            <section class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" aria-label="Signing secret">
                <h2 class="mb-2 text-sm font-semibold">"Signing secret"</h2>
                <code class="block break-all rounded bg-slate-100 px-2 py-1 text-xs" data-testid="secret">
                    {move || secret.get().unwrap_or_else(|| "whsec_••••••••••••••••••••••••".into())}
                </code>
                {endpoint.rotation_note.map(|note| view! { <p class="mt-1 text-xs text-amber-700">{note}</p> })}
                <div class="mt-2 flex gap-2">
                    <button type="button" class="rounded px-2 py-1 text-sm ring-1 ring-slate-300 hover:bg-slate-50" on:click=reveal>"Reveal"</button>
                    <button type="button" class="rounded px-2 py-1 text-sm ring-1 ring-slate-300 hover:bg-slate-50" on:click=rotate>"Rotate"</button>
                </div>
                {move || secret_note.get().map(|n| view! { <p role="status" class="mt-2 text-xs text-slate-600">{n}</p> })}
            </section>
            <section class="space-y-2 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" aria-label="State">
                <h2 class="text-sm font-semibold">"State"</h2>
                <p class="text-sm" data-testid="webhook-state">
                    {endpoint.state}
                </p>
                <ActionForm action=toggle>
                    <input type="hidden" name="id" value=id.to_string() />
                    <input type="hidden" name="enabled" value=(!endpoint.enabled).to_string() />
                    <button type="submit" class="rounded px-2 py-1 text-sm ring-1 ring-slate-300 hover:bg-slate-50">
                        {if endpoint.enabled { "Disable" } else { "Enable" }}
                    </button>
                </ActionForm>
                <div class="text-sm"><SendTest id /></div>
                <Recover id />
                {move || if confirm_delete.get() {
                    view! {
                        <ActionForm action=delete attr:class="flex items-center gap-2 text-sm">
                            <input type="hidden" name="id" value=id.to_string() />
                            <span>"Delete this webhook? Its deliveries stay in the log."</span>
                            <button type="submit" class="rounded bg-red-600 px-2 py-1 text-white">"Delete"</button>
                            <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300" on:click=move |_| confirm_delete.set(false)>"Cancel"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! { <button type="button" class="rounded px-2 py-1 text-sm text-red-700 ring-1 ring-red-200 hover:bg-red-50" on:click=move |_| confirm_delete.set(true)>"Delete…"</button> }.into_any()
                }}
            </section>
        </div>
    }
}

/// "Recover": re-send failed deliveries since a time, with the count first.
#[component]
fn Recover(id: Uuid) -> impl IntoView {
    let since = RwSignal::new(String::new());
    let count = RwSignal::new(None::<i64>);
    let note = RwSignal::new(None::<String>);
    let check = move |_| {
        spawn_local(async move {
            match recover_count(id, since.get_untracked(), crate::ui::browser_offset()).await {
                Ok(n) => count.set(Some(n)),
                Err(e) => note.set(Some(e.to_string())),
            }
        })
    };
    let run = move |_| {
        spawn_local(async move {
            count.set(None);
            match recover_webhook(id, since.get_untracked(), crate::ui::browser_offset()).await {
                Ok(n) => note.set(Some(format!("{n} deliveries queued again"))),
                Err(e) => note.set(Some(e.to_string())),
            }
        })
    };
    view! {
        <div class="flex flex-wrap items-center gap-2 text-sm">
            <label class="flex items-center gap-1">"Recover failed since"
                <input type="datetime-local" class="rounded px-1 py-0.5 ring-1 ring-slate-300" aria-label="Recover since"
                    on:input=move |ev| since.set(event_target_value(&ev)) />
            </label>
            <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50" on:click=check>"Count"</button>
            {move || count.get().map(|n| view! {
                <span role="status">{format!("{n} failed")}</span>
                <button type="button" class="rounded bg-indigo-600 px-2 py-1 text-white" disabled=n == 0 on:click=run>"Re-send"</button>
            })}
            {move || note.get().map(|n| view! { <span role="status" class="text-slate-600">{n}</span> })}
        </div>
    }
}
