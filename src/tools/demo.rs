//! Demo data for `herald serve --demo`: a few endpoints and two days of events whose deliveries
//! cover every status, so a first look at the portal shows a realistic log. Loaded once (only
//! into a database without endpoints) and never without the flag.

use crate::domain::event::envelope;
use crate::domain::signing::secret_from_key;
use crate::server::crypto::SecretBox;
use crate::server::service::events::{PublishRequest, publish};
use anyhow::Context;
use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sqlx::{PgPool, Postgres, Transaction};
use std::net::SocketAddr;
use tokio::sync::watch;
use uuid::Uuid;

struct DemoEndpoint {
    name: &'static str,
    url: &'static str,
    types: &'static [&'static str],
    /// Percent of deliveries that fail.
    failure_rate: u32,
}

const ENDPOINTS: &[DemoEndpoint] = &[
    DemoEndpoint {
        name: "Billing service",
        url: "https://billing.example.com/webhooks/herald",
        types: &["payment.succeeded", "payment.failed", "invoice.purchase"],
        failure_rate: 10,
    },
    DemoEndpoint {
        name: "CRM sync",
        url: "https://crm.example.org/api/hooks",
        types: &[],
        failure_rate: 30,
    },
    DemoEndpoint {
        name: "License server",
        url: "https://licenses.example.net/events",
        types: &[
            "license.assigned",
            "license.revoked",
            "customer.status_changed",
        ],
        failure_rate: 60,
    },
];

const DEMO_SEED: u64 = 2026;

const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "payment.succeeded",
    "payment.failed",
    "invoice.purchase",
    "license.assigned",
    "license.revoked",
    "customer.status_changed",
    "file.uploaded",
];

/// Loads the demo data unless the database already has endpoints. `addr` is where the demo's
/// test receiver listens: one demo endpoint points at it, so live deliveries succeed.
pub async fn load(pool: &PgPool, secrets: &SecretBox, addr: SocketAddr) -> anyhow::Result<()> {
    let local_url = format!("http://{addr}/hooks");
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM endpoints")
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        // The receiver may listen elsewhere this time: point its endpoint there.
        sqlx::query("UPDATE endpoints SET url = $1 WHERE name = 'Local receiver' AND description = 'Demo endpoint'")
            .bind(&local_url)
            .execute(pool)
            .await?;
        return Ok(());
    }
    sqlx::query("SELECT herald_ensure_partitions(current_date - 3, current_date)")
        .execute(pool)
        .await?;
    let mut tx = pool.begin().await?;
    let mut endpoint_ids = Vec::new();
    for endpoint in ENDPOINTS {
        endpoint_ids.push(
            insert_endpoint(
                &mut tx,
                endpoint.name,
                endpoint.url,
                endpoint.types,
                secrets,
            )
            .await?,
        );
    }
    insert_endpoint(&mut tx, "Local receiver", &local_url, &[], secrets).await?;
    // A fixed seed: the demo's outcomes are the same on every start, so what the end-to-end
    // tests look for (failed payments, say) is there every time, not by chance.
    let mut rng = StdRng::seed_from_u64(DEMO_SEED);
    let now = Utc::now();
    let mut count = 0;
    for n in 0..60 {
        let event_type = EVENT_TYPES[n % EVENT_TYPES.len()];
        let created_at = now - Duration::minutes(rng.gen_range(1..2 * 24 * 60));
        let event_id = insert_event(&mut tx, event_type, created_at, n).await?;
        for (endpoint, endpoint_id) in ENDPOINTS.iter().zip(&endpoint_ids) {
            if endpoint.types.is_empty() || endpoint.types.contains(&event_type) {
                insert_delivery(
                    &mut tx,
                    &mut rng,
                    event_id,
                    (*endpoint_id, endpoint.url),
                    event_type,
                    created_at,
                    endpoint.failure_rate,
                )
                .await?;
                count += 1;
            }
        }
    }
    tx.commit().await.context("saving demo data")?;
    println!(
        "herald: demo data loaded ({} endpoints, 60 events, {count} deliveries)",
        ENDPOINTS.len() + 1
    );
    Ok(())
}

/// Publishes a demo event `every` so often, so the log shows live traffic.
pub async fn ticker(pool: PgPool, every: std::time::Duration, mut shutdown: watch::Receiver<bool>) {
    let mut n = 0usize;
    while !*shutdown.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        n += 1;
        let event_type = EVENT_TYPES[n % EVENT_TYPES.len()];
        let text = format!(
            r#"{{"demo":true,"live":{n},"customer_id":"cus_{:04}"}}"#,
            2000 + n
        );
        let Ok(data) = serde_json::value::RawValue::from_string(text) else {
            continue;
        };
        if let Err(err) = publish(&pool, PublishRequest::automatic(event_type, &data)).await {
            tracing::warn!(error = %err, "demo ticker could not publish");
        }
    }
}

