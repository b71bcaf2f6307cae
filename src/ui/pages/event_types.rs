//! `/admin/event-types`: the event-type catalog. The list and its Archive / Restore forms are
//! server HTML; the form that adds a type, or edits the one named in `?edit=`, is one island
//! that shows the server's reason next to each field (a schema that does not compile, an
//! example that does not match it).

use crate::api::event_types::{SaveEventType, SetEventTypeArchived, list_event_types};
use crate::domain::event_type::{EventType, EventTypeForm};
use crate::error::AppError;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::form::{FieldMessage, FormError, TextArea};
use crate::ui::components::time::LocalTime;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

#[component]
pub fn EventTypesPage() -> impl IntoView {
    let types = OnceResource::new(list_event_types());
    let editing = use_query_map().with_untracked(|q| q.get("edit"));
    view! {
        <h1 class="mb-1 text-xl font-semibold">"Event types"</h1>
        <p class="mb-4 max-w-3xl text-sm text-slate-600">
            "What producers may publish. Events whose data breaks their type's JSON Schema are refused with 422 and the reason. An archived type refuses new events; its deliveries stay in the log."
        </p>
        <FormError />
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading event types…"</p> }>
            {move || {
                let editing = editing.clone();
                Suspend::new(async move {
                    match types.await {
                        Ok(list) => {
                            let edited = editing.and_then(|name| list.iter().find(|t| t.name == name).map(EventTypeForm::from));
                            let existing = edited.is_some();
                            let form = edited.unwrap_or_default();
                            view! { <TypeEditor form existing /><TypeTable list /> }.into_any()
                        }
                        Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn TypeTable(list: Vec<EventType>) -> impl IntoView {
    view! {
        <table class="mt-6 min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="event-type-table">
            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                <tr><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Description"</th><th class="px-4 py-2">"Schema"</th><th class="px-4 py-2">"State"</th><th class="px-4 py-2">"Changed"</th><th class="px-4 py-2"></th></tr>
            </thead>
            <tbody class="divide-y divide-slate-100">
                {list.into_iter().map(|t| view! { <TypeRow t /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn TypeRow(t: EventType) -> impl IntoView {
    let edit = format!("/admin/event-types?edit={}", t.name);
    let (state, action, next) = match t.archived {
        true => ("Archived", "Restore", "false"),
        false => ("Active", "Archive", "true"),
    };
    view! {
        <tr data-testid="event-type-row" data-name=t.name.clone() class=t.archived.then_some("text-slate-400")>
            <td class="px-4 py-2 font-mono text-xs">{t.name.clone()}</td>
            <td class="px-4 py-2">{t.description.clone()}</td>
            <td class="px-4 py-2 text-xs">{if t.schema.is_some() { "JSON Schema" } else { "—" }}</td>
            <td class="px-4 py-2 text-xs" data-testid="event-type-state">{state}</td>
            <td class="px-4 py-2 text-xs text-slate-500"><LocalTime at=t.updated_at /></td>
            <td class="px-4 py-2">
                <div class="flex justify-end gap-2">
                    <a href=edit class="rounded px-2 py-1 text-indigo-700 ring-1 ring-indigo-200">"Edit"</a>
                    <form method="post" action=SetEventTypeArchived::url()>
                        <input type="hidden" name="name" value=t.name.clone() />
                        <input type="hidden" name="archived" value=next />
                        <button type="submit" class="rounded px-2 py-1 text-slate-700 ring-1 ring-slate-300">{action}</button>
                    </form>
                </div>
            </td>
        </tr>
    }
}

/// Adds a type, or edits one (its name fixed). Saved: the page is loaded again with the list.
#[island]
fn TypeEditor(form: EventTypeForm, existing: bool) -> impl IntoView {
    let save = ServerAction::<SaveEventType>::new();
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            let _ = window().location().set_href("/admin/event-types");
        }
    });
    let error = move |field: &'static str| {
        Signal::derive(move || {
            save.value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(field))
        })
    };
    let other_error = move || match save.value().get() {
        Some(Err(AppError::Validation(_))) | None | Some(Ok(_)) => None,
        Some(Err(err)) => Some(err.to_string()),
    };
    let input = "mt-1 block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300";
    let code = "mt-1 block w-full rounded-md px-3 py-2 font-mono text-xs ring-1 ring-slate-300";
    view! {
        <ActionForm action=save attr:class="max-w-3xl space-y-3 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:novalidate=true>
            <h2 class="font-medium">{if existing { format!("Edit {}", form.name) } else { "New event type".into() }}</h2>
            <input type="hidden" name="existing" value=existing.to_string() />
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"Name"</span>
                <input type="text" name="name" value=form.name.clone() readonly=existing aria-label="Name" placeholder="order.shipped" class=input />
                <FieldMessage message=error("name") />
            </label>
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"Description"</span>
                <input type="text" name="description" value=form.description.clone() aria-label="Description" class=input />
                <FieldMessage message=error("description") />
            </label>
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"Example payload"</span>
                <TextArea name="example" label="Example payload" text=form.example.clone() placeholder="{\"order_id\": \"ord_1\"}" class=code />
                <FieldMessage message=error("example") />
            </label>
            <label class="block">
                <span class="text-sm font-medium text-slate-700">"JSON Schema (optional)"</span>
                <TextArea name="schema" label="JSON Schema" text=form.schema.clone() rows=6 placeholder="{\"type\": \"object\", \"required\": [\"order_id\"]}" class=code />
                <span class="text-xs text-slate-500">"Published data must match it. References to other documents are refused."</span>
                <FieldMessage message=error("schema") />
            </label>
            {move || other_error().map(|m| view! { <p role="alert" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">{m}</p> })}
            <div class="flex items-center gap-3">
                <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60" disabled=move || save.pending().get()>
                    {if existing { "Save changes" } else { "Add event type" }}
                </button>
                {existing.then(|| view! { <a href="/admin/event-types" class="text-sm text-slate-600 hover:underline">"Cancel"</a> })}
            </div>
        </ActionForm>
    }
}
