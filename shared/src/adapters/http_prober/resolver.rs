//! Name resolution, behind a trait so tests map names to 127.0.0.1 and never ask a real
//! DNS server.

use async_trait::async_trait;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// The name did not resolve (no such name, no addresses, or the lookup failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the name did not resolve")]
pub struct ResolveError;

/// Resolves a host name to the addresses to try, in order.
#[async_trait]
pub trait Resolver: Send + Sync {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError>;
}

/// The system resolver, through tokio's `lookup_host`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| ResolveError)?
            .collect();
        if addrs.is_empty() {
            return Err(ResolveError);
        }
        Ok(addrs)
    }
}

/// A fixed table of names; every other name fails to resolve. For tests and demos.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `name` (case-insensitive) to `addresses`.
    pub fn with(mut self, name: &str, addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        self.names
            .insert(name.to_ascii_lowercase(), addresses.into_iter().collect());
        self
    }
}

#[async_trait]
impl Resolver for StaticResolver {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        match self.names.get(&host.to_ascii_lowercase()) {
            Some(ips) if !ips.is_empty() => {
                Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
            }
            _ => Err(ResolveError),
        }
    }
}
