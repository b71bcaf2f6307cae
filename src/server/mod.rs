//! Everything that runs only on the server: configuration, database access, the operations
//! both front doors share (`service`), authentication, the REST API, the HTTP stack and the
//! dispatcher.

pub mod alerts;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dispatcher;
pub mod http;
pub mod jobs;
pub mod listener;
pub mod live;
pub mod lookups;
pub mod metrics;
pub mod observe;
pub mod origin;
pub mod rest;
pub mod service;
pub mod state;
