//! `herald receiver`: a local webhook receiver for demos, tests and benchmarks. It records
//! what it receives, checks both signature schemes with the given secret, and can be told to
//! answer an error status, stall, or drop the connection.
//!
//! Control API (JSON, `Authorization: Bearer <token>`): `GET /_requests` (recorded requests),
//! `DELETE /_requests` (forget them), `PUT /_mode` with `{"mode": "ok"|"status"|"stall"|"close",
//! "status": 500, "body": "…", "delay_ms": 0}`. Every other path is a webhook target.
//!
//! It always runs on a listener of its own, never on the portal's origin, and holds a bounded
//! amount: the last [`KEPT`] requests, bodies up to [`MAX_BODY`] (larger ones are refused with
//! 413). It never records `Cookie` or `Authorization` headers (a browser visiting it would send
//! the portal's cookie: same host, other port) and never answers with `Set-Cookie`.

use crate::domain::signing::{SignatureScheme, secret_key, verify_legacy, verify_standard};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests kept (the oldest are forgotten first).
pub const KEPT: usize = 500;
/// Largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// Headers whose values are never recorded.
const UNRECORDED: &[&str] = &["cookie", "authorization", "proxy-authorization"];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ModeKind {
    #[default]
    Ok,
    Status,
    Stall,
    Close,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Mode {
    pub mode: ModeKind,
    pub status: Option<u16>,
    pub body: Option<String>,
    pub delay_ms: Option<u64>,
    /// Extra response headers, e.g. `[["retry-after", "120"]]`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The Standard Webhooks signature matched the secret (None without a secret).
    pub standard_signature_valid: Option<bool>,
    /// `X-Webhook-Signature` matched (timestamped or body-only scheme).
    pub legacy_signature_valid: Option<bool>,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone)]
pub struct Receiver {
    secret: Option<String>,
    record: bool,
    /// The control API's bearer token; `None` only for in-process use (tests, benchmarks),
    /// where the control API is not served at all.
    token: Option<Arc<str>>,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<Mutex<VecDeque<Received>>>,
    count: Arc<AtomicU64>,
}

impl Receiver {
    /// `record = false` only counts requests (for benchmarks). Without [`Self::with_token`]
    /// the control API is not served.
    pub fn new(secret: Option<String>, record: bool) -> Self {
        Self {
            secret,
            record,
            token: None,
            mode: Arc::default(),
            requests: Arc::default(),
            count: Arc::default(),
        }
    }

    /// Serves the control API to callers that present this bearer token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(Arc::from(token));
        self
    }

    /// A random token for the control API (printed at start).
    pub fn random_token() -> String {
        use rand::Rng;
        rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(32)
            .map(char::from)
            .collect()
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// What has been received so far.
    pub fn received(&self) -> Vec<Received> {
        self.requests
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut current) = self.mode.lock() {
            *current = mode;
        }
    }

    /// Serves on an ephemeral loopback port in the background; returns the address.
    pub async fn spawn_local(self) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, self.router()).await });
        Ok(addr)
    }

    pub fn router(self) -> Router {
        use axum::extract::DefaultBodyLimit;
        use tower_http::set_header::SetResponseHeaderLayer;
        let mut router = Router::new();
        if self.token.is_some() {
            router = router
                .route("/_requests", get(list).delete(clear))
                .route("/_mode", put(set_mode));
        }
        let fixed = |name, value: &'static str| {
            SetResponseHeaderLayer::overriding(name, axum::http::HeaderValue::from_static(value))
        };
        router
            .fallback(receive)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(fixed(
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ))
            .layer(fixed(axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .with_state(self)
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        self.token
            .as_deref()
            .is_some_and(|token| crate::server::auth::bearer::matches(headers, token))
    }

    fn verify(&self, headers: &HeaderMap, body: &str) -> (Option<bool>, Option<bool>) {
        let Some(secret) = &self.secret else {
            return (None, None);
        };
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let standard = match (secret_key(secret), text("webhook-timestamp").parse::<i64>()) {
            (Ok(key), Ok(ts)) => verify_standard(
                &key,
                &text("webhook-id"),
                ts,
                body,
                &text("webhook-signature"),
            ),
            _ => false,
        };
        let legacy_sig = text("x-webhook-signature");
        let legacy = (!legacy_sig.is_empty()).then(|| {
            let ts = text("x-webhook-timestamp")
                .parse::<i64>()
                .unwrap_or_default();
            verify_legacy(SignatureScheme::Timestamped, secret, ts, body, &legacy_sig)
                || verify_legacy(SignatureScheme::Body, secret, ts, body, &legacy_sig)
        });
        (Some(standard), legacy)
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receiver.count.fetch_add(1, Ordering::Relaxed);
    let mode = receiver.mode.lock().map(|m| m.clone()).unwrap_or_default();
    if receiver.record {
        let body = String::from_utf8_lossy(&body).into_owned();
        let (standard, legacy) = receiver.verify(&headers, &body);
        let body = cut(body, crate::server::dispatcher::send::MAX_STORED_BODY);
        let received = Received {
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    let value = match UNRECORDED.contains(&k.as_str()) {
                        true => "(not recorded)".to_string(),
                        false => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    };
                    (k.to_string(), value)
                })
                .collect(),
            body,
            standard_signature_valid: standard,
            legacy_signature_valid: legacy,
            received_at: chrono::Utc::now(),
        };
        if let Ok(mut all) = receiver.requests.lock() {
            if all.len() >= KEPT {
                all.pop_front();
            }
            all.push_back(received);
        }
    }
    if let Some(delay) = mode.delay_ms {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    match mode.mode {
        ModeKind::Ok => StatusCode::OK.into_response(),
        ModeKind::Status => {
            let status = StatusCode::from_u16(mode.status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, mode.body.unwrap_or_default()).into_response();
            for (name, value) in &mode.headers {
                if let (Ok(name), Ok(value)) =
                    (name.parse::<axum::http::HeaderName>(), value.parse())
                    && name != axum::http::header::SET_COOKIE
                {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        ModeKind::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        // Unwinding out of the handler makes the server drop the connection without answering.
        ModeKind::Close => std::panic::resume_unwind(Box::new("closing the connection on purpose")),
    }
}

async fn list(State(receiver): State<Receiver>, headers: HeaderMap) -> Response {
    if !receiver.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(receiver.received()).into_response()
}

async fn clear(State(receiver): State<Receiver>, headers: HeaderMap) -> StatusCode {
    if !receiver.authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    if let Ok(mut all) = receiver.requests.lock() {
        all.clear();
    }
    StatusCode::NO_CONTENT
}

async fn set_mode(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    Json(mode): Json<Mode>,
) -> StatusCode {
    if !receiver.authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    receiver.set_mode(mode);
    StatusCode::NO_CONTENT
}

/// Binds a recording receiver with a control token (given, or random) and prints where it
/// listens and the token.
pub async fn start(
    addr: SocketAddr,
    secret: Option<String>,
    token: Option<String>,
) -> anyhow::Result<(Receiver, tokio::net::TcpListener)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))?;
    let token = token.unwrap_or_else(Receiver::random_token);
    println!(
        "herald receiver: listening on http://{}; control API token: {token}",
        listener.local_addr()?
    );
    Ok((Receiver::new(secret, true).with_token(&token), listener))
}

/// The text cut to at most `limit` bytes, at a character boundary.
fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
