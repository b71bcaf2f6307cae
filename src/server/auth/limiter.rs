//! Sign-in throttling. Each try is counted *before* its password hash, under one lock, so a
//! parallel burst cannot slip past the cap; a failure keeps its count, a success or a try that
//! never reached the hash gives it back.
//!
//! Two counts, each over a sliding 15 minutes:
//! - the account *from one address* (10 failures): a stranger guessing the owner's password
//!   locks only their own address out, never the owner at their desk;
//! - the address across all accounts (100 failures): one address spraying many accounts.
//!
//! Keys are fixed-size (the account is a SHA-256 digest), and the map is bounded, so no input
//! can grow memory without limit. At most [`HASH_SLOTS`] argon2 hashes run at once (each takes
//! about 19 MiB); a try beyond that is answered 429 at once instead of queueing.
//!
//! The address is the TCP peer's, unless the peer is one of `--trusted-proxies`: then it is the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy.

use crate::error::AppError;
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_ACCOUNT_FAILURES: usize = 10;
const MAX_ADDRESS_FAILURES: usize = 100;
/// Keys kept at most; when full even after dropping stale ones, new keys are refused (429).
const MAX_KEYS: usize = 100_000;
pub const HASH_SLOTS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// SHA-256 of the normalised email and the address.
    AccountFrom([u8; 32]),
    Address(IpAddr),
}

impl Key {
    fn limit(&self) -> usize {
        match self {
            Key::AccountFrom(_) => MAX_ACCOUNT_FAILURES,
            Key::Address(_) => MAX_ADDRESS_FAILURES,
        }
    }
}

#[derive(Debug)]
pub struct LoginLimiter {
    tries: Mutex<HashMap<Key, Vec<Instant>>>,
    hashing: Arc<Semaphore>,
    trusted_proxies: Vec<IpNet>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// A counted try. Dropped without [`Attempt::failed`] (success, or the hash never ran), it
/// gives its count back.
#[must_use]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: [Key; 2],
    at: Instant,
    keep: bool,
    _hash_slot: OwnedSemaphorePermit,
}

impl LoginLimiter {
    pub fn new(trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            tries: Mutex::default(),
            hashing: Arc::new(Semaphore::new(HASH_SLOTS)),
            trusted_proxies,
        }
    }

    /// Counts a try for `email` from `address`, or refuses it (`RateLimited`) when either count
    /// is at its limit or every hash slot is busy.
    pub fn begin(
        &self,
        email: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<Attempt<'_>, AppError> {
        let hash_slot = self
            .hashing
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::RateLimited)?;
        let keys = [account_from(email, address), Key::Address(address)];
        let mut map = self.lock();
        if map.len() + keys.len() > MAX_KEYS {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
            if map.len() + keys.len() > MAX_KEYS {
                tracing::warn!("sign-in limiter is full; refusing new addresses for now");
                return Err(AppError::RateLimited);
            }
        }
        for key in &keys {
            let times = map.entry(*key).or_default();
            times.retain(|t| now.duration_since(*t) < WINDOW);
            if times.len() >= key.limit() {
                return Err(AppError::RateLimited);
            }
        }
        for key in &keys {
            map.entry(*key).or_default().push(now);
        }
        Ok(Attempt {
            limiter: self,
            keys,
            at: now,
            keep: false,
            _hash_slot: hash_slot,
        })
    }

    /// The client's address: the peer, or what a trusted proxy says in `X-Forwarded-For`.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = forwarded_for.unwrap_or_default().split(',').rev();
        let mut address = peer;
        for hop in hops {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if self.is_trusted(ip) => address = ip,
                Ok(ip) => return ip,
                // A hop that is no address (a proxy's `unknown`): trust stops here.
                Err(_) => return address,
            }
        }
        address
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Instant>>> {
        self.tries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Attempt<'_> {
    /// Wrong credentials: the try stays counted.
    pub fn failed(mut self) {
        self.keep = true;
    }

    /// Right credentials: the account's count from this address starts again.
    pub fn succeeded(self) {
        self.limiter.lock().remove(&self.keys[0]);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let mut map = self.limiter.lock();
        for key in &self.keys {
            if let Some(times) = map.get_mut(key)
                && let Some(i) = times.iter().position(|t| *t == self.at)
            {
                times.swap_remove(i);
            }
        }
    }
}

fn account_from(email: &str, address: IpAddr) -> Key {
    let mut digest = Sha256::new();
    digest.update(email.trim().to_lowercase().as_bytes());
    digest.update([0]);
    digest.update(address.to_string().as_bytes());
    Key::AccountFrom(digest.finalize().into())
}

