//! `herald receiver`: a local webhook receiver for demos, tests and benchmarks. It records
//! what it receives, checks both signature schemes with the given secret, and can be told to
//! answer an error status, stall, or drop the connection.
//!
//! Control API (JSON): `GET /_requests` (recorded requests), `DELETE /_requests` (forget them),
//! `PUT /_mode` with `{"mode": "ok"|"status"|"stall"|"close", "status": 500, "body": "…",
//! "delay_ms": 0}`. Every other path is a webhook target.

use crate::domain::signing::{SignatureScheme, secret_key, verify_legacy, verify_standard};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    mode: Arc<Mutex<Mode>>,
    requests: Arc<Mutex<Vec<Received>>>,
    count: Arc<AtomicU64>,
}

impl Receiver {
    /// `record = false` only counts requests (for benchmarks).
    pub fn new(secret: Option<String>, record: bool) -> Self {
        Self {
            secret,
            record,
            mode: Arc::default(),
            requests: Arc::default(),
            count: Arc::default(),
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// What has been received so far.
    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
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
        Router::new()
            .route("/_requests", get(list).delete(clear))
            .route("/_mode", put(set_mode))
            .fallback(receive)
            .with_state(self)
    }

    /// Serves on `addr` until the process ends.
    pub async fn serve(self, addr: SocketAddr) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "herald receiver: listening on http://{}",
            listener.local_addr()?
        );
        axum::serve(listener, self.router()).await?;
        Ok(())
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
        let received = Received {
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
            standard_signature_valid: standard,
            legacy_signature_valid: legacy,
            received_at: chrono::Utc::now(),
        };
        if let Ok(mut all) = receiver.requests.lock() {
            all.push(received);
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

async fn list(State(receiver): State<Receiver>) -> Json<Vec<Received>> {
    Json(
        receiver
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default(),
    )
}

async fn clear(State(receiver): State<Receiver>) -> StatusCode {
    if let Ok(mut all) = receiver.requests.lock() {
        all.clear();
    }
    StatusCode::NO_CONTENT
}

async fn set_mode(State(receiver): State<Receiver>, Json(mode): Json<Mode>) -> StatusCode {
    receiver.set_mode(mode);
    StatusCode::NO_CONTENT
}
