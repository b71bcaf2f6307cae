//! Herald's integration tests, one binary (so leptos, sqlx and axum link once): real
//! PostgreSQL (`#[sqlx::test]` gives each test a fresh, migrated database) and real HTTP on
//! loopback. One module per area.

mod alerts;
mod auth;
mod cli;
mod database;
mod dispatcher;
mod event_types;
mod handoff;
mod helpers;
mod hostile;
mod lookups;
mod portal_access;
mod receiver;
mod rest_api;
mod role_table;
mod schema;
mod silent_features;
mod stream;
