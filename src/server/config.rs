//! Command-line and environment configuration. `herald --help` is the reference; every field
//! has a doc comment, which clap shows there.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Self-hosted webhook delivery with an admin portal"
)]
pub struct Cli {
    /// PostgreSQL connection URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/herald",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Log lines as `text` or as `json` (one object per line, with the request or attempt span).
    #[arg(long, env = "HERALD_LOG_FORMAT", global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Herald: the portal, the REST API and the dispatcher (flags turn parts off).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Create a user, or reset the password and role of an existing one.
    CreateAdmin(CreateAdminArgs),
    /// Create a REST API key (printed once).
    CreateApiKey(CreateApiKeyArgs),
    /// Run a local webhook receiver that records requests and checks signatures.
    Receiver(ReceiverArgs),
    /// Measure the dispatcher (use a scratch database): deliveries per second and
    /// publish-to-attempt latency against a local receiver.
    Bench(BenchArgs),
    /// Measure the delivery log (use a scratch database): generate deliveries, then time the
    /// log's queries for each filter, search and sort.
    BenchLog(BenchLogArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "HERALD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The portal's address as users' browsers reach it (scheme, host, port; e.g.
    /// https://herald.example.com). State-changing requests must come from it, and requests
    /// for any other host are refused. Default: http://<--listen> (and http://localhost:<port>
    /// when listening on loopback); required when listening on every interface.
    #[arg(long, env = "HERALD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Load demo endpoints, events and deliveries (once) so the portal has something to show,
    /// and run a local test receiver for them on its own address (see --demo-receiver-listen).
    #[arg(long, env = "HERALD_DEMO")]
    pub demo: bool,

    /// With --demo: where the demo's test receiver listens (never on the portal's address; port
    /// 0 picks a free one). Its control API needs the token printed at start, or
    /// HERALD_RECEIVER_TOKEN.
    #[arg(
        long,
        env = "HERALD_DEMO_RECEIVER_LISTEN",
        default_value = "127.0.0.1:0"
    )]
    pub demo_receiver_listen: SocketAddr,

    /// With --demo: seconds between the demo's live events (0: none).
    #[arg(long, env = "HERALD_DEMO_TICKER_SECS", default_value_t = 15)]
    pub demo_ticker_secs: u64,

    /// With --demo: the demo receiver's control token (default: a random one, printed).
    #[arg(long, env = "HERALD_RECEIVER_TOKEN", hide_env_values = true)]
    pub receiver_token: Option<String>,

    /// Folder with the built front end (`pkg/` with wasm, JS and CSS), made by cargo-leptos.
    /// Defaults to `site/` in the cargo target folder the binary was built in.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Base64 of the 32-byte key that encrypts endpoint secrets at rest. When absent, a key is
    /// generated once and kept in `<data-dir>/secret.key`.
    #[arg(long, env = "HERALD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Folder for files Herald keeps between runs (the generated secret key).
    #[arg(long, env = "HERALD_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,

    /// Mark the session cookie `Secure` (on by itself when --public-url is https://).
    #[arg(long, env = "HERALD_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// How long a portal session lasts, in hours.
    #[arg(long, env = "HERALD_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,

    /// Serve /metrics on the main listener to requests with `Authorization: Bearer <token>`.
    #[arg(long, env = "HERALD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Serve /metrics, without a token, on this address of its own (a private network).
    #[arg(long, env = "HERALD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Send alert emails through this SMTP server: smtp://host:25, smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://host:465. Without it, alerts go to the portal, the audit log and
    /// operational webhooks only.
    #[arg(long, env = "HERALD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of alert emails.
    #[arg(
        long,
        env = "HERALD_SMTP_FROM",
        default_value = "Herald <herald@localhost>"
    )]
    pub smtp_from: String,

    /// How often alert rules are checked, in seconds.
    #[arg(long, env = "HERALD_ALERT_CHECK_SECS", default_value_t = 10)]
    pub alert_check_secs: u64,

    /// An event-stream client (GET /api/v1/events/stream) that leaves this many seconds'
    /// worth of events unread while its buffer is full is cut off (it may reconnect and resume).
    #[arg(long, env = "HERALD_STREAM_STALL_SECS", default_value_t = 10)]
    pub stream_stall_secs: u64,

    /// Event streams this process holds open at most; more are refused with 429 (each open
    /// stream reads PostgreSQL about once a second).
    #[arg(long, env = "HERALD_MAX_STREAMS", default_value_t = 256)]
    pub max_streams: usize,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated addresses or
    /// networks, e.g. 127.0.0.1,10.0.0.0/8). Sign-in throttling counts per client address;
    /// behind a proxy that is not listed here, every user shares the proxy's address.
    #[arg(long, env = "HERALD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::server::auth::limiter::parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Do not serve the portal pages (the REST API, /metrics and health checks stay).
    #[arg(long, env = "HERALD_NO_PORTAL")]
    pub no_portal: bool,

    /// Do not deliver webhooks from this process (run dispatchers elsewhere).
    #[arg(long, env = "HERALD_NO_DISPATCHER")]
    pub no_dispatcher: bool,

    #[command(flatten)]
    pub dispatch: DispatchArgs,
}

