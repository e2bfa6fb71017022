//! `storelab serve`: the Task API over one catalog store.

use clap::Args;

use store_catalog as registry;
use task_api::limits::FdFit;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// The store to serve (see `storelab list`).
    #[arg(long, default_value = "dense")]
    store: String,
    /// Address to listen on: IP:PORT, or HOST:PORT such as localhost:8080
    /// (its IPv4 address first, as `storelab load` picks it); port 0 picks
    /// a free port. Bound before the prefill, so a busy port fails at once.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Tasks created before serving (ids 1..=N).
    #[arg(long, default_value_t = 0)]
    prefill: u32,
    /// Time to receive a request's head, counted from when the server starts
    /// waiting for it; past it the connection is closed. Every timeout is
    /// from 10ms to 1h.
    #[arg(long, default_value = "10s")]
    header_timeout: String,
    /// Time to receive a request's body, counted from its head; past it,
    /// 408 and the connection closed.
    #[arg(long, default_value = "10s")]
    body_timeout: String,
    /// After the first second, a body must arrive at this many bytes per
    /// second on average; slower gets 408 and the connection closed.
    #[arg(long, default_value_t = 1000)]
    min_body_rate: u32,
    /// Time for a client to take a response it is not reading, from when
    /// the server first cannot write; past it the connection is closed.
    #[arg(long, default_value = "10s")]
    write_timeout: String,
    /// A keep-alive connection with no new request for this long is closed.
    #[arg(long, default_value = "5s")]
    idle_timeout: String,
    /// Largest request head in bytes (8192 to 1048576); larger, or more
    /// than 100 headers, gets 431.
    #[arg(long, default_value_t = 16 * 1024)]
    max_header_bytes: usize,
    /// Connections held at once. One more takes the place of the
    /// connection quiet the longest (not in a handler), or gets 503 with
    /// Retry-After. Lowered to fit the open-file limit if that cannot be
    /// raised (said on stderr).
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Requests in handlers at once (a request still receiving its body is
    /// not in one); more get 503 with Retry-After.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    #[command(flatten)]
    redis: super::redis::RedisArgs,
}

impl ServeArgs {
    /// The validated limits.
    fn limits(&self) -> Result<task_api::Limits, Failure> {
        let time = |flag: &str, raw: &str| {
            super::run::parse_duration(raw).map_err(|e| format!("--{flag}: {e}"))
        };
        let limits = task_api::Limits {
            header_timeout: time("header-timeout", &self.header_timeout)?,
            body_timeout: time("body-timeout", &self.body_timeout)?,
            min_body_rate: self.min_body_rate,
            write_timeout: time("write-timeout", &self.write_timeout)?,
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
    let mut limits = args.limits()?;
    args.redis.apply()?;
    let entries = registry::select(&args.store)?;
    let [entry] = entries.as_slice() else {
        return Err("serve one store at a time".into());
    };
    (entry.available)()
        .map_err(|why| format!("store '{}' cannot be built here: {why}", entry.entry.name))?;
    let build = entry.serve.ok_or_else(|| {
        format!(
            "store '{}' cannot serve HTTP (it is single-threaded or stores nothing)",
            entry.entry.name
        )
    })?;
    match task_api::limits::fit_open_files(&mut limits)? {
        FdFit::Fits => {}
        fit => eprintln!("storelab: {fit}"),
    }
    // Bound before the prefill: a busy port fails in milliseconds, not
    // after seconds of prefill and hundreds of megabytes.
    let listener = task_api::bind(&args.addr)?;
    eprintln!(
        "storelab: prefilling {} with {} tasks",
        entry.entry.name, args.prefill
    );
    Ok(task_api::run_blocking(
        listener,
        build(args.prefill),
        limits,
    )?)
}
