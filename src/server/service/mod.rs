//! The operations Herald offers, one function each, shared by its two front doors: the
//! portal's server functions (`crate::api`) and the REST API (`server::rest`). A service
//! function validates its input, writes, and records the audit entry; the front doors only
//! authenticate, authorize (role or key scope) and map the result to their wire format.
//!
//! ```text
//! browser ─ server function (api/) ─┐
//!                                    ├─ service (here) ─ db/ ─ PostgreSQL
//! producer ─ REST handler (rest/) ───┘
//! ```

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod batch;
pub mod deliveries;
pub mod endpoints;
pub mod event_types;
pub mod events;
pub mod gather;
pub mod stream;
pub mod users;

pub use crate::server::db::audit::Actor;
