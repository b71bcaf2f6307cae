//! The admin layout: the role guard for every page below `/admin`, navigation and sign-out.

use crate::api::alerts::list_alerts;
use crate::api::auth::{Logout, SignOutOthers, whoami};
use crate::domain::role::Role;
use crate::domain::user::CurrentUser;
use crate::error::AppError;
use crate::ui::pages::alerts::AlertBanner;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

#[component]
pub fn AdminLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    // The page (Outlet) and the alert banner's resource are made once, outside the Suspense:
    // content inside a Suspense is rendered twice during server rendering, which would create
    // their resources twice (two reads, the first one's result thrown away) and let the HTML
    // and the data sent for hydration come from two different reads.
    // The page's and the banner's own server functions refuse non-admins, so nothing leaks.
    let open_alerts = OnceResource::new(list_alerts(0));
    view! {
        <div class="min-h-screen">
            <Suspense fallback=|| view! { <div class="h-14 border-b border-slate-200 bg-white"></div> }>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(user) if user.role.allows(Role::Admin) => view! { <Header user /><AlertBanner open=open_alerts /> }.into_any(),
                        Ok(_) => view! { <Refused message=Role::Admin.requirement() /> }.into_any(),
                        Err(AppError::Unauthorized) => view! { <ToLogin /> }.into_any(),
                        Err(err) => view! { <Refused message=err.to_string() /> }.into_any(),
                    }
                })}
            </Suspense>
            <main class="mx-auto max-w-7xl px-6 py-6">
                <Outlet />
            </main>
        </div>
    }
}

/// Sends an anonymous visitor to `/login`, remembering where they were going.
#[component]
fn ToLogin() -> impl IntoView {
    let here = use_location();
    let target = format!(
        "{}{}",
        here.pathname.get_untracked(),
        here.search.get_untracked()
    );
    let next = crate::domain::log_query::encode_component(&target);
    view! { <Redirect path=format!("/login?next={next}") /> }
}

#[component]
fn Refused(message: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    let logout = ServerAction::<Logout>::new();
    view! {
        <div class="mx-auto max-w-md p-12 text-center" data-testid="access-refused">
            <h1 class="text-2xl font-semibold">"Permission required"</h1>
            <p class="mt-2 text-slate-600">{message}</p>
            <ActionForm action=logout attr:class="mt-6">
                <button class="text-indigo-600 hover:underline" type="submit">"Sign in as someone else"</button>
            </ActionForm>
        </div>
    }
}

#[component]
fn Header(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let sign_out_others = ServerAction::<SignOutOthers>::new();
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-7xl items-center gap-8 px-6 py-3">
                <a href="/admin/webhook-deliveries" class="flex items-center gap-2 font-semibold">
                    <img src="/favicon.svg" alt="" class="h-7 w-7" />
                    "Herald"
                </a>
                <nav class="flex gap-1 text-sm" aria-label="Main">
                    <NavLink href="/admin/webhook-deliveries" label="Deliveries" />
                    <NavLink href="/admin/webhooks" label="Webhooks" />
                    <NavLink href="/admin/event-types" label="Event types" />
                    <NavLink href="/admin/users" label="Users" />
                    <NavLink href="/admin/api-keys" label="API keys" />
                    <NavLink href="/admin/alerts" label="Alerts" />
                    <NavLink href="/admin/audit" label="Audit" />
                </nav>
                <div class="ml-auto flex items-center gap-3 text-sm text-slate-600">
                    <span data-testid="current-user">{user.email}</span>
                    <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{user.role.as_str()}</span>
                    <ActionForm action=sign_out_others>
                        <button type="submit" class="rounded-md px-2 py-1 hover:bg-slate-100" title="End your sessions in other browsers and on other devices">"Sign out elsewhere"</button>
                    </ActionForm>
                    <ActionForm action=logout>
                        <button type="submit" class="rounded-md px-2 py-1 hover:bg-slate-100">"Sign out"</button>
                    </ActionForm>
                </div>
            </div>
        </header>
    }
}

#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <A href=href attr:class="rounded-md px-3 py-1.5 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">
            {label}
        </A>
    }
}
