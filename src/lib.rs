#![recursion_limit = "512"]
//! Herald: a self-hosted webhook delivery service with an admin portal.
//!
//! `domain` is pure and compiles to wasm; `api` holds the portal's server functions; `ui` the
//! pages and components; `server` (server build only) the configuration, database, services,
//! dispatcher, auth and the HTTP stack; `tools` (server build only) the benchmarks, the demo
//! data and the test receiver.

pub mod api;
pub mod app;
pub use herald_domain as domain;
pub mod error;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod tools;
pub mod ui;

/// Entry point of the browser build. Pages are rendered on the server; only the islands
/// (`#[island]` components) come alive in the browser. Leptos's loader calls this, then hydrates
/// each island on the page in the same task, so a zero-delay timeout runs after all of them.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                ui::localize_times(&body);
            }
            ui::mark_hydrated();
        },
        std::time::Duration::ZERO,
    );
}
