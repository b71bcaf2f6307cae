//! `herald bench log`: fills a scratch database with millions of deliveries (with events and
//! attempts, a realistic mix of statuses, endpoints and types), then times the delivery log's
//! server function (its page query and the rows rendered as HTML) for each filter, search and
//! sort and prints p50/p95 with the plan's index use.

use crate::domain::log_query::LogQuery;
use crate::server::db;
use crate::ui::pages::deliveries::fragment::render;
use anyhow::Context;
use chrono::Utc;
use sqlx::PgPool;
use std::time::{Duration, Instant};

const TYPES: &str =
    "ARRAY['user.created','user.updated','user.deleted','project.created','project.updated',
    'file.uploaded','payment.succeeded','payment.failed','invoice.purchase','license.assigned',
    'license.revoked','customer.status_changed','project.deleted','webhook.test']";

/// Generates `deliveries` rows (5 per event, one attempt each) spread over 30 days.
pub async fn generate(pool: &PgPool, deliveries: i64) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(pool)
        .await?;
    if existing >= deliveries {
        println!("herald bench log: reusing {existing} deliveries already in the database");
        return Ok(());
    }
    let events = deliveries / 5;
    let started = Instant::now();
    sqlx::query("SELECT herald_ensure_partitions(current_date - 31, current_date + 1)")
        .execute(pool)
        .await?;
    sqlx::query(
        r#"INSERT INTO endpoints (id, name, url, secret_encrypted, created_at)
           SELECT herald_uuid_v7(now() - interval '40 days'), 'Endpoint ' || lpad(n::text, 2, '0') || ' ' || (ARRAY['billing','crm','licenses','analytics','mailer'])[1 + n % 5],
                  'https://hooks' || n || '.example.com/herald', '\x00', now() - interval '40 days'
           FROM generate_series(1, 50) n"#,
    )
    .execute(pool)
    .await?;
    step("endpoints", started);
    sqlx::query(&format!(
        r#"INSERT INTO events (id, type, body, created_at)
           SELECT herald_uuid_v7(t), ty, '{{"id":"evt_bench","type":"' || ty || '","created_at":"' || t || '","data":{{"n":' || n || '}}}}', t
           FROM (SELECT n, now() - (n::float8 / $1) * interval '30 days' AS t, ({TYPES})[1 + n % 14] AS ty
                 FROM generate_series(1, $1::bigint) n) s"#
    ))
    .bind(events)
    .execute(pool)
    .await?;
    step("events", started);
    // Five endpoints per event; statuses ~85 % succeeded, 8 % failed, 5 % retrying, 2 % pending.
    sqlx::query(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempt_count,
               next_attempt_at, last_attempt_at, last_response_status, last_error_class,
               last_duration_ms, created_at, updated_at)
           SELECT herald_uuid_v7(e.created_at + k * interval '1 millisecond'), e.id, ep.id, e.type, s.status,
                  CASE s.status WHEN 'pending' THEN 0 WHEN 'failed' THEN 4 WHEN 'retrying' THEN 2 ELSE 1 END,
                  CASE WHEN s.status IN ('pending', 'retrying') THEN now() + interval '5 minutes' END,
                  CASE WHEN s.status <> 'pending' THEN e.created_at + interval '80 milliseconds' END,
                  s.code, s.class, 40 + (r * 900)::int, e.created_at, e.created_at
           FROM events e
           CROSS JOIN generate_series(0, 4) k
           CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM endpoints) eps
           -- A per-row draw in [0, 1) from a hash: random() in a lateral subquery is evaluated once per k.
           CROSS JOIN LATERAL (SELECT (hashtext(e.id::text || ':' || k) & 2147483647)::float8 / 2147483648 AS r) rr
           CROSS JOIN LATERAL (SELECT eps.ids[1 + (abs(hashtext(e.id::text)) + k * 7) % array_length(eps.ids, 1)] AS id) ep
           CROSS JOIN LATERAL (
               SELECT CASE WHEN r < 0.85 THEN 'succeeded' WHEN r < 0.93 THEN 'failed' WHEN r < 0.98 THEN 'retrying' ELSE 'pending' END AS status,
                      CASE WHEN r < 0.85 THEN (ARRAY[200, 200, 201, 204])[1 + (r * 1000)::int % 4]
                           WHEN r < 0.98 AND (r * 1000)::int % 4 <> 0 THEN (ARRAY[500, 502, 503, 404, 429, 410])[1 + (r * 10000)::int % 6]
                      END::smallint AS code,
                      CASE WHEN r >= 0.85 AND r < 0.98 THEN CASE WHEN (r * 1000)::int % 4 = 0 THEN (ARRAY['timeout','connect','dns'])[1 + (r * 10000)::int % 3] ELSE 'http_status' END END AS class
           ) s"#,
    )
    .execute(pool)
    .await?;
    step("deliveries", started);
    sqlx::query(
        r#"INSERT INTO delivery_attempts (id, delivery_id, attempt_number, trigger, started_at, duration_ms,
               request_url, request_headers, response_status, response_body, error_class, error_message)
           SELECT d.id, d.id, 1, 'auto', d.created_at + interval '80 milliseconds', d.last_duration_ms,
                  'https://hooks.example.com/herald', '[["content-type","application/json"]]', d.last_response_status,
                  CASE WHEN d.last_response_status IS NOT NULL THEN convert_to('{"ok":true}', 'UTF8') END, d.last_error_class,
                  CASE WHEN d.last_error_class IS NOT NULL THEN 'bench' END
           FROM deliveries d WHERE d.status <> 'pending'"#,
    )
    .execute(pool)
    .await?;
    step("attempts", started);
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    step("vacuum analyze", started);
    Ok(())
}

