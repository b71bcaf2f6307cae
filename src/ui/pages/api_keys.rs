//! `/admin/api-keys` (owner): create a key (shown once), see when each was last used, revoke.
//! The list and its Revoke forms are server HTML; "Create key" is an island that shows the new
//! key in place and swaps in the list, fresh from the server, below it.

use crate::api::admin::{CreateApiKey, RevokeApiKey, list_api_keys};
use crate::domain::admin::ApiKeyView;
use crate::domain::scope::Scope;
use crate::error::AppError;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::form::{FieldMessage, FormError};
use crate::ui::components::time::LocalTime;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let keys = OnceResource::new(list_api_keys());
    view! {
        <h1 class="mb-4 text-xl font-semibold">"API keys"</h1>
        <FormError />
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(list) => view! { <NewKey><KeyTable list /></NewKey> }.into_any(),
                    Err(err) => view! { <ErrorAlert message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The key list as the page shows it (HTML), for the page to refresh it in place. A server
/// function that answers with this page's markup, so it lives with the page; owner only.
#[server(endpoint = "api_key_table")]
pub async fn api_key_table() -> Result<String, AppError> {
    use crate::domain::role::Role;
    use crate::server::auth::guard::{authorize, respond};
    let (state, _) = authorize(Role::Owner).await?;
    let list = respond(crate::server::service::api_keys::list(&state).await)?;
    Ok(Owner::new().with(|| view! { <KeyTable list /> }.to_html()))
}

#[component]
fn KeyTable(list: Vec<ApiKeyView>) -> impl IntoView {
    view! {
        <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="key-table">
            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase text-slate-500">
                <tr><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Key"</th><th class="px-4 py-2">"Scopes"</th><th class="px-4 py-2">"Created"</th><th class="px-4 py-2">"Last used"</th><th class="px-4 py-2"></th></tr>
            </thead>
            <tbody class="divide-y divide-slate-100">
                {list.into_iter().map(|key| view! { <KeyRow key /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn KeyRow(key: ApiKeyView) -> impl IntoView {
    let created_by = key
        .created_by
        .map(|by| format!(" by {by}"))
        .unwrap_or_default();
    view! {
        <tr data-testid="key-row" data-name=key.name.clone()>
            <td class="px-4 py-2">{key.name.clone()}</td>
            <td class="px-4 py-2 font-mono text-xs">{format!("{}…", key.prefix)}</td>
            <td class="px-4 py-2 text-xs" data-testid="key-scopes">{key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")}</td>
            <td class="px-4 py-2 text-slate-600"><LocalTime at=key.created_at />{created_by}</td>
            <td class="px-4 py-2 text-slate-600">{match key.last_used_at { Some(at) => view! { <LocalTime at /> }.into_any(), None => "never".into_any() }}</td>
            <td class="px-4 py-2 text-right">
                {match key.revoked_at {
                    Some(at) => view! { <span class="text-xs text-slate-500">"revoked "<LocalTime at /></span> }.into_any(),
                    None if key.creator_disabled => view! {
                        <span class="text-xs text-red-700" data-testid="key-refused">"refused: its creator is disabled"</span>
                    }.into_any(),
                    None => view! {
                        <form method="post" action=RevokeApiKey::url()>
                            <input type="hidden" name="id" value=key.id.to_string() />
                            <button type="submit" class="rounded px-2 py-1 text-red-700 ring-1 ring-red-200">"Revoke"</button>
                        </form>
                    }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// "Create key": the new key is shown once, here; the list below is read again.
#[island]
fn NewKey(children: Children) -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let list = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            leptos::task::spawn_local(async move {
                if let (Ok(html), Some(list)) = (api_key_table().await, list.get_untracked()) {
                    list.set_inner_html(&html);
                    crate::ui::localize_times(&list);
                }
            });
        }
    });
    let name_error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_message("name"))
    });
    view! {
        <ActionForm action=create attr:class="mb-4 flex max-w-3xl flex-wrap items-start gap-3 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200">
            <label class="text-sm">"Name"<input type="text" name="name" aria-label="Key name" placeholder="billing-service" class="ml-2 rounded px-2 py-1 ring-1 ring-slate-300" /><FieldMessage message=name_error /></label>
            <fieldset class="text-sm">
                <legend class="sr-only">"Scopes"</legend>
                {Scope::ALL.into_iter().map(|scope| view! {
                    <label class="mr-3 inline-flex items-center gap-1" title=scope.describe()>
                        <input type="checkbox" name="scopes[]" value=scope.as_str() checked=scope == Scope::Publish />
                        {scope.as_str()}
                    </label>
                }).collect_view()}
            </fieldset>
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white">"Create key"</button>
        </ActionForm>
        {move || create.value().get().and_then(|r| r.ok()).map(|key| view! {
            <div role="status" class="mb-4 max-w-3xl rounded-md bg-amber-50 p-3 text-sm ring-1 ring-amber-200">
                <span>"Copy this key now; it is not shown again: "</span><code class="break-all font-mono" data-testid="new-api-key">{key}</code>
            </div>
        })}
        <div node_ref=list>{children()}</div>
    }
}
