//! The HTTP server: portal pages (SSR), server functions, static files, health checks.

use super::auth;
use super::config::ServeArgs;
use super::crypto::SecretBox;
use super::state::{AppState, Settings};
use super::{db, demo};
use crate::app::{App, shell};
use crate::domain::role::Role;
use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::config::get_configuration;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use rand::Rng;
use rand::distributions::Alphanumeric;
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub async fn serve(pool: PgPool, args: ServeArgs) -> anyhow::Result<()> {
    bootstrap_owner(&pool).await?;
    if args.demo {
        demo::load(&pool, &SecretBox::load(args.secret_key.as_deref(), &args.data_dir)?).await?;
    }
    let state = build_state(pool, &args)?;
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("herald: portal at http://{addr}/admin/webhook-deliveries");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    println!("herald: stopped");
    Ok(())
}

fn build_state(pool: PgPool, args: &ServeArgs) -> anyhow::Result<AppState> {
    let mut leptos_options = get_configuration(None).context("reading the Leptos configuration")?.leptos_options;
    leptos_options.site_addr = args.listen;
    leptos_options.site_root = site_root(args).to_string_lossy().into_owned().into();
    let settings = Settings {
        secure_cookies: args.secure_cookies,
        session_ttl: Duration::from_secs(u64::from(args.session_hours.max(1)) * 3600),
        secrets: SecretBox::load(args.secret_key.as_deref(), &args.data_dir)?,
    };
    Ok(AppState { leptos_options, pool, settings: Arc::new(settings) })
}

/// `--site-root`, else `target/site` beside the binary's `target/<profile>/` folder, else
/// `target/site` in the working directory.
fn site_root(args: &ServeArgs) -> PathBuf {
    if let Some(root) = &args.site_root {
        return root.clone();
    }
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("site")))
        .filter(|site| site.join("pkg").is_dir());
    beside_binary.unwrap_or_else(|| PathBuf::from("target/site"))
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/{*fn_name}", get(server_fn_handler).post(server_fn_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// Server functions, with the state in context. Cross-site calls are refused: a browser sends
/// `Origin` on every POST, and it must name this host.
async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> Response {
    if request.method() == Method::POST && !same_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await.into_response()
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser cross-site request (curl, server-side calls)
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// With no user at all, creates an owner and prints its login once.
async fn bootstrap_owner(pool: &PgPool) -> anyhow::Result<()> {
    if db::users::count(pool).await? > 0 {
        return Ok(());
    }
    let email = "owner@herald.local";
    let password: String = rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect();
    let hash = auth::password::hash(password.clone()).await?;
    db::users::upsert(pool, email, &hash, Role::Owner).await?;
    println!("herald: first start, created owner {email} with password {password}");
    println!("herald: (shown only this once; `herald create-admin` resets it)");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