fn step(what: &str, started: Instant) {
    println!(
        "herald bench log: {what} done at {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Times each view's page query and prints p50/p95 and the plan's scans.
pub async fn measure(pool: &PgPool, runs: usize) -> anyhow::Result<()> {
    let endpoint: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM endpoints ORDER BY id LIMIT 1 OFFSET 7")
            .fetch_one(pool)
            .await?;
    let event: uuid::Uuid =
        sqlx::query_scalar("SELECT event_id FROM deliveries ORDER BY id DESC LIMIT 1 OFFSET 5000")
            .fetch_one(pool)
            .await?;
    let views: Vec<(&str, String)> = vec![
        ("newest first (no filter)", String::new()),
        ("status=failed", "status=failed".into()),
        ("status=pending", "status=pending".into()),
        ("event=payment.failed", "event=payment.failed".into()),
        ("event=license.* (category)", "event=license.*".into()),
        ("endpoint", format!("endpoint={endpoint}")),
        ("last 24 h", "since=24h".into()),
        ("code=5xx", "code=5xx".into()),
        ("code=none", "code=none".into()),
        (
            "failed + endpoint",
            format!("status=failed&endpoint={endpoint}"),
        ),
        (
            "failed + license.* + 7 d",
            "status=failed&event=license.*&since=7d".into(),
        ),
        (
            "endpoint + 4xx + 24 h",
            format!("endpoint={endpoint}&code=4xx&since=24h"),
        ),
        (
            "pending + endpoint",
            format!("status=pending&endpoint={endpoint}"),
        ),
        ("sort status desc", "sort=status".into()),
        ("sort status asc", "sort=status&dir=asc".into()),
        ("sort status + pending", "sort=status&status=pending".into()),
        ("sort code desc", "sort=code".into()),
        ("sort code asc", "sort=code&dir=asc".into()),
        ("sort code desc + failed", "sort=code&status=failed".into()),
        ("time asc (oldest first)", "dir=asc".into()),
        ("search: webhook name", "q=licenses".into()),
        ("search: event type", "q=customer.status".into()),
        ("search: event id", format!("q=evt_{}", event.simple())),
        ("search: name + failed", "q=billing&status=failed".into()),
    ];
    println!();
    println!("| view | p50 ms | p95 ms | rows | plan |");
    println!("|---|---|---|---|---|");
    for (label, view) in &views {
        let query = LogQuery::from_pairs(view.split('&').filter_map(|p| p.split_once('=')));
        let (p50, p95, rows) = time_page(pool, &query, runs).await?;
        // Page 2 (keyset cursor) of the same view.
        let plan = plan_summary(pool, &query)
            .await
            .unwrap_or_else(|e| format!("(explain failed: {e})"));
        println!("| {label} | {p50:.1} | {p95:.1} | {rows} | {plan} |");
        if let Some(next) = db::log::page(pool, &query, Utc::now()).await?.next {
            let page2 = LogQuery {
                cursor: Some(next),
                ..query.clone()
            };
            let (p50, p95, rows) = time_page(pool, &page2, runs).await?;
            println!("| {label}, next page | {p50:.1} | {p95:.1} | {rows} | keyset |");
        }
    }
    let (p50, p95) = time_detail(pool, runs).await?;
    println!(
        "| delivery detail (row + body + attempts) | {p50:.1} | {p95:.1} | 1 | primary keys |"
    );
    Ok(())
}

async fn time_page(
    pool: &PgPool,
    query: &LogQuery,
    runs: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        // What the log's server function does: read the page and render its rows as HTML.
        let page = db::log::page(pool, query, Utc::now()).await?;
        rows = page.rows.len();
        std::hint::black_box(render(query, page, None));
        times.push(started.elapsed());
    }
    Ok((
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.95),
        rows,
    ))
}

