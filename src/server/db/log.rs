//! The delivery log query: filters, search, sort and keyset pagination over the partitioned
//! `deliveries` table. Every filter is an indexed condition, the time range becomes an id
//! range (ids are UUID v7) so only the matching day partitions are read, and pages are found
//! by keyset (never OFFSET) so page 1,000 costs what page 1 costs.

use super::deliveries::ROW_COLUMNS;
use crate::domain::delivery::DeliveryRow;
use crate::domain::ids::{parse_event_ref, uuid_floor};
use crate::domain::log_query::{
    Cursor, Direction, LogFilters, LogPage, LogQuery, PAGE_SIZE, SortKey,
};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// The SQL expression a sort key orders by (besides the id, which breaks ties).
fn sort_expression(sort: SortKey) -> Option<&'static str> {
    match sort {
        SortKey::Time => None,
        SortKey::Status => Some("d.status"),
        SortKey::Code => Some("coalesce(d.last_response_status, 0)"),
    }
}

/// The cursor value of a row for a sort key.
fn sort_value(row: &DeliveryRow, sort: SortKey) -> String {
    match sort {
        SortKey::Time => String::new(),
        SortKey::Status => row.status.as_str().to_string(),
        SortKey::Code => row.response_status.unwrap_or(0).to_string(),
    }
}

pub async fn page(pool: &PgPool, query: &LogQuery, now: DateTime<Utc>) -> sqlx::Result<LogPage> {
    let matching_endpoints = search_endpoints(pool, query).await?;
    let backwards = query.cursor.as_ref().is_some_and(|c| c.before);
    let Some(mut sql) = page_sql(query, now, &matching_endpoints, "") else {
        return Ok(LogPage {
            rows: Vec::new(),
            next: None,
            prev: None,
            generated_at: now,
        });
    };
    // Not a cached prepared statement: PostgreSQL would switch such a statement to a generic
    // plan after five runs, and a generic plan cannot see which filters are selective (a
    // search by event id became a sequential scan of every partition). The log's queries are
    // built per view anyway; planning them with their values costs about a millisecond.
    let mut rows: Vec<DeliveryRow> = sql
        .build_query_as()
        .persistent(false)
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    if backwards {
        rows.reverse();
    }
    let boundary = |row: &DeliveryRow, before: bool| Cursor {
        before,
        key: sort_value(row, query.sort),
        id: row.id,
    };
    let has_next = if backwards { true } else { more };
    let has_prev = if backwards {
        more
    } else {
        query.cursor.is_some()
    };
    Ok(LogPage {
        next: rows.last().filter(|_| has_next).map(|r| boundary(r, false)),
        prev: rows.first().filter(|_| has_prev).map(|r| boundary(r, true)),
        rows,
        generated_at: now,
    })
}

/// The page query's plan (`EXPLAIN ANALYZE`), for the benchmark's index-use column.
pub async fn explain(pool: &PgPool, query: &LogQuery, now: DateTime<Utc>) -> sqlx::Result<String> {
    let matching_endpoints = search_endpoints(pool, query).await?;
    let Some(mut sql) = page_sql(
        query,
        now,
        &matching_endpoints,
        "EXPLAIN (ANALYZE, COSTS OFF) ",
    ) else {
        return Ok(String::new());
    };
    let lines: Vec<String> = sql.build_query_scalar().fetch_all(pool).await?;
    Ok(lines.join("\n"))
}

/// The page query: filters, keyset condition, order, one row more than a page (to know whether
/// another page follows). `None` when the cursor cannot belong to the view.
fn page_sql<'a>(
    query: &LogQuery,
    now: DateTime<Utc>,
    matching_endpoints: &[Uuid],
    prefix: &str,
) -> Option<QueryBuilder<'a, Postgres>> {
    let backwards = query.cursor.as_ref().is_some_and(|c| c.before);
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "{prefix}SELECT {ROW_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE true"
    ));
    push_filters(&mut sql, query, now, matching_endpoints);
    if let Some(cursor) = &query.cursor
        && !push_keyset(&mut sql, query, cursor)
    {
        return None;
    }
    // Reading backwards (to the previous page) walks the order in reverse, then flips the rows.
    let descending = (query.dir == Direction::Desc) != backwards;
    let dir = if descending { "DESC" } else { "ASC" };
    sql.push(" ORDER BY ");
    if let Some(expr) = sort_expression(query.sort) {
        sql.push(format!("{expr} {dir}, "));
    }
    sql.push(format!("d.id {dir} LIMIT {}", PAGE_SIZE + 1));
    Some(sql)
}

fn push_filters(
    sql: &mut QueryBuilder<'_, Postgres>,
    query: &LogQuery,
    now: DateTime<Utc>,
    matching_endpoints: &[Uuid],
) {
    if let Some(status) = query.status {
        // Written out, not bound: the planner can only use the partial index of unsettled
        // deliveries when it sees the literal statuses. They are our own constants.
        let list: Vec<String> = status.statuses().iter().map(|s| format!("'{s}'")).collect();
        sql.push(format!(" AND d.status IN ({})", list.join(", ")));
    }
    if let Some(event) = &query.event {
        match event.strip_suffix(".*") {
            Some(prefix) => sql
                .push(" AND d.event_type LIKE ")
                .push_bind(format!("{}.%", escape_like(prefix))),
            None => sql.push(" AND d.event_type = ").push_bind(event.clone()),
        };
    }
    if let Some(endpoint) = query.endpoint {
        sql.push(" AND d.endpoint_id = ").push_bind(endpoint);
    }
    if let Some(from) = query.lower_bound(now) {
        sql.push(" AND d.id >= ").push_bind(uuid_floor(from));
    }
    if let Some(to) = query.to {
        sql.push(" AND d.id < ").push_bind(uuid_floor(to));
    }
    if let Some(class) = query.code {
        match class.range() {
            Some((low, high)) => sql
                .push(" AND coalesce(d.last_response_status, 0) >= ")
                .push_bind(low)
                .push(" AND coalesce(d.last_response_status, 0) < ")
                .push_bind(high),
            None => sql.push(" AND coalesce(d.last_response_status, 0) = 0"),
        };
    }
    if let Some(text) = &query.search {
        push_search(sql, text, matching_endpoints);
    }
}

