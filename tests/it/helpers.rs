//! Shared helpers for the integration tests: a real Herald router on a loopback port, users,
//! sign-in over HTTP, and small fixtures written with plain SQL.

use herald::domain::role::Role;
use herald::server::crypto::SecretBox;
use herald::server::state::{AppState, Settings};
use herald::server::{auth, db, http};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A REST API request to `path`, authenticated with the API key `key`.
    pub fn api(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }

    /// A REST API request without a body; its response.
    pub async fn send(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::Response {
        self.api(method, path, key).send().await.unwrap()
    }

    /// A REST API request with a JSON body; its response.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.api(method, path, key).json(body).send().await.unwrap()
    }

    /// Calls a server function as a form post (as a page's script does), with an optional
    /// session cookie.
    pub async fn call(
        &self,
        function: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/api/{function}")))
            .form(form);
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// GETs `path` from the REST API with the API key `key`; the JSON body.
    pub async fn get_json(&self, path: &str, key: &str) -> serde_json::Value {
        let response = self.api(reqwest::Method::GET, path, key).send().await;
        response.unwrap().json().await.unwrap()
    }
}

/// How long a test server's event stream waits for a client that reads nothing.
pub const STREAM_STALL_LIMIT: Duration = Duration::from_secs(2);

/// How many event streams a test server holds open at once.
pub const MAX_STREAMS: usize = 4;

/// The `/metrics` bearer token of test servers.
pub const METRICS_TOKEN: &str = "metrics-test-token";

use herald::server::auth::limiter::{LoginLimiter, parse_proxy};

pub fn test_state(pool: PgPool) -> AppState {
    test_state_at(pool, "127.0.0.1:9".parse().unwrap())
}

/// The state of a server listening at `addr` (its public origin is `http://<addr>`).
pub fn test_state_at(pool: PgPool, addr: std::net::SocketAddr) -> AppState {
    let mut leptos_options = leptos::config::get_configuration(Some("Cargo.toml"))
        .expect("Cargo.toml has [package.metadata.leptos]")
        .leptos_options;
    // No `cargo leptos build` wrote a list of hashed names beside the test binary: pages link
    // the plain ones (as `herald serve` does in that case).
    leptos_options.hash_files = false;
    let settings = Settings {
        secure_cookies: false,
        session_ttl: Duration::from_secs(3600),
        secrets: SecretBox::new(&[7u8; 32]).unwrap(),
        max_payload_bytes: 1024 * 1024,
        allow_http: true,
        // As behind a reverse proxy on loopback: tests name the client in X-Forwarded-For.
        login_limiter: LoginLimiter::new(vec![parse_proxy("127.0.0.1").unwrap()]),
        public: Arc::new(herald::server::origin::PublicOrigin::new(None, addr).unwrap()),
        metrics_token: Some(METRICS_TOKEN.into()),
        stream_stall_limit: STREAM_STALL_LIMIT,
        stream_slots: Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS)),
    };
    // Never closing: test servers live as long as their test.
    let (keep, closing) = tokio::sync::watch::channel(false);
    std::mem::forget(keep);
    let lookups = herald::server::lookups::Lookups::start(pool.clone());
    AppState {
        leptos_options,
        publisher: herald::server::service::gather::Gatherer::start(pool.clone(), lookups.clone()),
        lookups,
        pool,
        settings: Arc::new(settings),
        closing,
    }
}

/// Serves the full router on 127.0.0.1:<random port>. The client never follows redirects, so
/// tests can assert them.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with_state(pool).await.0
}

/// [`spawn_app`], and the state the server runs with.
pub async fn spawn_app_with_state(pool: PgPool) -> (TestApp, AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = test_state_at(pool.clone(), addr);
    let app = http::router(state.clone(), true);
    // The product's own listener (its limits included); the server lives as long as the test.
    let (keep, running) = tokio::sync::watch::channel(false);
    std::mem::forget(keep);
    tokio::spawn(herald::server::listener::serve(listener, app, running));
    // The portal's own pages send their origin with every form post; so does this client.
    let mut origin = reqwest::header::HeaderMap::new();
    origin.insert(
        reqwest::header::ORIGIN,
        format!("http://{addr}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(origin)
        .build()
        .unwrap();
    let app = TestApp {
        base: format!("http://{addr}"),
        client,
    };
    (app, state)
}

pub async fn create_user(pool: &PgPool, email: &str, password: &str, role: Role) {
    let hash = auth::password::hash(password.to_string()).await.unwrap();
    db::users::upsert(pool, email, &hash, role, true)
        .await
        .unwrap();
}

/// Signs in through the login server function, as a browser's form without JavaScript would.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Loads a portal page as a browser does (Accept: text/html), with an optional session.
pub async fn get_page(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path)).header("accept", "text/html");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The `Cookie` header value of a fresh session.
pub async fn session_cookie(app: &TestApp, email: &str, password: &str) -> String {
    let response = sign_in(app, email, password).await;
    let set_cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .unwrap_or_else(|| panic!("no session cookie; status {}", response.status()))
        .to_str()
        .unwrap();
    set_cookie.split(';').next().unwrap().to_string()
}

/// An endpoint with one event and one delivery in the given status; returns (endpoint, delivery).
pub async fn delivery_fixture(
    pool: &PgPool,
    endpoint_name: &str,
    status: &str,
    code: Option<i16>,
) -> (Uuid, Uuid) {
    let endpoint = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, $2, 'https://hooks.example.com/in', '\\x00')",
    )
    .bind(endpoint)
    .bind(endpoint_name)
    .execute(pool)
    .await
    .unwrap();
    let event = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now())",
    )
    .bind(event)
    .execute(pool)
    .await
    .unwrap();
    let delivery = Uuid::now_v7();
    sqlx::query(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempt_count,
               last_response_status, last_attempt_at, created_at)
           VALUES ($1, $2, $3, 'user.created', $4, 1, $5, now(), now())"#,
    )
    .bind(delivery)
    .bind(event)
    .bind(endpoint)
    .bind(status)
    .bind(code)
    .execute(pool)
    .await
    .unwrap();
    (endpoint, delivery)
}