/// Parses one `--trusted-proxies` entry: an address or a network (`10.0.0.0/8`).
pub fn parse_proxy(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{entry:?} is neither an IP address nor a network like 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "owner@example.com";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ten_failures_lock_the_account_from_that_address_only() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        for _ in 0..MAX_ACCOUNT_FAILURES {
            limiter
                .begin(OWNER, ip("203.0.113.9"), start)
                .unwrap()
                .failed();
        }
        assert_eq!(
            limiter.begin(OWNER, ip("203.0.113.9"), start).err(),
            Some(AppError::RateLimited)
        );
        assert_eq!(
            limiter
                .begin("OWNER@example.com ", ip("203.0.113.9"), start)
                .err(),
            Some(AppError::RateLimited),
            "the email is normalised"
        );
        let from_desk = limiter.begin(OWNER, ip("198.51.100.1"), start);
        assert!(from_desk.is_ok(), "the owner's own address is not locked");
        drop(from_desk);
        assert!(
            limiter
                .begin(OWNER, ip("203.0.113.9"), start + WINDOW)
                .is_ok(),
            "the window moves on"
        );
    }

    #[test]
    fn any_email_is_one_fixed_size_key() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        let huge = format!("{}@example.com\0\u{202e}", "a".repeat(1_000_000));
        for _ in 0..MAX_ACCOUNT_FAILURES {
            limiter.begin(&huge, ip("10.0.0.5"), now).unwrap().failed();
        }
        assert_eq!(
            limiter.begin(&huge, ip("10.0.0.5"), now).err(),
            Some(AppError::RateLimited)
        );
        assert_eq!(
            limiter.lock().len(),
            2,
            "one account key and one address key"
        );
    }

    #[test]
    fn a_success_or_an_abandoned_try_gives_its_count_back() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for _ in 0..MAX_ACCOUNT_FAILURES - 1 {
            limiter.begin(OWNER, ip("10.0.0.1"), now).unwrap().failed();
        }
        limiter
            .begin(OWNER, ip("10.0.0.1"), now)
            .unwrap()
            .succeeded();
        for _ in 0..MAX_ACCOUNT_FAILURES * 2 {
            drop(limiter.begin(OWNER, ip("10.0.0.1"), now).unwrap());
        }
        assert!(limiter.begin(OWNER, ip("10.0.0.1"), now).is_ok());
    }

    #[test]
    fn an_address_spraying_accounts_is_stopped() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for n in 0..MAX_ADDRESS_FAILURES {
            limiter
                .begin(&format!("user{n}@example.com"), ip("10.0.0.2"), now)
                .unwrap()
                .failed();
        }
        assert_eq!(
            limiter.begin("new@example.com", ip("10.0.0.2"), now).err(),
            Some(AppError::RateLimited)
        );
    }

    #[test]
    fn hashes_beyond_the_slots_are_refused_at_once() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        let running: Vec<_> = (0..HASH_SLOTS)
            .map(|n| {
                limiter
                    .begin(&format!("u{n}@example.com"), ip("10.0.0.3"), now)
                    .unwrap()
            })
            .collect();
        assert_eq!(
            limiter.begin(OWNER, ip("10.0.0.4"), now).err(),
            Some(AppError::RateLimited)
        );
        drop(running);
        assert!(limiter.begin(OWNER, ip("10.0.0.4"), now).is_ok());
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxies = vec![
            parse_proxy("10.0.0.0/8").unwrap(),
            parse_proxy("::1").unwrap(),
        ];
        let limiter = LoginLimiter::new(proxies);
        let header = Some("198.51.100.7, 10.1.2.3");
        assert_eq!(
            limiter.client_address(ip("10.9.9.9"), header),
            ip("198.51.100.7")
        );
        assert_eq!(
            limiter.client_address(ip("203.0.113.5"), header),
            ip("203.0.113.5"),
            "a stranger cannot name its own address"
        );
        assert_eq!(
            limiter.client_address(ip("10.9.9.9"), Some("1.2.3.4, 198.51.100.7")),
            ip("198.51.100.7"),
            "entries left of the first untrusted hop are the client's own claims"
        );
        assert_eq!(limiter.client_address(ip("::1"), None), ip("::1"));
        let junk = format!("{}, unknown, \u{0}<script>", "9".repeat(60_000));
        assert_eq!(
            limiter.client_address(ip("10.9.9.9"), Some(&junk)),
            ip("10.9.9.9"),
            "a hop that is no address ends trust at the last trusted one"
        );
        assert!(parse_proxy("not an address").is_err());
    }
}
