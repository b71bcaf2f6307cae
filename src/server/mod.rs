//! Everything that runs only on the server: configuration, database access, authentication,
//! the HTTP stack and (later) the dispatcher.

pub mod auth;
pub mod bench;
pub mod bench_log;
pub mod bulk;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod dispatcher;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod publish;
pub mod receiver;
pub mod rest;
pub mod state;
