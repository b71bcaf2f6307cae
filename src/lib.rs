#![recursion_limit = "512"]
//! Herald: a self-hosted webhook delivery service with an admin portal.
//!
//! `domain` is pure and compiles to wasm; `api` holds the portal's server functions; `ui` the
//! pages and components; `server` (server build only) the database, dispatcher, auth and config.

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

/// Entry point of the browser build: attaches the reactive system to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(app::App);
}
