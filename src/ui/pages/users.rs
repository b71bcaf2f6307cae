//! `/admin/users` (owner): create users with a role, change roles, disable and enable.

use crate::api::admin::{ChangeUser, CreateUser, list_users};
use crate::domain::role::Role;
use crate::domain::time::exact;
use crate::ui::components::form::FieldMessage;
use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <UserAdmin /> }
}

/// The list and its forms, live: a change re-reads the list in place.
#[island]
fn UserAdmin() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let change = ServerAction::<ChangeUser>::new();
    let users = Resource::new(
        move || (create.version().get(), change.version().get()),
        |_| list_users(),
    );
    let field = move |name: &'static str| {
        Signal::derive(move || {
            create
                .value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(name))
        })
    };
    let change_error = move || {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <h1 class="mb-4 text-xl font-semibold">"Users"</h1>
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! {
                        {move || change_error().map(|e| view! { <p role="alert" class="mb-3 rounded-md bg-red-50 p-3 text-sm text-red-700">{e}</p> })}
                        <table class="mb-6 min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="user-table">
                            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                                <tr><th class="px-4 py-2">"Email"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Last sign-in"</th><th class="px-4 py-2">"State"</th></tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|u| { let email = u.email.clone(); let label = format!("Role of {}", u.email); view! {
                                    <tr data-testid="user-row" data-email=email>
                                        <td class="px-4 py-2">{u.email.clone()}</td>
                                        <td class="px-4 py-2">
                                            <ActionForm action=change attr:class="flex gap-2">
                                                <input type="hidden" name="id" value=u.id.to_string() />
                                                <select name="role" aria-label=label class="rounded px-1 py-0.5 ring-1 ring-slate-300">
                                                    {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == u.role>{r.as_str()}</option> }).collect_view()}
                                                </select>
                                                <button type="submit" class="rounded px-2 ring-1 ring-slate-300">"Change"</button>
                                            </ActionForm>
                                        </td>
                                        <td class="px-4 py-2 text-slate-600">{u.last_login_at.map(exact).unwrap_or_else(|| "never".into())}</td>
                                        <td class="px-4 py-2">
                                            <ActionForm action=change>
                                                <input type="hidden" name="id" value=u.id.to_string() />
                                                <input type="hidden" name="disabled" value=(!u.disabled).to_string() />
                                                <button type="submit" class="rounded px-2 ring-1 ring-slate-300">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(err) => view! { <p role="alert" class="rounded-md bg-red-50 p-4 text-red-700">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <h2 class="mb-2 font-semibold">"Add a user"</h2>
        <ActionForm action=create attr:class="flex max-w-3xl flex-wrap items-start gap-3 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200">
            <label class="text-sm">"Email"<input type="email" name="email" aria-label="New user email" class="ml-2 rounded px-2 py-1 ring-1 ring-slate-300" /><FieldMessage message=field("email") /></label>
            <label class="text-sm">"Password"<input type="password" name="password" aria-label="New user password" class="ml-2 rounded px-2 py-1 ring-1 ring-slate-300" /><FieldMessage message=field("password") /></label>
            <label class="text-sm">"Role"
                <select name="role" aria-label="New user role" class="ml-2 rounded px-1 py-1 ring-1 ring-slate-300">
                    <option value="member">"member"</option><option value="admin">"admin"</option><option value="owner">"owner"</option>
                </select>
            </label>
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white">"Add user"</button>
        </ActionForm>
    }
}
