//! Command-line and environment configuration. `herald --help` is the reference; every field
//! has a doc comment, which clap shows there.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "herald", version, about = "Self-hosted webhook delivery with an admin portal")]
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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal (and, in later versions, the API and dispatcher).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create a user, or reset the password and role of an existing one.
    CreateAdmin(CreateAdminArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "HERALD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Load demo endpoints, events and deliveries (once) so the portal has something to show.
    #[arg(long, env = "HERALD_DEMO")]
    pub demo: bool,

    /// Folder with the built front end (`pkg/` with wasm, JS and CSS), made by cargo-leptos.
    /// Defaults to `target/site` next to the binary's `target/<profile>/` folder.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Base64 of the 32-byte key that encrypts endpoint secrets at rest. When absent, a key is
    /// generated once and kept in `<data-dir>/secret.key`.
    #[arg(long, env = "HERALD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Folder for files Herald keeps between runs (the generated secret key).
    #[arg(long, env = "HERALD_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,

    /// Mark the session cookie `Secure` (set this when the portal is served over HTTPS).
    #[arg(long, env = "HERALD_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// How long a portal session lasts, in hours.
    #[arg(long, env = "HERALD_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,
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
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact_url("postgres://herald:s3cret@db:5432/herald"), "postgres://herald:***@db:5432/herald");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/herald"), "postgres://postgres@127.0.0.1/herald");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let err = Cli::try_parse_from(["herald", "create-admin", "--email", "a@b.c", "--password", "x", "--role", "root"]);
        assert!(err.is_err());
        let ok = Cli::try_parse_from(["herald", "serve", "--demo", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(matches!(ok.command, Command::Serve(ServeArgs { demo: true, .. })));
    }
}
