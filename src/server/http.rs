//! `herald serve`: the HTTP server (portal pages, server functions, REST API, health,
//! metrics) and the dispatcher in one process, with a graceful shutdown for both.

use super::config::ServeArgs;
use super::state::{AppState, Settings};
use super::{auth, db, jobs, metrics, rest};
use crate::app::{App, shell};
use crate::domain::role::Role;
use crate::server::alerts::AlertCheck;
use crate::server::alerts::email::Mailer;
use crate::server::alerts::notify::Notifier;
use crate::server::crypto::SecretBox;
use crate::server::dispatcher::Dispatcher;
use crate::server::dispatcher::send::Sender;
use crate::tools::demo;
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::config::get_configuration;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use rand::Rng;
use rand::distributions::Alphanumeric;
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub async fn serve(pool: PgPool, args: ServeArgs) -> anyhow::Result<()> {
    let dispatch = args.dispatch.dispatch_config()?;
    let allowlist = args.dispatch.allowlist(args.demo)?;
    let mailer = match &args.smtp_url {
        Some(url) => Some(Mailer::new(url, &args.smtp_from)?),
        None => None,
    };
    if mailer.is_some() {
        println!("herald: alert emails from {}", args.smtp_from);
    }
    if dispatch.async_result_commit {
        tracing::warn!(
            "--async-result-commit: results are committed without waiting for the disk; if PostgreSQL crashes, the attempts of its last moment are lost from the log and sent again"
        );
    }
    bootstrap_owner(&pool).await?;
    let (stop, stopped) = watch::channel(false);
    let state = build_state(pool.clone(), &args, stopped.clone())?;
    db::endpoints::seal_plain_headers(&pool, &state.settings.secrets).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    metrics::install();
    let stopped_for_metrics = stopped.clone();
    let mut background = tokio::task::JoinSet::new();
    if args.demo {
        let (receiver, receiver_listener) = crate::tools::receiver::start(
            args.demo_receiver_listen,
            None,
            args.receiver_token.clone(),
        )
        .await?;
        let receiver_addr = receiver_listener.local_addr()?;
        demo::load(&pool, &state.settings.secrets, receiver_addr).await?;
        background.spawn(async move {
            if let Err(err) = receiver.serve(receiver_listener).await {
                tracing::error!(error = %err, "demo receiver stopped");
            }
        });
    }
    background.spawn(jobs::maintain(
        pool.clone(),
        args.dispatch.retention_days,
        stopped.clone(),
    ));
    background.spawn(metrics::sample_queue(pool.clone()));
    if args.demo && args.demo_ticker_secs > 0 {
        let every = Duration::from_secs(args.demo_ticker_secs);
        background.spawn(demo::ticker(pool.clone(), every, stopped.clone()));
    }
    let dispatcher = if args.no_dispatcher {
        None
    } else {
        let sender = Sender::new(
            Duration::from_millis(args.dispatch.connect_timeout_ms),
            allowlist,
            64,
            args.dispatch.egress_proxy.as_deref(),
        )?;
        let dispatcher = Dispatcher::new(
            pool.clone(),
            sender,
            state.settings.secrets.clone(),
            dispatch,
        );
        state.publisher.hand_to(dispatcher.handoff());
        let check = AlertCheck {
            pool: pool.clone(),
            window: dispatcher.attempt_window(),
            notifier: Notifier {
                pool: pool.clone(),
                mailer,
            },
        };
        let every = Duration::from_secs(args.alert_check_secs.max(1));
        background.spawn(check.run(every, stopped.clone()));
        Some(tokio::spawn(dispatcher.run(stopped.clone())))
    };

    let state_public = state.settings.public.primary().to_string();
    let app = router(state, !args.no_portal);
    println!(
        "herald: listening on http://{addr} (portal: {}/admin/webhook-deliveries)",
        state_public
    );
    if let Some(metrics_addr) = args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr} for metrics"))?;
        println!(
            "herald: metrics on http://{}/metrics",
            metrics_listener.local_addr()?
        );
        let metrics_app = Router::new().route("/metrics", get(|| async { metrics::render() }));
        background.spawn(async move {
            let _ =
                super::listener::serve(metrics_listener, metrics_app, stopped_for_metrics).await;
        });
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        println!("herald: shutting down (finishing in-flight attempts)");
        let _ = stop.send(true);
    });
    super::listener::serve(listener, app, stopped.clone()).await?;
    if let Some(dispatcher) = dispatcher {
        dispatcher
            .await
            .context("dispatcher task")?
            .context("dispatcher")?;
    }
    background.abort_all();
    println!("herald: stopped");
    Ok(())
}

