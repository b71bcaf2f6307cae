//! The two lookups every REST publish makes before its event is written — its API key and its
//! event type's rules — kept in memory, so that a publish costs PostgreSQL only its share of a
//! group commit (see [`crate::server::service::gather`]).
//!
//! Changes are rare and may come from any Herald process, or from psql: triggers on
//! `api_keys`, `users` and `event_types` NOTIFY [`CHANNEL`] at the change's commit (migration
//! 0012), and a listener task empties the cache on each. A change made through this process
//! empties it at once as well ([`Lookups::forget`]), so the next request after a revoke is
//! refused without waiting for the notification.
//!
//! Nothing stale can survive a missed notification: while the listener is not connected
//! (starting, or after its connection was lost) nothing is cached and every lookup reads
//! PostgreSQL; the cache starts empty each time it connects. A lookup keeps what it read only
//! if no change arrived while it read (a generation number), so a read that races a change
//! cannot put the old answer back. Only answers that let a request through are kept: an
//! unknown key or type is read again each time, so strangers cannot fill the cache.

use crate::server::db::api_keys::{self, ApiKey};
use crate::server::db::event_types::{self, PublishRules};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// The channel the triggers of migration 0012 notify.
pub const CHANNEL: &str = "herald_lookups";

/// Past this many entries a map is emptied: more than any real set of keys or catalog.
const MAX_ENTRIES: usize = 10_000;

/// The cache of one process; shared by its REST handlers through the application state.
#[derive(Default)]
pub struct Lookups {
    state: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    /// The listener is connected: answers may be kept.
    listening: bool,
    /// Bumped by every change; an answer read under an older one is not kept.
    generation: u64,
    /// Live keys by the SHA-256 of their value.
    keys: HashMap<Vec<u8>, ApiKey>,
    types: HashMap<String, PublishRules>,
}

impl Cached {
    fn forget(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.keys.clear();
        self.types.clear();
    }
}

impl Lookups {
    /// A cache kept fresh by a listener on `pool`'s database. The listener task ends with the
    /// last handle (at its next notification or reconnection).
    pub fn start(pool: PgPool) -> Arc<Self> {
        let lookups = Arc::new(Self::default());
        tokio::spawn(listen(pool, Arc::downgrade(&lookups)));
        lookups
    }

    /// Whether answers are being kept: the listener is connected.
    pub fn is_listening(&self) -> bool {
        self.lock().listening
    }

    /// Something a lookup reads has changed: every kept answer goes.
    pub fn forget(&self) {
        self.lock().forget();
    }

    /// The live API key with this value (see [`api_keys::find`]), its use noted.
    pub async fn api_key(&self, pool: &PgPool, key: &str) -> sqlx::Result<Option<ApiKey>> {
        let hash = api_keys::key_hash(key);
        let found = self
            .read_through(
                hash.clone(),
                |c| &mut c.keys,
                || api_keys::find(pool, &hash),
            )
            .await?;
        let Some(mut found) = found else {
            return Ok(None);
        };
        if api_keys::touch(pool, &mut found).await? {
            self.keep_touched(&hash, &found);
        }
        Ok(Some(found))
    }

    /// The rules of event type `name`, or `None` if the catalog has no such type.
    pub async fn publish_rules(
        &self,
        pool: &PgPool,
        name: &str,
    ) -> sqlx::Result<Option<PublishRules>> {
        self.read_through(
            name.to_string(),
            |c| &mut c.types,
            || event_types::publish_rules(pool, name),
        )
        .await
    }

    /// The kept answer for `key`, or the one `read` finds (kept if it may be).
    async fn read_through<K, V, F>(
        &self,
        key: K,
        map: fn(&mut Cached) -> &mut HashMap<K, V>,
        read: impl FnOnce() -> F,
    ) -> sqlx::Result<Option<V>>
    where
        K: Hash + Eq,
        V: Clone,
        F: Future<Output = sqlx::Result<Option<V>>>,
    {
        let generation = {
            let mut cached = self.lock();
            if let Some(found) = map(&mut cached).get(&key) {
                return Ok(Some(found.clone()));
            }
            cached.generation
        };
        let found = read().await?;
        if let Some(value) = &found {
            let mut cached = self.lock();
            if cached.listening && cached.generation == generation {
                let entries = map(&mut cached);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
                entries.insert(key, value.clone());
            }
        }
        Ok(found)
    }

    /// Keeps the use time just written, so the next minute's requests do not write it again.
    fn keep_touched(&self, hash: &[u8], key: &ApiKey) {
        if let Some(kept) = self.lock().keys.get_mut(hash) {
            *kept = key.clone();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_listening(&self, listening: bool) {
        let mut cached = self.lock();
        cached.forget();
        cached.listening = listening;
    }
}

/// Empties the cache on every notification; caches nothing while disconnected.
async fn listen(pool: PgPool, lookups: Weak<Lookups>) {
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                let Some(this) = lookups.upgrade() else {
                    return;
                };
                this.set_listening(true);
                drop(this);
                // Ok(None): the connection was lost; notifications may have been missed.
                while let Ok(Some(_)) = listener.try_recv().await {
                    let Some(this) = lookups.upgrade() else {
                        return;
                    };
                    this.forget();
                }
                let Some(this) = lookups.upgrade() else {
                    return;
                };
                this.set_listening(false);
                tracing::warn!(
                    "the lookups' LISTEN connection was lost; reading PostgreSQL until it is back"
                );
            }
            Err(err) => {
                if lookups.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %err, "LISTEN for lookups failed; reading PostgreSQL until it is back");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