async fn insert_endpoint(
    tx: &mut Transaction<'_, Postgres>,
    name: &str,
    url: &str,
    types: &[&str],
    secrets: &SecretBox,
) -> anyhow::Result<Uuid> {
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let id = Uuid::now_v7();
    let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    sqlx::query(
        r#"INSERT INTO endpoints (id, name, url, description, event_types, secret_encrypted)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
    )
    .bind(id)
    .bind(name)
    .bind(url)
    .bind("Demo endpoint")
    .bind(&types)
    .bind(secrets.encrypt(&secret_from_key(&key)))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

async fn insert_event(
    tx: &mut Transaction<'_, Postgres>,
    event_type: &str,
    created_at: chrono::DateTime<Utc>,
    n: usize,
) -> anyhow::Result<Uuid> {
    let id = uuid_at(created_at);
    let data = format!(
        r#"{{"demo":true,"sequence":{n},"customer_id":"cus_{:04}"}}"#,
        1000 + n
    );
    sqlx::query("INSERT INTO events (id, type, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(event_type)
        .bind(envelope(id, event_type, created_at, &data))
        .bind(created_at)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Picks an outcome (success, failure after retries, or a retry still scheduled) and writes the
/// delivery with the attempts that outcome implies.
async fn insert_delivery(
    tx: &mut Transaction<'_, Postgres>,
    rng: &mut StdRng,
    event_id: Uuid,
    (endpoint_id, url): (Uuid, &str),
    event_type: &str,
    created_at: chrono::DateTime<Utc>,
    failure_rate: u32,
) -> anyhow::Result<()> {
    let roll = rng.gen_range(0..100);
    let (status, codes): (&str, Vec<Option<i16>>) = if roll >= failure_rate {
        ("succeeded", vec![Some(200)])
    } else if roll % 3 == 0 {
        ("retrying", vec![Some(503)])
    } else if roll % 3 == 1 {
        ("failed", vec![Some(500), Some(502), Some(500), Some(500)])
    } else {
        ("failed", vec![None, None, None, None])
    };
    let id = uuid_at(created_at);
    let last_code = *codes.last().unwrap_or(&None);
    let last_class = if last_code.is_none() {
        Some("connect")
    } else if status == "succeeded" {
        None
    } else {
        Some("http_status")
    };
    let offsets = [0i64, 60, 360, 1860];
    let last_at = created_at + Duration::seconds(offsets[codes.len() - 1]);
    let next_at =
        (status == "retrying").then(|| Utc::now() + Duration::minutes(rng.gen_range(1..5)));
    sqlx::query(
        r#"INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempt_count,
               next_attempt_at, last_attempt_at, last_response_status, last_error_class,
               last_duration_ms, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $8)"#,
    )
    .bind(id)
    .bind(event_id)
    .bind(endpoint_id)
    .bind(event_type)
    .bind(status)
    .bind(codes.len() as i32)
    .bind(next_at)
    .bind(last_at)
    .bind(last_code)
    .bind(last_class)
    .bind(rng.gen_range(40..900))
    .bind(created_at)
    .execute(&mut **tx)
    .await?;
    for (n, code) in codes.iter().enumerate() {
        insert_attempt(
            tx,
            (id, url),
            n as i32 + 1,
            created_at + Duration::seconds(offsets[n]),
            *code,
        )
        .await?;
    }
    Ok(())
}

async fn insert_attempt(
    tx: &mut Transaction<'_, Postgres>,
    (delivery_id, url): (Uuid, &str),
    number: i32,
    started_at: chrono::DateTime<Utc>,
    code: Option<i16>,
) -> anyhow::Result<()> {
    let (body, class, message) = match code {
        Some(200) => (Some(r#"{"received":true}"#), None, None),
        Some(_) => (
            Some(r#"{"error":"upstream unavailable"}"#),
            Some("http_status"),
            Some("endpoint answered with an error status"),
        ),
        None => (None, Some("connect"), Some("connection refused")),
    };
    let headers = serde_json::json!([
        ["content-type", "application/json"],
        ["user-agent", concat!("Herald/", env!("CARGO_PKG_VERSION"))]
    ]);
    sqlx::query(
        r#"INSERT INTO delivery_attempts (id, delivery_id, attempt_number, trigger, started_at,
               duration_ms, request_url, request_headers, response_status, response_headers,
               response_body, error_class, error_message)
           VALUES ($1, $2, $3, 'auto', $4, $5, $12, $6, $7, $8, $9, $10, $11)"#,
    )
    .bind(uuid_at(started_at))
    .bind(delivery_id)
    .bind(number)
    .bind(started_at)
    .bind(rand::thread_rng().gen_range(40..900))
    .bind(headers)
    .bind(code)
    .bind(code.map(|_| b"content-type: application/json\r\n".to_vec()))
    .bind(body.map(str::as_bytes))
    .bind(class)
    .bind(message)
    .bind(url)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A UUID v7 carrying `at` as its timestamp, so backdated rows land in the right partition.
fn uuid_at(at: chrono::DateTime<Utc>) -> Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        at.timestamp() as u64,
        at.timestamp_subsec_nanos(),
    );
    Uuid::new_v7(ts)
}
