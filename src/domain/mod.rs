//! Pure types and rules: no I/O, compiles to wasm, unit-tested in place.

pub mod admin;
pub mod alert;
pub mod attempt;
pub mod delivery;
pub mod endpoint;
pub mod event;
pub mod event_type;
pub mod health;
pub mod ids;
pub mod log_query;
pub mod net;
pub mod retry;
pub mod role;
pub mod scope;
pub mod signing;
pub mod text;
pub mod time;
pub mod user;
pub mod webhook;