fn build_state(
    pool: PgPool,
    args: &ServeArgs,
    closing: watch::Receiver<bool>,
) -> anyhow::Result<AppState> {
    let mut leptos_options = get_configuration(None)
        .context("reading the Leptos configuration")?
        .leptos_options;
    leptos_options.site_addr = args.listen;
    leptos_options.site_root = site_root(args).to_string_lossy().into_owned().into();
    // `cargo leptos build` names the bundle's files by their hashes and lists them in a file
    // beside the binary; pages then link the hashed names, which may be cached for ever.
    // Without that file (a binary built by plain cargo), the plain names.
    leptos_options.hash_files =
        beside_binary(&leptos_options.hash_file).is_some_and(|f| f.is_file());
    let public = super::origin::PublicOrigin::new(args.public_url.as_deref(), args.listen)?;
    let settings = Settings {
        secure_cookies: args.secure_cookies || public.primary().starts_with("https://"),
        session_ttl: Duration::from_secs(u64::from(args.session_hours.max(1)) * 3600),
        secrets: SecretBox::load(args.secret_key.as_deref(), &args.data_dir)?,
        max_payload_bytes: args.dispatch.max_payload_bytes,
        allow_http: args.dispatch.allow_http || args.demo,
        login_limiter: auth::limiter::LoginLimiter::new(args.trusted_proxies.clone()),
        public: Arc::new(public),
        metrics_token: args.metrics_token.clone(),
        stream_stall_limit: Duration::from_secs(args.stream_stall_secs.max(1)),
        stream_slots: Arc::new(tokio::sync::Semaphore::new(args.max_streams)),
    };
    let lookups = super::lookups::Lookups::start(pool.clone());
    Ok(AppState {
        leptos_options,
        publisher: super::service::gather::Gatherer::start(pool.clone(), lookups.clone()),
        lookups,
        pool,
        settings: Arc::new(settings),
        closing,
    })
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

fn beside_binary(name: &str) -> Option<PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.join(name))
}

/// The whole HTTP surface. `portal` adds the pages and server functions.
pub fn router(state: AppState, portal: bool) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
        .route(
            "/admin/stream/deliveries",
            get(super::live::deliveries_changed),
        )
        .merge(rest::router(state.settings.max_payload_bytes));
    if portal {
        let routes = generate_route_list(App);
        let context_state = state.clone();
        let provide_state = move || provide_context(context_state.clone());
        let options = state.leptos_options.clone();
        app = app
            .leptos_routes_with_context(&state, routes, provide_state.clone(), move || {
                shell(options.clone())
            })
            // Pages the router does not know still render the shell (a 404 page), with the
            // state its server functions need.
            .fallback(leptos_axum::file_and_error_handler_with_context::<
                AppState,
                _,
            >(provide_state, shell));
    }
    let public = state.settings.public.clone();
    let app = app
        .layer(middleware::from_fn_with_state(public, super::origin::guard))
        .with_state(state);
    security_headers(app)
        .layer(middleware::map_response(cache_forever_if_hashed))
        .layer(compression())
        .layer(middleware::from_fn(super::observe::request_span))
}

/// Files under /pkg whose names carry their content's hash (`herald.3f9a….wasm`) never change:
/// browsers keep them for a year without asking again. (A new build has new names.)
async fn cache_forever_if_hashed(
    uri: axum::http::Uri,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let hashed = uri
        .path()
        .strip_prefix("/pkg/")
        .is_some_and(|file| file.split('.').count() >= 3);
    if hashed && response.status().is_success() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

/// HTML and JSON are compressed (brotli, else gzip) for clients that accept it, at a level
/// cheap enough for every response; /pkg files come from the brotli and gzip twins that
/// `cargo leptos build --precompress` writes at the highest level (already encoded, so this
/// layer leaves them alone).
fn compression() -> tower_http::compression::CompressionLayer {
    use tower_http::CompressionLevel;
    tower_http::compression::CompressionLayer::new().quality(CompressionLevel::Precise(5))
}

/// The Content-Security-Policy of a portal page: scripts only from this origin, plus the
/// inline loader and data scripts Leptos marks with this response's nonce; wasm compiled by
/// the page (`'wasm-unsafe-eval'`); nothing may frame the portal. Called while the page's
/// shell renders, before the first byte is sent.
pub fn set_page_security_policy() {
    let nonce = leptos::nonce::use_nonce();
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    let (Some(nonce), Some(response)) = (nonce, response) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Headers every response carries: no MIME sniffing, no referrer to other sites, and — for
/// anything that is not a page with its own policy — a CSP that allows nothing to run or
/// frame it.
fn security_headers(app: Router) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    let fixed = |name, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, header::HeaderValue::from_static(value))
    };
    app.layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fixed(header::REFERRER_POLICY, "same-origin"))
        .layer(fixed(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
}

/// `/metrics` on the main listener: only with `Authorization: Bearer <--metrics-token>` (the
/// figures tell a stranger how busy Herald is and which endpoints fail). `--metrics-listen`
/// serves them without a token on an address of their own.
async fn metrics_with_token(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(token) = &state.settings.metrics_token else {
        let message = "metrics need --metrics-token (or --metrics-listen for a private address)";
        return (StatusCode::NOT_FOUND, message).into_response();
    };
    if !auth::bearer::matches(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            "a valid metrics token is required",
        )
            .into_response();
    }
    metrics::render().into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// With no user at all, creates an owner and prints its login once.
pub async fn bootstrap_owner(pool: &PgPool) -> anyhow::Result<()> {
    if db::users::count(pool).await? > 0 {
        return Ok(());
    }
    let email = "owner@herald.local";
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let hash = auth::password::hash(password.clone()).await?;
    if !db::users::insert(pool, email, &hash, Role::Owner).await? {
        // Another process made the first owner at the same moment; its password stands.
        return Ok(());
    }
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
