//! DNS resolution with the SSRF guard. reqwest connects only to the addresses this resolver
//! returns, so checking them here (not the URL beforehand) means a name that resolves to a
//! public address when saved and to 127.0.0.1 when sent (DNS rebinding) is still refused.

use crate::domain::net::{Cidr, forbidden_rule, is_allowed};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;

/// The name resolves only to addresses webhooks may not reach. The message names the rules,
/// never the addresses: an admin should not learn the internal network through it.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses webhooks may not reach ({rules})")]
pub struct SsrfBlocked {
    pub host: String,
    pub rules: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {reason}")]
pub struct DnsFailure {
    pub host: String,
    pub reason: String,
}

#[derive(Clone)]
pub struct GuardedResolver {
    pub allowlist: Arc<Vec<Cidr>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowlist = self.allowlist.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|err| DnsFailure {
                    host: host.clone(),
                    reason: err.to_string(),
                })?
                .collect();
            if found.is_empty() {
                return Err(DnsFailure {
                    host,
                    reason: "no addresses".into(),
                }
                .into());
            }
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_allowed(a.ip(), &allowlist))
                .collect();
            if allowed.is_empty() {
                let mut rules: Vec<&str> = found
                    .iter()
                    .filter_map(|a| forbidden_rule(a.ip()))
                    .collect();
                rules.sort_unstable();
                rules.dedup();
                let rules = rules.join(", ");
                return Err(SsrfBlocked { host, rules }.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