/// How webhooks are delivered.
#[derive(Debug, Args, Clone)]
pub struct DispatchArgs {
    /// Delay before each retry after a failed attempt (s, m or h suffix); the delivery fails
    /// after the last one. Endpoints can override it.
    #[arg(long, env = "HERALD_RETRY_SCHEDULE", default_value = "1m,5m,25m")]
    pub retry_schedule: String,

    /// Total time allowed for one attempt, in milliseconds (endpoints can override it).
    #[arg(long, env = "HERALD_TIMEOUT_MS", default_value_t = 10_000)]
    pub timeout_ms: u64,

    /// Time allowed to connect, in milliseconds.
    #[arg(long, env = "HERALD_CONNECT_TIMEOUT_MS", default_value_t = 5_000)]
    pub connect_timeout_ms: u64,

    /// Networks webhooks may reach although they are internal (e.g. 10.0.0.0/8), comma-separated.
    /// Loopback, private, link-local and metadata addresses are refused otherwise.
    #[arg(long, env = "HERALD_ALLOW_CIDRS", value_delimiter = ',')]
    pub allow_cidrs: Vec<String>,

    /// Send webhooks through this HTTP(S) proxy. Without it, proxy variables in the environment
    /// are ignored (a proxy resolves names past the SSRF guard); with it, the guard checks only
    /// IP-literal URLs and the proxy must enforce where webhooks may go.
    #[arg(long, env = "HERALD_EGRESS_PROXY")]
    pub egress_proxy: Option<String>,

    /// Allow plain http:// endpoint URLs (off: HTTPS only). `--demo` turns it on.
    #[arg(long, env = "HERALD_ALLOW_HTTP")]
    pub allow_http: bool,

    /// Largest event payload accepted by the API, in bytes.
    #[arg(long, env = "HERALD_MAX_PAYLOAD_BYTES", default_value_t = 1024 * 1024)]
    pub max_payload_bytes: usize,

    /// Disable an endpoint after this many hours without a successful delivery.
    #[arg(long, env = "HERALD_DISABLE_AFTER_HOURS", default_value_t = 120)]
    pub disable_after_hours: u64,

    /// Keep the delivery log (events, deliveries, attempts) this many days.
    #[arg(long, env = "HERALD_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: u32,

    /// Concurrent claim-send-record loops in this process.
    #[arg(
        long = "dispatch-lanes",
        env = "HERALD_DISPATCH_LANES",
        default_value_t = 4
    )]
    pub lanes: usize,

    /// Deliveries claimed per batch.
    #[arg(long, env = "HERALD_BATCH_SIZE", default_value_t = 256)]
    pub batch_size: i64,

    /// Most webhook requests in flight in this process.
    #[arg(long, env = "HERALD_MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: usize,

    /// Commit delivery results without waiting for PostgreSQL's disk (synchronous_commit=off
    /// for the result writer only). Faster; but if PostgreSQL itself crashes, the attempts of
    /// its last moment are lost from the log and those deliveries are sent again.
    #[arg(long, env = "HERALD_ASYNC_RESULT_COMMIT")]
    pub async_result_commit: bool,
}

