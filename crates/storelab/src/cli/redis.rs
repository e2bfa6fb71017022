//! Where the stores outside the process (`storelab list`: kind `remote`)
//! find their Redis: the options `run`, `serve` and `list` share, checked
//! and handed to `store_redis::configure` before any store is built.

use clap::Args;

use store_redis::{Config, Persistence};

use super::Failure;

#[derive(Args, Debug, Default)]
pub(super) struct RedisArgs {
    /// A running Redis for the `redis` stores (redis://HOST:PORT/); without
    /// it they start their own redis-server from PATH on a free loopback
    /// port, stopped when the command ends.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Nodes of a running Redis Cluster for `redis-cluster`, separated by
    /// commas; without it the lab starts a cluster of 3 masters.
    #[arg(long, value_name = "URLS", value_delimiter = ',')]
    redis_cluster: Vec<String>,
    /// Persistence of the servers the lab starts: none (nothing survives a
    /// restart), everysec (append-only file fsynced every second), always
    /// (fsynced before every acknowledgement).
    #[arg(long, default_value = "none", value_name = "SETTING")]
    redis_persistence: String,
    /// One key namespace for every store of this process, kept when the
    /// process ends: replicas of `serve` that share their tasks name the
    /// same one ([A-Za-z0-9_-], at most 64).
    #[arg(long, value_name = "NAME")]
    redis_namespace: Option<String>,
}

impl RedisArgs {
    /// Checks the options and configures the redis stores with them.
    pub(super) fn apply(&self) -> Result<(), Failure> {
        let urls = self.redis.iter().chain(&self.redis_cluster);
        for url in urls {
            if !(url.starts_with("redis://") && url.len() > "redis://".len()) {
                return Err(
                    format!("'{url}' is not a Redis URL (expected redis://HOST:PORT/)").into(),
                );
            }
        }
        let persistence = Persistence::parse(&self.redis_persistence).ok_or_else(|| {
            format!(
                "--redis-persistence '{}' is not one of none, everysec, always",
                self.redis_persistence
            )
        })?;
        if let Some(ns) = &self.redis_namespace
            && store_redis::keys::Keys::new(ns).is_none()
        {
            return Err(format!(
                "--redis-namespace '{ns}' must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"
            )
            .into());
        }
        store_redis::configure(Config {
            url: self.redis.clone(),
            cluster: self.redis_cluster.clone(),
            persistence,
            namespace: self.redis_namespace.clone(),
        });
        Ok(())
    }
}
