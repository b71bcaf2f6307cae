//! `/admin/users` (owner): create users with a role, change roles, disable and enable.
//! The list and its per-row forms are server HTML (a change posts the form and the page comes
//! back with the result); only "Add a user" is an island, for its field errors in place.

use crate::api::admin::{ChangeUser, CreateUser, list_users};
use crate::domain::admin::UserView;
use crate::domain::role::Role;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::form::{FieldMessage, FormError};
use crate::ui::components::time::LocalTime;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = OnceResource::new(list_users());
    view! {
        <h1 class="mb-4 text-xl font-semibold">"Users"</h1>
        <FormError />
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! {
                        <UserTable list />
                        <h2 class="mb-2 font-semibold">"Add a user"</h2>
                        <NewUser />
                    }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UserTable(list: Vec<UserView>) -> impl IntoView {
    view! {
        <table class="mb-6 min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="user-table">
            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                <tr><th class="px-4 py-2">"Email"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Last sign-in"</th><th class="px-4 py-2">"State"</th></tr>
            </thead>
            <tbody class="divide-y divide-slate-100">
                {list.into_iter().map(|user| view! { <UserRow user /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserRow(user: UserView) -> impl IntoView {
    let label = format!("Role of {}", user.email);
    view! {
        <tr data-testid="user-row" data-email=user.email.clone()>
            <td class="px-4 py-2">{user.email.clone()}</td>
            <td class="px-4 py-2">
                <form method="post" action=ChangeUser::url() class="flex gap-2">
                    <input type="hidden" name="id" value=user.id.to_string() />
                    <select name="role" aria-label=label class="rounded px-1 py-0.5 ring-1 ring-slate-300">
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.as_str()}</option> }).collect_view()}
                    </select>
                    <button type="submit" class="rounded px-2 ring-1 ring-slate-300">"Change"</button>
                </form>
            </td>
            <td class="px-4 py-2 text-slate-600">{match user.last_login_at { Some(at) => view! { <LocalTime at /> }.into_any(), None => "never".into_any() }}</td>
            <td class="px-4 py-2">
                <form method="post" action=ChangeUser::url()>
                    <input type="hidden" name="id" value=user.id.to_string() />
                    <input type="hidden" name="disabled" value=(!user.disabled).to_string() />
                    <button type="submit" class="rounded px-2 ring-1 ring-slate-300">{if user.disabled { "Enable" } else { "Disable" }}</button>
                </form>
            </td>
        </tr>
    }
}

/// The new user's form; once the user is created the page is read again, list included.
#[island]
fn NewUser() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            // The page afresh, without an earlier form's error still in the address.
            let location = window().location();
            let _ = location.set_href(&location.pathname().unwrap_or_default());
        }
    });
    let field = move |name: &'static str| {
        Signal::derive(move || {
            create
                .value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(name))
        })
    };
    view! {
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
