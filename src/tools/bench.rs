//! `herald bench`: measures the dispatcher end to end on this machine against a minimal local
//! receiver, and the receiver's own ceiling with a plain HTTP load loop, then prints a table.
//! Run it on a scratch database (scripts/bench.sh makes a fresh one).

use super::receiver::Receiver;
use crate::domain::signing::secret_from_key;
use crate::server::config::BenchArgs;
use crate::server::crypto::SecretBox;
use crate::server::dispatcher::Dispatcher;
use crate::server::dispatcher::send::Sender;
use crate::server::service::gather::Gatherer;
use anyhow::Context;
use serde_json::value::RawValue;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

const DATA: &str = r#"{"user_id":"usr_8f14e45fceea167a","email":"ada@example.com","name":"Ada Lovelace","plan":"pro","seats":12}"#;

pub async fn run(pool: PgPool, args: BenchArgs) -> anyhow::Result<()> {
    let receiver = Receiver::new(None, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = receiver.clone().router();
    tokio::spawn(async move { axum::serve(listener, router).await });

    println!(
        "herald bench: {} events × {} endpoints, then {} events/s for {} s",
        args.events, args.endpoints, args.rate, args.seconds
    );
    let ceiling = raw_ceiling(addr, Duration::from_secs(5)).await?;

    let secrets = SecretBox::new(&[42u8; 32])?;
    let mut config = args.dispatch.dispatch_config()?;
    config.poll_interval = Duration::from_millis(200);
    let allowlist = args.dispatch.allowlist(true)?;
    let sender = Sender::new(Duration::from_secs(5), allowlist, 256, None)?;
    let (stop, stopped) = watch::channel(false);
    let dispatcher = Dispatcher::new(pool.clone(), sender, secrets.clone(), config);
    // Publishes take the product's path: the group writer, handing deliveries to this process's
    // dispatcher as `herald serve` does.
    let lookups = crate::server::lookups::Lookups::start(pool.clone());
    let publisher = Gatherer::start(pool.clone(), lookups);
    publisher.hand_to(dispatcher.handoff());
    let dispatcher = tokio::spawn(dispatcher.run(stopped));

    let url = format!("http://{addr}/hook");
    let throughput_endpoints =
        create_endpoints(&pool, &secrets, &url, args.endpoints, "bench.throughput").await?;
    let (deliveries, elapsed) = throughput(&pool, &publisher, args.events, args.endpoints).await?;
    disable(&pool, &throughput_endpoints).await?;

    let latency_endpoint = create_endpoints(&pool, &secrets, &url, 1, "bench.latency").await?;
    let (sent, p50, p99) = latency(
        &pool,
        &publisher,
        args.rate,
        args.seconds,
        latency_endpoint[0],
    )
    .await?;
    let _ = stop.send(true);
    dispatcher.await??;

    let per_sec = deliveries as f64 / elapsed.as_secs_f64();
    println!();
    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!("| receiver ceiling (plain HTTP load loop, 256 concurrent) | {ceiling:.0} req/s | |");
    println!(
        "| end-to-end deliveries (publish → signed POST → 2xx → attempt recorded) | {per_sec:.0} /s ({deliveries} in {:.1} s) | ≥ 20,000 /s |",
        elapsed.as_secs_f64()
    );
    println!(
        "| Herald's share of the receiver ceiling | {:.0} % | |",
        100.0 * per_sec / ceiling
    );
    println!(
        "| publish → first attempt at {} events/s, p50 | {p50:.1} ms ({sent} events) | |",
        args.rate
    );
    println!(
        "| publish → first attempt at {} events/s, p99 | {p99:.1} ms | < 20 ms |",
        args.rate
    );
    println!("| receiver requests seen | {} | |", receiver.count());
    Ok(())
}

/// Requests per second the receiver answers when driven directly.
async fn raw_ceiling(addr: SocketAddr, duration: Duration) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let url = format!("http://{addr}/hook");
    let body =
        crate::domain::event::envelope(Uuid::now_v7(), "user.created", chrono::Utc::now(), DATA);
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..256 {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        workers.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                if client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok()
                {
                    done += 1;
                }
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = workers.join_next().await {
        total += done?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn create_endpoints(
    pool: &PgPool,
    secrets: &SecretBox,
    url: &str,
    count: usize,
    event_type: &str,
) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query("INSERT INTO event_types (name, description) VALUES ($1, 'benchmark') ON CONFLICT DO NOTHING")
        .bind(event_type)
        .execute(pool)
        .await?;
    let mut ids = Vec::new();
    for n in 0..count {
        let id = Uuid::now_v7();
        let secret = secrets.encrypt(&secret_from_key(&[n as u8 + 1; 24]));
        sqlx::query("INSERT INTO endpoints (id, name, url, event_types, secret_encrypted) VALUES ($1, $2, $3, ARRAY[$4], $5)")
            .bind(id)
            .bind(format!("{event_type} {n} {id}"))
            .bind(url)
            .bind(event_type)
            .bind(secret)
            .execute(pool)
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn disable(pool: &PgPool, ids: &[Uuid]) -> anyhow::Result<()> {
    sqlx::query("UPDATE endpoints SET enabled = false WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(())
}

/// Publishes `events` as fast as 16 producers can and waits until every delivery succeeded.
async fn throughput(
    pool: &PgPool,
    publisher: &Gatherer,
    events: usize,
    endpoints: usize,
) -> anyhow::Result<(usize, Duration)> {
    let started = Instant::now();
    let data: Arc<Box<RawValue>> = Arc::new(RawValue::from_string(DATA.into())?);
    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..16 {
        let (pool, data, publisher) = (pool.clone(), data.clone(), publisher.clone());
        producers.spawn(async move {
            for _ in (producer..events).step_by(16) {
                publisher
                    .publish(&pool, "bench.throughput", &data, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("publish failed: {e}"))?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = producers.join_next().await {
        done??;
    }
    let expected = events * endpoints;
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE event_type = 'bench.throughput' AND status = 'succeeded'")
            .fetch_one(pool)
            .await?;
        if done as usize >= expected {
            return Ok((expected, started.elapsed()));
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("only {done} of {expected} deliveries succeeded within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes at a steady rate and reads publish → first-attempt latency from the stored rows.
async fn latency(
    pool: &PgPool,
    publisher: &Gatherer,
    rate: u32,
    seconds: u64,
    endpoint: Uuid,
) -> anyhow::Result<(i64, f64, f64)> {
    let data: Arc<Box<RawValue>> = Arc::new(RawValue::from_string(DATA.into())?);
    let ticks_per_sec = 100u32;
    let per_tick = (rate / ticks_per_sec).max(1);
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / u64::from(ticks_per_sec)));
    let mut inflight = tokio::task::JoinSet::new();
    for _ in 0..(seconds * u64::from(ticks_per_sec)) {
        ticker.tick().await;
        for _ in 0..per_tick {
            let (pool, data, publisher) = (pool.clone(), data.clone(), publisher.clone());
            inflight.spawn(async move {
                publisher
                    .publish(&pool, "bench.latency", &data, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("publish failed: {e}"))
            });
        }
        while let Some(done) = inflight.try_join_next() {
            done??;
        }
    }
    while let Some(done) = inflight.join_next().await {
        done??;
    }
    let expected = i64::try_from(seconds * u64::from(per_tick * ticks_per_sec))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (count, p50, p99): (i64, Option<f64>, Option<f64>) = sqlx::query_as(
            r#"SELECT count(*),
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
               FROM (SELECT extract(epoch FROM a.started_at - d.created_at) * 1000 AS ms
                     FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id AND a.attempt_number = 1
                     WHERE d.endpoint_id = $1) t"#,
        )
        .bind(endpoint)
        .fetch_one(pool)
        .await
        .context("reading latencies")?;
        if count >= expected || Instant::now() > deadline {
            return Ok((count, p50.unwrap_or_default(), p99.unwrap_or_default()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
