//! Where a Redis store lives, as a mount names it: URL, key prefix, timeout, TLS.

use super::*;

/// Certificates for a rediss:// server (PEM bytes).
#[derive(Clone, Default)]
pub struct RedisTls {
    /// The CA that signed the server's certificate; None: the system's roots.
    pub ca: Option<Vec<u8>>,
    /// A client certificate and its key, for a server that asks for one.
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RedisTls")
            .field("ca", &self.ca.is_some())
            .field("cert", &self.cert.is_some())
            .finish()
    }
}

/// Where the store lives: a validated URL, the key prefix and the timeout.
#[derive(Clone)]
pub struct RedisTarget {
    /// `redis://[user:pass@]host:port/db` (or `unix:///path?db=N`).
    pub url: String,
    pub prefix: String,
    /// Bound on connecting and on waiting for any answer.
    pub timeout: Duration,
    /// For a rediss:// URL.
    pub tls: Option<RedisTls>,
    /// A Redis Cluster's seed nodes (`redis://[user:pass@]host:port`); empty: the single
    /// server at `url`.
    pub seeds: Vec<String>,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the password.
        f.debug_struct("RedisTarget")
            .field("url", &redact(&self.url))
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .field(
                "seeds",
                &self.seeds.iter().map(|s| redact(s)).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RedisTarget {
    pub fn new(url: &str, prefix: &str) -> Self {
        RedisTarget {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            tls: None,
            seeds: Vec::new(),
        }
    }

    /// A store on the Redis Cluster that `seeds` (`redis://host:port`) belong to.
    pub fn cluster(seeds: &[String], prefix: &str) -> Self {
        RedisTarget {
            url: seeds.first().cloned().unwrap_or_default(),
            seeds: seeds.to_vec(),
            ..RedisTarget::new("", prefix)
        }
    }
}

/// Checks a key prefix: not empty, no hash-tag braces, no whitespace.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("--redis-prefix must not be empty".into());
    }
    if prefix
        .chars()
        .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "--redis-prefix '{prefix}' may not contain '{{', '}}' or whitespace"
        ));
    }
    Ok(())
}
