use leptos::prelude::*;

/// A server-side validation message under a form field.
#[component]
pub fn FieldMessage(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|m| view! { <span class="mt-1 block text-sm text-red-700" data-testid="field-error">{m}</span> })
    }
}
