//! One HTTP attempt: POST the signed body, read at most 64 KiB of the answer, classify the
//! outcome. Never follows redirects; connect and total timeouts bound every attempt, the body
//! read included. What the receiver sent is kept as bytes (headers and body), whatever they
//! are: it is data to show, never text to trust.

use super::resolver::{DnsFailure, GuardedResolver, SsrfBlocked};
use crate::domain::attempt::FailureClass;
use crate::domain::net::{Cidr, forbidden_rule, is_allowed};
use crate::domain::retry::parse_retry_after;
use chrono::{DateTime, Utc};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stored response bodies are cut here (and flagged).
pub const MAX_STORED_BODY: usize = 64 * 1024;

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allowlist: Arc<Vec<Cidr>>,
}

/// What came of one attempt.
#[derive(Debug, Clone)]
pub struct Sent {
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub status: Option<u16>,
    /// The response's header block as received: `name: value\r\n` per header.
    pub response_headers: Option<Vec<u8>>,
    pub body: Option<Vec<u8>>,
    pub truncated: bool,
    pub failure: Option<FailureClass>,
    pub error_message: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Sender {
    /// A client with the SSRF guard in its resolver. Proxy variables in the environment
    /// (`HTTPS_PROXY`, `ALL_PROXY`, …) are ignored: a proxy resolves names itself, past the
    /// guard. Only an explicit `egress_proxy` is used, and then the guard can check IP-literal
    /// URLs only; the proxy must enforce where webhooks may go.
    pub fn new(
        connect_timeout: Duration,
        allowlist: Vec<Cidr>,
        max_idle_per_host: usize,
        egress_proxy: Option<&str>,
    ) -> anyhow::Result<Self> {
        let allowlist = Arc::new(allowlist);
        let builder = match egress_proxy {
            Some(url) => reqwest::Client::builder().proxy(reqwest::Proxy::all(url)?),
            None => reqwest::Client::builder().no_proxy(),
        };
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .pool_max_idle_per_host(max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(GuardedResolver {
                allowlist: allowlist.clone(),
            }))
            .build()?;
        Ok(Self { client, allowlist })
    }

    pub async fn send(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
        timeout: Duration,
    ) -> Sent {
        let started_at = Utc::now();
        let clock = Instant::now();
        let mut sent = match self.blocked_literal(url) {
            Some(message) => failed(started_at, FailureClass::SsrfBlocked, message),
            None => self.post(url, headers, body, timeout, started_at).await,
        };
        sent.duration = clock.elapsed();
        sent
    }

    /// reqwest skips the resolver for IP-literal URLs, so those are checked here.
    fn blocked_literal(&self, url: &str) -> Option<String> {
        let host = reqwest::Url::parse(url)
            .ok()?
            .host_str()?
            .trim_matches(['[', ']'])
            .to_string();
        let ip: IpAddr = host.parse().ok()?;
        let rule = forbidden_rule(ip).filter(|_| !is_allowed(ip, &self.allowlist))?;
        Some(format!(
            "the URL's address is one webhooks may not reach ({rule})"
        ))
    }

    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
        timeout: Duration,
        started_at: DateTime<Utc>,
    ) -> Sent {
        let mut request = self
            .client
            .post(url)
            .timeout(timeout)
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return failed(started_at, classify(&err), describe(&err)),
        };
        let status = response.status().as_u16();
        let header_block = header_block(response.headers());
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let read = read_capped(response).await;
        // The answer counts only once it has been read (up to what is kept) within the timeout:
        // a body that trickles past it, or a connection reset half-way, is a failed attempt.
        let (failure, error_message) = match (&read.error, FailureClass::of_status(status)) {
            (Some(err), _) => (
                Some(classify(err)),
                Some(format!("reading the response body: {}", describe(err))),
            ),
            (None, Some(class)) => (
                Some(class),
                Some(format!("endpoint answered HTTP {status}")),
            ),
            (None, None) => (None, None),
        };
        Sent {
            started_at,
            duration: Duration::ZERO,
            status: Some(status),
            response_headers: Some(header_block),
            body: Some(read.bytes),
            truncated: read.truncated,
            failure,
            error_message,
            retry_after,
        }
    }
}

/// The headers as received, one `name: value\r\n` line each (names as hyper read them,
/// values byte for byte).
fn header_block(headers: &reqwest::header::HeaderMap) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in headers {
        block.extend_from_slice(name.as_str().as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    block
}

struct Read {
    bytes: Vec<u8>,
    truncated: bool,
    error: Option<reqwest::Error>,
}

/// Reads the body up to [`MAX_STORED_BODY`]; stops reading (and drops the connection) beyond.
/// Nothing is decompressed: a `Content-Encoding` is stored as the bytes that came.
async fn read_capped(mut response: reqwest::Response) -> Read {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_STORED_BODY - bytes.len();
                if chunk.len() > room {
                    bytes.extend_from_slice(&chunk[..room]);
                    return Read {
                        bytes,
                        truncated: true,
                        error: None,
                    };
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => {
                return Read {
                    bytes,
                    truncated: false,
                    error: None,
                };
            }
            Err(err) => {
                return Read {
                    bytes,
                    truncated: false,
                    error: Some(err),
                };
            }
        }
    }
}

fn failed(started_at: DateTime<Utc>, class: FailureClass, message: String) -> Sent {
    Sent {
        started_at,
        duration: Duration::ZERO,
        status: None,
        response_headers: None,
        body: None,
        truncated: false,
        failure: Some(class),
        error_message: Some(message),
        retry_after: None,
    }
}

fn sources<'a>(err: &'a reqwest::Error) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = err.source();
    std::iter::from_fn(move || {
        let current = next?;
        next = current.source();
        Some(current)
    })
}

fn classify(err: &reqwest::Error) -> FailureClass {
    if sources(err).any(|e| e.is::<SsrfBlocked>()) {
        return FailureClass::SsrfBlocked;
    }
    if sources(err).any(|e| e.is::<DnsFailure>()) {
        return FailureClass::Dns;
    }
    if err.is_timeout() {
        return FailureClass::Timeout;
    }
    let text = describe(err).to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "corrupt message"]
        .iter()
        .any(|w| text.contains(w))
    {
        return FailureClass::Tls;
    }
    // hyper's parse errors: an answer that is not HTTP, or one it refuses to read (a NUL in a
    // header, too many headers, a status line of garbage).
    if sources(err).any(|e| {
        e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
    }) {
        return FailureClass::InvalidResponse;
    }
    FailureClass::Connect
}

/// The error and its causes on one line, without the URL (the log shows it separately) and
/// without control characters (it is shown to admins and stored as text).
fn describe(err: &reqwest::Error) -> String {
    let mut parts = vec![err.without_url_ref().to_string()];
    parts.extend(sources(err).map(|e| e.to_string()));
    parts.dedup();
    parts
        .join(": ")
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text
                .replace(&format!(" ({url})"), "")
                .replace(url.as_str(), "<url>"),
            None => text,
        }
    }
}
