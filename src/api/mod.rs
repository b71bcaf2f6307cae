//! The portal's server functions. Each one is a short shell: guard, delegate to `server::`,
//! return typed data or an [`AppError`](crate::error::AppError).

pub mod admin;
pub mod alerts;
pub mod auth;
pub mod deliveries;
pub mod endpoints;
pub mod event_types;
