//! DNS resolution with the SSRF guard. reqwest connects only to the addresses this resolver
//! returns, so checking them here (not the URL beforehand) means a name that resolves to a
//! public address when saved and to 127.0.0.1 when sent (DNS rebinding) is still refused.

use crate::domain::net::{Cidr, is_allowed};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to internal addresses ({addresses}), which webhooks may not reach")]
pub struct SsrfBlocked {
    pub host: String,
    pub addresses: String,
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
                let addresses = found
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(SsrfBlocked { host, addresses }.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
