//! The portal's public origin, and the checks that keep other sites out of an admin's session:
//! a request for a host that is not the portal's is refused (a DNS-rebinding page cannot talk
//! to it), and a state-changing request to the portal (a server function, a form post,
//! sign-in, sign-out) must come from the portal's own pages — `Origin` equal to the public
//! origin, or without `Origin` a `Referer` under it, or `Sec-Fetch-Site: same-origin`.
//! The REST API (`/api/v1`, bearer keys, no cookies) and the health and metrics routes are
//! not portal routes.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The origins (`scheme://host[:port]`) the portal answers as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicOrigin {
    origins: Vec<String>,
}

impl PublicOrigin {
    /// `--public-url` when given; otherwise `http://<listen>` (and `http://localhost:<port>` too
    /// for a loopback address). Listening on every interface needs `--public-url`.
    pub fn new(public_url: Option<&str>, listen: SocketAddr) -> anyhow::Result<Self> {
        if let Some(text) = public_url {
            return Ok(Self {
                origins: vec![parse_origin(text)?],
            });
        }
        let ip = listen.ip();
        if ip.is_unspecified() {
            anyhow::bail!(
                "--listen {listen} serves every interface: set --public-url to the address users browse (e.g. https://herald.example.com)"
            );
        }
        let mut origins = vec![format!("http://{listen}")];
        if ip.is_loopback() {
            origins.push(format!("http://localhost:{}", listen.port()));
        }
        Ok(Self { origins })
    }

    /// The first origin: the one links and messages use.
    pub fn primary(&self) -> &str {
        &self.origins[0]
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.origins.iter().any(|o| {
            o.split_once("://")
                .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
        })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// Whether a state-changing request comes from the portal's own pages.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(origin) = text(header::ORIGIN) {
            return self.origin_allowed(origin);
        }
        if let Some(referer) = text(header::REFERER) {
            return self.origins.iter().any(|o| {
                referer.len() > o.len()
                    && referer[..o.len()].eq_ignore_ascii_case(o)
                    && referer.as_bytes()[o.len()] == b'/'
            });
        }
        text(HeaderName::from_static("sec-fetch-site")) == Some("same-origin")
    }
}

/// `scheme://host[:port]` of a URL, which may have no path beyond `/`.
fn parse_origin(text: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|err| anyhow::anyhow!("--public-url {text:?}: {err}"))?;
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    if !scheme_ok || url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        anyhow::bail!("--public-url {text:?} must be http(s)://host[:port], with no path");
    }
    Ok(url.origin().ascii_serialization())
}

/// Routes that are not the portal: the REST API (bearer keys), health and metrics.
fn is_portal_path(path: &str) -> bool {
    !(path.starts_with("/api/v1/") || matches!(path, "/healthz" | "/readyz" | "/metrics"))
}

/// The middleware: wrong host → 421; cross-site write to the portal → 403.
pub async fn guard(
    State(public): State<Arc<PublicOrigin>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if !is_portal_path(request.uri().path()) {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !public.host_allowed(host) {
        let message = format!(
            "this is {}; requests for other hosts are refused",
            public.primary()
        );
        return (StatusCode::MISDIRECTED_REQUEST, message).into_response();
    }
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && !public.same_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_default_origin_follows_the_listen_address() {
        let local = PublicOrigin::new(None, "127.0.0.1:3000".parse().unwrap()).unwrap();
        assert!(local.host_allowed("127.0.0.1:3000"));
        assert!(local.host_allowed("localhost:3000"));
        assert!(!local.host_allowed("evil.example"));
        assert!(!local.host_allowed("127.0.0.1:3001"));
        assert!(PublicOrigin::new(None, "0.0.0.0:3000".parse().unwrap()).is_err());
        let public = PublicOrigin::new(
            Some("https://herald.example.com/"),
            "0.0.0.0:3000".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(public.primary(), "https://herald.example.com");
        assert!(
            PublicOrigin::new(Some("https://h.example/sub"), "0.0.0.0:1".parse().unwrap()).is_err()
        );
    }

    #[test]
    fn writes_need_the_portal_as_origin() {
        let public = PublicOrigin::new(
            Some("https://herald.example.com"),
            "0.0.0.0:3000".parse().unwrap(),
        )
        .unwrap();
        assert!(public.same_origin(&headers(&[("origin", "https://herald.example.com")])));
        assert!(
            !public.same_origin(&headers(&[("origin", "http://herald.example.com")])),
            "the scheme counts"
        );
        assert!(!public.same_origin(&headers(&[("origin", "https://evil.example")])));
        assert!(!public.same_origin(&headers(&[("origin", "null")])));
        assert!(public.same_origin(&headers(&[(
            "referer",
            "https://herald.example.com/admin/users"
        )])));
        assert!(!public.same_origin(&headers(&[(
            "referer",
            "https://herald.example.com.evil.example/"
        )])));
        assert!(public.same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!public.same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(
            !public.same_origin(&HeaderMap::new()),
            "no origin at all is refused"
        );
    }
}