/// Search matches a webhook's name or URL (resolved to endpoint ids first: a small table), an
/// event type (prefix), or an event or delivery id. Only the alternatives that can match are
/// written, so each one is an index condition the planner can combine.
fn push_search(sql: &mut QueryBuilder<'_, Postgres>, text: &str, matching_endpoints: &[Uuid]) {
    let text = text.trim();
    sql.push(" AND (false");
    if !matching_endpoints.is_empty() {
        sql.push(" OR d.endpoint_id = ANY(")
            .push_bind(matching_endpoints.to_vec())
            .push(")");
    }
    if text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && text.contains('.')
    {
        sql.push(" OR d.event_type LIKE ")
            .push_bind(format!("{}%", escape_like(text)));
    }
    if let Some(id) = parse_event_ref(text) {
        sql.push(" OR d.event_id = ")
            .push_bind(id)
            .push(" OR d.id = ")
            .push_bind(id);
    }
    sql.push(")");
}

/// Adds the keyset condition; false when the cursor cannot belong to this sort.
fn push_keyset(sql: &mut QueryBuilder<'_, Postgres>, query: &LogQuery, cursor: &Cursor) -> bool {
    let forward_is_less = query.dir == Direction::Desc;
    let op = if forward_is_less != cursor.before {
        "<"
    } else {
        ">"
    };
    match query.sort {
        SortKey::Time => {
            sql.push(format!(" AND d.id {op} ")).push_bind(cursor.id);
        }
        SortKey::Status => {
            sql.push(format!(" AND (d.status, d.id) {op} ("))
                .push_bind(cursor.key.clone())
                .push(", ")
                .push_bind(cursor.id)
                .push(")");
        }
        SortKey::Code => {
            let Ok(code) = cursor.key.parse::<i16>() else {
                return false;
            };
            sql.push(format!(
                " AND (coalesce(d.last_response_status, 0), d.id) {op} ("
            ))
            .push_bind(code)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
        }
    }
    true
}

/// The endpoints whose name or URL contains the view's search text (none without a search).
async fn search_endpoints(pool: &PgPool, query: &LogQuery) -> sqlx::Result<Vec<Uuid>> {
    match &query.search {
        Some(text) => endpoints_matching(pool, text).await,
        None => Ok(Vec::new()),
    }
}

async fn endpoints_matching(pool: &PgPool, text: &str) -> sqlx::Result<Vec<Uuid>> {
    let pattern = format!("%{}%", escape_like(text.trim()));
    sqlx::query_scalar("SELECT id FROM endpoints WHERE name ILIKE $1 OR url ILIKE $1 LIMIT 1000")
        .bind(pattern)
        .fetch_all(pool)
        .await
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How many deliveries match (for the bulk-retry confirmation).
pub async fn count(pool: &PgPool, query: &LogQuery, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let matching_endpoints = search_endpoints(pool, query).await?;
    let mut sql = QueryBuilder::<Postgres>::new("SELECT count(*) FROM deliveries d WHERE true");
    push_filters(&mut sql, query, now, &matching_endpoints);
    sql.build_query_scalar()
        .persistent(false)
        .fetch_one(pool)
        .await
}

/// Ids of matching deliveries below `below` (newest first), for jobs that walk a filter.
pub async fn ids_below(
    pool: &PgPool,
    query: &LogQuery,
    now: DateTime<Utc>,
    below: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Uuid>> {
    let matching_endpoints = search_endpoints(pool, query).await?;
    let mut sql = QueryBuilder::<Postgres>::new("SELECT d.id FROM deliveries d WHERE true");
    push_filters(&mut sql, query, now, &matching_endpoints);
    if let Some(below) = below {
        sql.push(" AND d.id < ").push_bind(below);
    }
    sql.push(" ORDER BY d.id DESC LIMIT ").push_bind(limit);
    sql.build_query_scalar()
        .persistent(false)
        .fetch_all(pool)
        .await
}

/// Matching deliveries newer than `top` (counted up to 1,000: the banner says "1000+").
pub async fn count_newer(
    pool: &PgPool,
    query: &LogQuery,
    now: DateTime<Utc>,
    top: Uuid,
) -> sqlx::Result<i64> {
    let matching_endpoints = search_endpoints(pool, query).await?;
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT count(*) FROM (SELECT 1 FROM deliveries d WHERE d.id > ",
    );
    sql.push_bind(top);
    push_filters(&mut sql, query, now, &matching_endpoints);
    sql.push(" LIMIT 1000) newer");
    sql.build_query_scalar()
        .persistent(false)
        .fetch_one(pool)
        .await
}

/// The event types and live endpoints the log's filter form offers.
pub async fn filter_choices(pool: &PgPool) -> sqlx::Result<LogFilters> {
    let event_types = super::event_types::names(pool).await?;
    let archived_event_types = super::event_types::archived_names(pool).await?;
    let endpoints = sqlx::query_as(
        "SELECT id, name FROM endpoints WHERE deleted_at IS NULL ORDER BY lower(name)",
    )
    .fetch_all(pool)
    .await?;
    Ok(LogFilters {
        event_types,
        archived_event_types,
        endpoints,
    })
}