async fn time_detail(pool: &PgPool, runs: usize) -> anyhow::Result<(f64, f64)> {
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM deliveries ORDER BY id DESC LIMIT $1 OFFSET 100000")
            .bind(i64::try_from(runs)?)
            .fetch_all(pool)
            .await?;
    let mut times = Vec::new();
    for id in ids {
        let started = Instant::now();
        let delivery = db::deliveries::get(pool, id).await?.context("delivery")?;
        let _: Option<String> = sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
            .bind(delivery.event_id)
            .fetch_optional(pool)
            .await?;
        db::deliveries::attempts(pool, id).await?;
        times.push(started.elapsed());
    }
    Ok((percentile(&mut times, 0.5), percentile(&mut times, 0.95)))
}

fn percentile(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    let index = ((times.len() as f64 - 1.0) * q).round() as usize;
    times
        .get(index)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default()
}

/// The distinct scan node types of the page query's plan, e.g. "Index Scan on deliveries_status".
async fn plan_summary(pool: &PgPool, query: &LogQuery) -> anyhow::Result<String> {
    let plan = db::log::explain(pool, query, Utc::now()).await?;
    let mut scans: Vec<String> = plan
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("->").trim();
            let scan = line.contains("Scan")
                && (line.contains(" using ")
                    || line.starts_with("Seq Scan")
                    || line.starts_with("Bitmap Index Scan"));
            if !scan {
                return None;
            }
            // "Index Scan Backward using <index> on <table>", "Bitmap Index Scan on <index>",
            // "Seq Scan on <table>": the kind of scan and what it reads.
            let (kind, rest) = line
                .split_once(" using ")
                .or_else(|| line.split_once(" on "))?;
            let name = rest.split_whitespace().next().unwrap_or_default();
            Some(format!("{} {}", kind.trim(), strip_partition(name)))
        })
        .collect();
    scans.sort();
    scans.dedup();
    Ok(scans.join(", "))
}

/// `deliveries_20261101_status_id_idx` → `deliveries_*_status_id_idx`, `deliveries_20261101` →
/// `deliveries_*`: one line for all day partitions.
fn strip_partition(name: &str) -> String {
    let is_day = |part: &str| part.len() == 8 && part.chars().all(|c| c.is_ascii_digit());
    let mut parts: Vec<&str> = name.split('_').collect();
    if parts.len() >= 2 && is_day(parts[1]) {
        parts[1] = "*";
    }
    parts.join("_")
}

#[cfg(test)]
mod tests {
    use super::strip_partition;

    #[test]
    fn day_partitions_collapse_into_one_name() {
        assert_eq!(
            strip_partition("deliveries_20261101_status_id_idx"),
            "deliveries_*_status_id_idx"
        );
        assert_eq!(strip_partition("deliveries_20261127"), "deliveries_*");
        assert_eq!(
            strip_partition("deliveries_default_pkey"),
            "deliveries_default_pkey"
        );
        assert_eq!(strip_partition("endpoints"), "endpoints");
    }
}
