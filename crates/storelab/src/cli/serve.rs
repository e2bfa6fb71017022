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
}

pub(super) fn serve(args: ServeArgs) -> Result<(), Failure> {
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
    Ok(task_api::run_blocking(args.addr, build(args.prefill))?)
}
