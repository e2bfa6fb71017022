//! `storelab serve`: the Task API over one catalog store.

use clap::Args;

use store_catalog as registry;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// The store to serve (see `storelab list`).
    #[arg(long, default_value = "dense")]
    store: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Tasks created before serving (ids 1..=N).
    #[arg(long, default_value_t = 0)]
    prefill: u32,
    /// Time to receive a request's head, counted from when the server starts
    /// waiting for it; past it the connection is closed.
    #[arg(long, default_value = "10s")]
    header_timeout: String,
    /// Time for a handler to receive the body and answer; past it, 408.
    #[arg(long, default_value = "10s")]
    body_timeout: String,
    /// A keep-alive connection with no new request for this long is closed.
    #[arg(long, default_value = "5s")]
    idle_timeout: String,
    /// Largest request head in bytes (at least 8192); larger gets 431.
    #[arg(long, default_value_t = 16 * 1024)]
    max_header_bytes: usize,
    /// Connections held at once; more get 503 with Retry-After and are closed.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Requests in handlers at once; more get 503 with Retry-After.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
}

impl ServeArgs {
    /// The validated limits.
    fn limits(&self) -> Result<task_api::Limits, String> {
        let time = |flag: &str, raw: &str| {
            super::run::parse_duration(raw).map_err(|e| format!("--{flag}: {e}"))
        };
        let limits = task_api::Limits {
            header_timeout: time("header-timeout", &self.header_timeout)?,
            body_timeout: time("body-timeout", &self.body_timeout)?,
            idle_timeout: time("idle-timeout", &self.idle_timeout)?,
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            max_in_flight: self.max_in_flight,
        };
        limits.validate()?;
        Ok(limits)
    }
}

pub(super) fn serve(args: ServeArgs) -> Result<(), Failure> {
    let limits = args.limits()?;
    let entries = registry::select(&args.store)?;
    let [entry] = entries.as_slice() else {
        return Err("serve one store at a time".into());
    };
    let build = entry.serve.ok_or_else(|| {
        format!(
            "store '{}' cannot serve HTTP (it is single-threaded or stores nothing)",
            entry.entry.name
        )
    })?;
    eprintln!(
        "storelab: prefilling {} with {} tasks",
        entry.entry.name, args.prefill
    );
    Ok(task_api::run_blocking(
        args.addr,
        build(args.prefill),
        limits,
    )?)
}
