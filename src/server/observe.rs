//! Logs and request tracing: the log subscriber (text or JSON lines), and a span per HTTP
//! request whose id is echoed in `X-Request-Id`, so a user's report can be found in the log.
//! Dispatcher attempts run in their own `attempt` span (delivery, endpoint).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Starts logging to stderr. `HERALD_LOG` filters (`info,sqlx=warn` by default; add
/// `herald=debug` for one line per request and per attempt).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        logs.json().with_current_span(true).init();
    } else {
        logs.init();
    }
}

/// Runs the request in a `request` span with a fresh id (never the client's) and answers with
/// that id in `X-Request-Id`.
pub async fn request_span(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
