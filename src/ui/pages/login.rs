use crate::api::auth::Login;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/login`: a plain form that also works before (or without) the wasm.
#[component]
pub fn LoginPage() -> impl IntoView {
    let next = use_query_map()
        .with_untracked(|q| q.get("next"))
        .unwrap_or_default();
    view! {
        <main class="flex min-h-screen items-center justify-center px-4">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-2">
                    <img src="/favicon.svg" alt="" class="h-9 w-9" />
                    <span class="text-2xl font-semibold tracking-tight">"Herald"</span>
                </div>
                <LoginForm next />
            </div>
        </main>
    }
}

/// The form is an island so a wrong password is answered in place.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || match login.value().get() {
        Some(Err(AppError::InvalidCredentials)) => Some("Invalid email or password".to_string()),
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    };
    view! {
                <ActionForm action=login attr:class="space-y-4 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
                    <h1 class="text-lg font-semibold">"Sign in to the admin portal"</h1>
                    <input type="hidden" name="next" value=next />
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Email"</span>
                        <input
                            type="email" name="email" required autocomplete="username"
                            class="mt-1 block w-full rounded-md border-slate-300 px-3 py-2 ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none"
                        />
                    </label>
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Password"</span>
                        <input
                            type="password" name="password" required autocomplete="current-password"
                            class="mt-1 block w-full rounded-md px-3 py-2 ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none"
                        />
                    </label>
                    {move || error().map(|message| view! {
                        <p role="alert" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">{message}</p>
                    })}
                    <button
                        type="submit"
                        class="w-full rounded-md bg-indigo-600 px-3 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60"
                        disabled=move || login.pending().get()
                    >
                        "Sign in"
                    </button>
                </ActionForm>
    }
}
