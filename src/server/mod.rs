//! Everything that runs only on the server: configuration, database access, authentication,
//! the HTTP stack and (later) the dispatcher.

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod http;
pub mod state;
