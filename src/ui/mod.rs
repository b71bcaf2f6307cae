//! Pages and components of the portal.

pub mod components;
pub mod layout;
pub mod pages;

/// Sets `data-hydrated` on `<body>` once the page's islands are live, so tests (and curious
/// users) can tell a page that reacts from one that was only rendered on the server.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
