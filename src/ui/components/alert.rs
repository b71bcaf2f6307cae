use leptos::prelude::*;

/// A message about something that failed: a page that could not be loaded, a form that came
/// back with an error, a request from an island.
#[component]
pub fn ErrorAlert(#[prop(into)] message: String) -> impl IntoView {
    view! { <p role="alert" class="my-3 rounded-md bg-red-50 p-3 text-sm text-red-700">{message}</p> }
}
