//! `/admin/audit`: who did what and when, filterable by who and by what.

use crate::api::admin::audit_entries;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::time::LocalTime;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, action) = use_query_map().with_untracked(|p| (p.get("actor"), p.get("action")));
    let entries = OnceResource::new(audit_entries(actor.clone(), action.clone()));
    view! {
        <h1 class="mb-4 text-xl font-semibold">"Audit log"</h1>
        <form method="GET" action="/admin/audit" class="mb-4 flex flex-wrap gap-2 text-sm">
            <input type="text" name="actor" value=actor.unwrap_or_default() placeholder="Who (email or api-key:name)" aria-label="Who" class="rounded px-2 py-1 ring-1 ring-slate-300" />
            <select name="action" aria-label="What" class="rounded px-2 py-1 ring-1 ring-slate-300">
                {[("", "Everything"), ("user.sign_in", "Sign-ins"), ("endpoint.", "Webhook changes"), ("endpoint.secret", "Secret reveals and rotations"),
                  ("delivery.", "Retries and bulk retries"), ("user.", "User changes"), ("api_key.", "API keys")]
                    .into_iter()
                    .map(|(value, label)| view! { <option value=value selected=action.as_deref() == Some(value)>{label}</option> })
                    .collect_view()}
            </select>
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1 text-white">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-slate-600">"Nothing recorded for this filter."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="audit-table">
                            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                                <tr><th class="px-4 py-2">"When"</th><th class="px-4 py-2">"Who"</th><th class="px-4 py-2">"What"</th><th class="px-4 py-2">"Target"</th><th class="px-4 py-2">"Details"</th></tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|e| { let action = e.action.clone(); view! {
                                    <tr data-testid="audit-row" data-action=action>
                                        <td class="px-4 py-2 whitespace-nowrap text-slate-600"><LocalTime at=e.created_at /></td>
                                        <td class="px-4 py-2">{e.actor}</td>
                                        <td class="px-4 py-2 font-mono text-xs">{e.action}</td>
                                        <td class="px-4 py-2 font-mono text-xs">{e.target}</td>
                                        <td class="max-w-md truncate px-4 py-2 font-mono text-xs text-slate-500" title=e.details.clone()>{e.details.clone()}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
