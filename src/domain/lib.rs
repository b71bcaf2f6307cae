//! Herald's pure types and rules: no I/O, compiles to wasm, unit-tested in place.
//!
//! A crate of its own so that its tests build in seconds: `scripts/mutants.sh` rebuilds and
//! re-tests it once per mutant. The server and the browser build use it as `herald::domain`.

pub mod admin;
pub mod alert;
pub mod attempt;
pub mod delivery;
pub mod endpoint;
pub mod event;
pub mod event_type;
pub mod field;
pub mod health;
pub mod ids;
pub mod log_query;
pub mod net;
pub mod outcome;
pub mod rate;
pub mod retry;
pub mod role;
pub mod scope;
pub mod signing;
pub mod text;
pub mod time;
pub mod user;
pub mod webhook;
