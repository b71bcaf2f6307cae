//! `/admin/alerts`: open alerts and recently resolved ones; and, on an endpoint's page, the
//! form for its alert rules. Both are plain server HTML (the rules form posts without the
//! wasm and comes back to the page).

use crate::api::alerts::{SaveAlertRules, get_alert_rules, list_alerts};
use crate::domain::alert::{AlertRulesForm, AlertView};
use crate::error::AppError;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::time::LocalTime;
use leptos::prelude::*;
use uuid::Uuid;

/// Resolved alerts shown below the open ones.
const RECENT: i64 = 100;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let alerts = OnceResource::new(list_alerts(RECENT));
    view! {
        <h1 class="text-xl font-semibold">"Alerts"</h1>
        <p class="mb-4 text-sm text-slate-600">"Each alert rule fires once when it starts holding and once when it recovers. Change an endpoint's rules on its page."</p>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-slate-600" data-testid="no-alerts">"No alert has fired."</p> }.into_any(),
                    Ok(list) => view! { <AlertTable list /> }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AlertTable(list: Vec<AlertView>) -> impl IntoView {
    view! {
        <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="alert-table">
            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                <tr><th class="px-4 py-2">"State"</th><th class="px-4 py-2">"Endpoint"</th><th class="px-4 py-2">"Rule"</th><th class="px-4 py-2">"What held"</th><th class="px-4 py-2">"Since"</th><th class="px-4 py-2">"Ended"</th></tr>
            </thead>
            <tbody class="divide-y divide-slate-100">
                {list.into_iter().map(|a| {
                    let open = a.resolved_at.is_none();
                    view! {
                        <tr data-testid="alert-row" data-rule=a.rule.as_str() data-open=open.to_string()>
                            <td class="px-4 py-2">{if open {
                                view! { <span class="rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-700 ring-1 ring-red-200">"Firing"</span> }.into_any()
                            } else {
                                view! { <span class="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200">"Recovered"</span> }.into_any()
                            }}</td>
                            <td class="px-4 py-2"><a class="text-indigo-600 hover:underline" href=format!("/admin/webhooks/{}", a.endpoint_id)>{a.endpoint_name}</a></td>
                            <td class="px-4 py-2">{a.rule.label()}</td>
                            <td class="max-w-md px-4 py-2 text-slate-700">{a.summary}</td>
                            <td class="px-4 py-2 whitespace-nowrap text-slate-600"><LocalTime at=a.started_at /></td>
                            <td class="px-4 py-2 text-slate-600">{a.resolved_at.map(|at| view! { <LocalTime at /> })}" "{a.resolution}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The alert rules of one endpoint, as a form that works without the wasm.
#[component]
pub fn AlertRulesSection(id: Uuid) -> impl IntoView {
    let rules = OnceResource::new(get_alert_rules(id));
    view! {
        <section class="mt-6 max-w-3xl rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200" aria-labelledby="alert-rules">
            <h2 id="alert-rules" class="font-semibold">"Alert rules"</h2>
            <p class="mb-3 text-sm text-slate-600">"Herald tells you (portal banner, audit log, operational webhooks, email) when a rule starts holding, and again when it recovers."</p>
            <RulesError />
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match rules.await {
                        Ok(rules) => view! { <RulesForm id form=AlertRulesForm::of(&rules) /> }.into_any(),
                        Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// After a post without the wasm that was refused: which fields, in Herald's own words (the
/// address carries the error, and anyone can write an address, so only field names are read
/// from it).
#[component]
fn RulesError() -> impl IntoView {
    refused_fields().map(|lines| {
        view! {
            <div role="alert" class="mb-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
                <p>"Nothing was saved. Check:"</p>
                <ul class="list-disc pl-5">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            </div>
        }
    })
}

/// "Label: what it takes" for each rules field the refused post named.
fn refused_fields() -> Option<Vec<String>> {
    use leptos::server_fn::error::ServerFnUrlError;
    let encoded = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("__err"))?;
    let AppError::Validation(fields) = ServerFnUrlError::<AppError>::decode_err(&encoded) else {
        return None;
    };
    let lines: Vec<String> = fields
        .iter()
        .filter_map(|f| field_rule(&f.field))
        .map(|(label, rule)| format!("{label}: {rule}"))
        .collect();
    (!lines.is_empty()).then_some(lines)
}

/// A rules field's label and what it takes.
fn field_rule(field: &str) -> Option<(&'static str, &'static str)> {
    Some(match field {
        "min_success_rate" => (
            "Alert below success rate (%)",
            "a percentage from 0 to 100, or empty",
        ),
        "max_p95_ms" => (
            "Alert above p95 response time (ms)",
            "from 100 to 9999, or empty",
        ),
        "window_minutes" => ("Over the last (minutes)", "from 5 to 1440"),
        "min_attempts" => ("With at least (attempts)", "from 1 to 1000000"),
        "email_to" => ("Email", "at most 20 addresses like ops@example.com"),
        _ => return None,
    })
}

#[component]
fn RulesForm(id: Uuid, form: AlertRulesForm) -> impl IntoView {
    let save = ServerAction::<SaveAlertRules>::new();
    let field = |name: &'static str, value: String, hint: &'static str| {
        let label = field_rule(name).map_or(name, |(label, _)| label);
        view! {
            <label class="block">
                <span class="text-sm font-medium text-slate-700">{label}</span>
                <input type="text" name=name value=value aria-label=label class="mt-1 block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300" />
                <span class="text-xs text-slate-500">{hint}</span>
            </label>
        }
    };
    view! {
        <ActionForm action=save attr:class="space-y-3" attr:data-testid="alert-rules-form">
            <input type="hidden" name="id" value=id.to_string() />
            <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="on_exhausted" value="on" checked=form.on_exhausted />"When a delivery fails every automatic attempt"</label>
            <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="on_disabled" value="on" checked=form.on_disabled />"While the endpoint is disabled"</label>
            <div class="grid gap-3 sm:grid-cols-2">
                {field("min_success_rate", form.min_success_rate, "empty: off")}
                {field("max_p95_ms", form.max_p95_ms, "100 to 9999; empty: off")}
                {field("window_minutes", form.window_minutes, "5 to 1440")}
                {field("min_attempts", form.min_attempts, "fewer prove nothing")}
            </div>
            {field("email_to", form.email_to, "addresses separated by commas; empty: every admin and owner")}
            <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">"Save alert rules"</button>
        </ActionForm>
    }
}

/// A strip under the header while any alert is open.
#[component]
pub fn AlertBanner(open: OnceResource<Result<Vec<AlertView>, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let alerts = open.await.unwrap_or_default();
                (!alerts.is_empty()).then(|| view! {
                    <div role="status" data-testid="alert-banner" class="border-b border-amber-200 bg-amber-50">
                        <div class="mx-auto max-w-7xl px-6 py-2 text-sm text-amber-900">
                            {banner_text(&alerts)}" "
                            <a href="/admin/alerts" class="font-medium underline">"See alerts"</a>
                        </div>
                    </div>
                })
            })}
        </Suspense>
    }
}

/// "Billing: Endpoint disabled · Orders: Low success rate", the first three, then a count.
fn banner_text(alerts: &[AlertView]) -> String {
    let mut parts: Vec<String> = alerts
        .iter()
        .take(3)
        .map(|a| format!("{}: {}", a.endpoint_name, a.rule.label()))
        .collect();
    if alerts.len() > 3 {
        parts.push(format!("and {} more", alerts.len() - 3));
    }
    format!("Needs attention — {}.", parts.join(" · "))
}
