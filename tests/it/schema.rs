//! The schema's promises: seeded catalog, daily partitions keyed by UUID v7 ids, retention by
//! dropping partitions, constraint names the code relies on.

use sqlx::PgPool;
use uuid::Uuid;

async fn partition_of(pool: &PgPool, table: &str, id: Uuid) -> String {
    let sql = format!("SELECT tableoid::regclass::text FROM {table} WHERE id = $1");
    sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn the_event_catalog_is_seeded(pool: PgPool) {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM event_types ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    for expected in [
        "webhook.test",
        "user.created",
        "payment.failed",
        "license.assigned",
        "customer.status_changed",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let bad = sqlx::query("INSERT INTO event_types (name) VALUES ('NoDots')")
        .execute(&pool)
        .await;
    assert!(bad.is_err(), "type names are checked");
}

#[sqlx::test]
async fn log_rows_land_in_the_partition_of_their_day(pool: PgPool) {
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now())",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        partition_of(&pool, "events", id).await,
        format!("events_{today}")
    );

    // An id from far outside the prepared days still lands (in the default partition).
    let old = Uuid::parse_str("00000000-0001-7000-8000-000000000000").unwrap();
    sqlx::query(
        "INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now())",
    )
    .bind(old)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(partition_of(&pool, "events", old).await, "events_default");
}

#[sqlx::test]
async fn retention_drops_whole_days(pool: PgPool) {
    sqlx::query("SELECT herald_ensure_partitions(current_date - 40, current_date - 39)")
        .execute(&pool)
        .await
        .unwrap();
    let old_id: Uuid = sqlx::query_scalar("SELECT herald_uuid_v7(now() - interval '40 days')")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now() - interval '40 days')")
        .bind(old_id)
        .execute(&pool)
        .await
        .unwrap();
    let fresh = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now())",
    )
    .bind(fresh)
    .execute(&pool)
    .await
    .unwrap();

    let dropped: i32 =
        sqlx::query_scalar("SELECT herald_drop_partitions_before(current_date - 30)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(dropped, 6, "two days × events, deliveries, attempts");
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, vec![fresh]);
}

#[sqlx::test]
async fn endpoint_names_are_unique_among_live_endpoints(pool: PgPool) {
    let insert = "INSERT INTO endpoints (id, name, url, secret_encrypted, deleted_at) VALUES ($1, $2, 'https://a.example', '\\x00', $3)";
    let now = chrono::Utc::now();
    sqlx::query(insert)
        .bind(Uuid::now_v7())
        .bind("Billing")
        .bind(Some(now))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(insert)
        .bind(Uuid::now_v7())
        .bind("Billing")
        .bind(None::<chrono::DateTime<chrono::Utc>>)
        .execute(&pool)
        .await
        .unwrap();
    let clash = sqlx::query(insert)
        .bind(Uuid::now_v7())
        .bind("billing")
        .bind(None::<chrono::DateTime<chrono::Utc>>)
        .execute(&pool)
        .await;
    let err = clash.unwrap_err();
    let constraint = err
        .as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_string);
    assert_eq!(constraint.as_deref(), Some("endpoints_name_key"));
}

/// A row can wait in a default partition (the clock was ahead, housekeeping had not run). When
/// its day comes into the window, the hourly job moves it into the day's new partition instead
/// of failing, and retention removes default-partition rows as old as the days it drops.
#[sqlx::test]
async fn housekeeping_handles_rows_waiting_in_the_default_partitions(pool: PgPool) {
    let day_ahead = chrono::Utc::now().date_naive() + chrono::Days::new(5);
    let suffix = day_ahead.format("%Y%m%d");
    sqlx::query(&format!(
        "DROP TABLE events_{suffix}, deliveries_{suffix}, delivery_attempts_{suffix}"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let at = format!("{day_ahead} 12:00:00+00");
    let ahead: Uuid = sqlx::query_scalar("SELECT herald_uuid_v7($1::timestamptz)")
        .bind(&at)
        .fetch_one(&pool)
        .await
        .unwrap();
    let old: Uuid = sqlx::query_scalar("SELECT herald_uuid_v7(now() - interval '60 days')")
        .fetch_one(&pool)
        .await
        .unwrap();
    let endpoint = Uuid::now_v7();
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, 'E', 'https://e.example/', '\\x00')")
        .bind(endpoint)
        .execute(&pool)
        .await
        .unwrap();
    for id in [ahead, old] {
        sqlx::query("INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{}', now())")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO deliveries (id, event_id, endpoint_id, event_type, created_at) VALUES ($1, $1, $2, 'user.created', now())")
            .bind(id)
            .bind(endpoint)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            r#"INSERT INTO delivery_attempts (id, delivery_id, attempt_number, trigger, started_at,
                   duration_ms, request_url, request_headers)
               VALUES ($1, $1, 1, 'auto', now(), 5, 'https://e.example/', '[]')"#,
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
    assert_eq!(partition_of(&pool, "events", ahead).await, "events_default");

    herald::server::jobs::run_once(&pool, 30)
        .await
        .expect("the hourly job runs through");

    assert_eq!(
        partition_of(&pool, "events", ahead).await,
        format!("events_{suffix}")
    );
    assert_eq!(
        partition_of(&pool, "deliveries", ahead).await,
        format!("deliveries_{suffix}")
    );
    let attempt_home: String = sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM delivery_attempts WHERE delivery_id = $1",
    )
    .bind(ahead)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(attempt_home, format!("delivery_attempts_{suffix}"));
    for table in ["events", "deliveries"] {
        let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE id = $1"))
            .bind(old)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(left, 0, "the 60-day-old row in {table}_default is gone");
    }
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM delivery_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "only the row of the day ahead is left");
    // `herald migrate`, which every start runs, goes through too.
    herald::server::db::migrate(&pool).await.unwrap();
}
