//! Lease owners: how a restarted process sends a crashed one's deliveries at once.
//!
//! A dispatching process takes an owner number when it starts (a sequence, so no two live
//! processes share one) and holds it as a PostgreSQL session advisory lock on a connection of
//! its own until it stops; its claims, and the publishes that hand it deliveries (see
//! [`super::handoff`]), write the number into `deliveries.leased_by`. When a
//! process starts, it makes the leased deliveries of every owner whose lock is free due now:
//! those owners died (kill -9, a crash, a lost host) with deliveries claimed and not recorded.
//! Without this they would wait for their lease to run out (the longest timeout plus a margin,
//! 15 s by default). An owner whose lock is held is alive, and its leases are left to it.
//!
//! At-least-once is kept: a released delivery may have been sent just before its owner died
//! (the receiver then gets it twice), and the release moves `next_attempt_at`, which fences
//! out any result written under the old lease. A live process whose lock connection drops
//! (PostgreSQL restarted) may see its deliveries released by a process that starts meanwhile:
//! they are sent twice, never lost, and its own late results are fenced out.

use sqlx::{Connection, PgConnection, PgPool};

/// The advisory lock class of lease owners (the owner number is the second key).
pub const LOCK_CLASS: i32 = 1_212_435_524;

/// A held owner number; dropping it closes its connection, which frees the lock.
pub struct Owner {
    pub number: i32,
    _lock: PgConnection,
}

/// Takes a fresh owner number and locks it on a connection of its own.
pub async fn take(pool: &PgPool) -> sqlx::Result<Owner> {
    let mut lock = PgConnection::connect_with(&pool.connect_options()).await?;
    loop {
        let number: i32 = sqlx::query_scalar("SELECT nextval('herald_lease_owners')::int")
            .fetch_one(&mut lock)
            .await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(number)
            .fetch_one(&mut lock)
            .await?;
        // Not locked only when the sequence wrapped onto a process that is still running.
        if locked {
            return Ok(Owner {
                number,
                _lock: lock,
            });
        }
    }
}

/// Makes the leased deliveries of owners that are gone due now; returns how many.
pub async fn release_dead(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query(
        r#"UPDATE deliveries SET next_attempt_at = now(), leased_by = NULL
           WHERE status IN ('pending', 'retrying') AND leased_by IS NOT NULL
             AND next_attempt_at > now()
             AND leased_by NOT IN (
                 SELECT objid::bigint FROM pg_locks
                 WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND objsubid = 2
                   AND granted
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"#,
    )
    .bind(LOCK_CLASS)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