#[derive(Debug, Args)]
pub struct CreateApiKeyArgs {
    /// A name that says who uses the key.
    #[arg(long)]
    pub name: String,
    /// What the key may do, comma-separated: publish (events only), read, manage.
    #[arg(long, value_delimiter = ',', default_value = "publish")]
    pub scope: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReceiverArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// The endpoint's whsec_ secret, to check signatures.
    #[arg(long, env = "HERALD_RECEIVER_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Bearer token of the control API (default: a random one, printed at start).
    #[arg(long, env = "HERALD_RECEIVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Events to publish in the throughput run.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Endpoints each event goes to.
    #[arg(long, default_value_t = 5)]
    pub endpoints: usize,
    /// Events per second in the latency run.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Seconds the latency run lasts.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[command(flatten)]
    pub dispatch: DispatchArgs,
}

#[derive(Debug, Args)]
pub struct BenchLogArgs {
    /// Deliveries to generate (five per event, one attempt each); existing data is reused.
    #[arg(long, default_value_t = 10_000_000)]
    pub deliveries: i64,
    /// Timed runs per query.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
}

#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    /// Email address to sign in with.
    #[arg(long)]
    pub email: String,
    /// Password (at least 8 characters).
    #[arg(long, env = "HERALD_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Role: owner, admin or member.
    #[arg(long, default_value = "owner", value_parser = ["owner", "admin", "member"])]
    pub role: String,
    /// Enable the user if disabled (without it, a disabled user is refused).
    #[arg(long)]
    pub enable: bool,
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl DispatchArgs {
    /// The dispatcher's settings, or a message naming the bad flag.
    pub fn dispatch_config(&self) -> anyhow::Result<crate::server::dispatcher::DispatchConfig> {
        use crate::domain::retry::{RetryPolicy, parse_schedule};
        use std::time::Duration;
        let schedule = parse_schedule(&self.retry_schedule)
            .map_err(|e| anyhow::anyhow!("--retry-schedule: {e}"))?;
        let timeout = Duration::from_millis(self.timeout_ms.clamp(100, 120_000));
        Ok(crate::server::dispatcher::DispatchConfig {
            lanes: self.lanes.clamp(1, 64),
            batch_size: self.batch_size.clamp(1, 5_000),
            lease_margin: Duration::from_secs(5),
            timeout,
            policy: RetryPolicy {
                schedule,
                ..RetryPolicy::default()
            },
            poll_interval: Duration::from_millis(500),
            max_in_flight: self.max_in_flight.clamp(1, 100_000),
            disable_after: Duration::from_secs(self.disable_after_hours.max(1) * 3600),
            health_every: crate::server::dispatcher::recorder::HEALTH_EVERY,
            async_result_commit: self.async_result_commit,
        })
    }

    /// The SSRF allowlist; loopback is added in demo mode so the local receiver works.
    pub fn allowlist(&self, demo: bool) -> anyhow::Result<Vec<crate::domain::net::Cidr>> {
        use crate::domain::net::Cidr;
        let mut cidrs = self
            .allow_cidrs
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| Cidr::parse(c).map_err(|e| anyhow::anyhow!("--allow-cidrs: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if demo {
            cidrs.push(Cidr::parse("127.0.0.0/8").map_err(anyhow::Error::msg)?);
            cidrs.push(Cidr::parse("::1/128").map_err(anyhow::Error::msg)?);
        }
        Ok(cidrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://herald:s3cret@db:5432/herald"),
            "postgres://herald:***@db:5432/herald"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/herald"),
            "postgres://postgres@127.0.0.1/herald"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let err = Cli::try_parse_from([
            "herald",
            "create-admin",
            "--email",
            "a@b.c",
            "--password",
            "x",
            "--role",
            "root",
        ]);
        assert!(err.is_err());
        let ok =
            Cli::try_parse_from(["herald", "serve", "--demo", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(matches!(ok.command, Command::Serve(args) if args.demo));
    }
}
