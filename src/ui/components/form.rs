use leptos::prelude::*;

/// A server-side validation message under a form field.
#[component]
pub fn FieldMessage(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|m| view! { <span class="mt-1 block text-sm text-red-700" data-testid="field-error">{m}</span> })
    }
}

/// The error of a form that was posted without the wasm: the server function sent the browser
/// back here with the error in the address (`__err`), and this shows it.
#[component]
pub fn FormError() -> impl IntoView {
    use leptos::server_fn::error::ServerFnUrlError;
    let error = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("__err"));
    error.map(|encoded| {
        let err = ServerFnUrlError::<crate::error::AppError>::decode_err(&encoded);
        view! { <super::alert::ErrorAlert message=err.to_string() /> }
    })
}
