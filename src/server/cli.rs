//! Runs the parsed command. Errors end the process with one readable line, never a panic trace.

use super::config::{Cli, Command, CreateAdminArgs};
use super::db::users::AdminUpsert;
use super::{auth, db, http};
use crate::domain::role::Role;
use crate::domain::user::{check_password, normalize_email};
use crate::tools::{bench, bench_log, receiver};
use anyhow::{Context, bail};
use clap::Parser;
use std::process::ExitCode;

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    super::observe::init_logs(cli.log_format == "json");
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    if let Command::Receiver(args) = cli.command {
        let (receiver, listener) = receiver::start(args.listen, args.secret, args.token).await?;
        return receiver.serve(listener).await;
    }
    let pool = db::connect(&cli.database_url).await?;
    db::migrate(&pool).await?;
    match cli.command {
        Command::Migrate => {
            println!("herald: database is up to date");
            Ok(())
        }
        Command::CreateAdmin(args) => create_admin(&pool, args).await,
        Command::CreateApiKey(args) => create_api_key(&pool, &args.name, &args.scope).await,
        Command::Bench(args) => bench::run(pool, args).await,
        Command::BenchLog(args) => {
            bench_log::generate(&pool, args.deliveries).await?;
            bench_log::measure(&pool, args.runs).await
        }
        Command::Serve(args) => http::serve(pool, *args).await,
        // Served above without a database.
        Command::Receiver(_) => Ok(()),
    }
}

async fn create_admin(pool: &sqlx::PgPool, args: CreateAdminArgs) -> anyhow::Result<()> {
    let Some(email) = normalize_email(&args.email) else {
        bail!("--email {:?} is not an email address", args.email);
    };
    if let Err(problem) = check_password(&args.password) {
        bail!("--password {problem}");
    }
    let role = Role::parse(&args.role).context("--role must be owner, admin or member")?;
    let hash = auth::password::hash(args.password).await?;
    match db::users::upsert(pool, &email, &hash, role, args.enable).await? {
        AdminUpsert::Created => println!("herald: user {email} with role {role} created"),
        AdminUpsert::Updated { sessions_ended } => println!(
            "herald: user {email} updated (password reset, role {role}); \
             {sessions_ended} session(s) signed out"
        ),
        AdminUpsert::RefusedDisabled => {
            bail!("user {email} is disabled; add --enable to enable them with this password")
        }
    }
    Ok(())
}

async fn create_api_key(pool: &sqlx::PgPool, name: &str, scopes: &[String]) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        bail!("--name must be 1 to 100 characters");
    }
    let scopes =
        crate::domain::scope::parse_scopes(scopes).map_err(|p| anyhow::anyhow!("--scope: {p}"))?;
    let (_, key) = db::api_keys::create(pool, name, &scopes, None).await?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    println!(
        "herald: API key {name:?} ({}) created; it is shown only now:\n{key}",
        names.join(", ")
    );
    Ok(())
}
