//! Why a load run could not start or finish.

use std::net::SocketAddr;

/// Why a load run, a sweep or a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL does not start with `http://`.
    #[error("'{url}' is not an http:// URL")]
    NotHttp { url: String },
    /// The URL has a path; the base URL is wanted.
    #[error("'{url}': give the server's base URL, without a path")]
    HasPath { url: String },
    /// The host did not resolve.
    #[error("cannot resolve '{host}': {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    /// The host is not (only) loopback.
    #[error(
        "'{host}' is not a loopback address: storelab load only targets 127.0.0.0/8, ::1 or localhost"
    )]
    NotLoopback { host: String },
    /// No connection to the server.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The connection's socket could not be cloned for writing.
    #[error("cannot use the connection to {addr}: {source}")]
    Socket {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A request failed; an idempotent one was retried once on a fresh
    /// connection (and failed again), a POST or PATCH was not retried.
    #[error("{method} {path}: {source}{}", if *retried { "" } else { " (not retried)" })]
    Request {
        method: String,
        path: String,
        retried: bool,
        source: std::io::Error,
    },
    /// `/healthz` did not answer as a storelab server does.
    #[error("GET /healthz on {addr} did not answer JSON: is this a storelab server?")]
    NotAStorelabServer { addr: SocketAddr },
    /// `/healthz` answered with a JSON error: a storelab server that cannot
    /// serve (say its store is unreachable, 503).
    #[error("GET /healthz on {addr} answered {status}: {message}")]
    Unhealthy {
        addr: SocketAddr,
        status: u16,
        message: String,
    },
    /// Two of the servers of one run serve different stores; a run is one
    /// store's cell.
    #[error(
        "the servers serve different stores: {first} serves '{first_store}', {other} serves '{other_store}'"
    )]
    MixedStores {
        first: SocketAddr,
        first_store: String,
        other: SocketAddr,
        other_store: String,
    },
    /// A client thread could not be started.
    #[error("cannot start a client thread: {0}")]
    Thread(std::io::Error),
    /// A plan is outside the limits.
    #[error("bad load plan: {what}")]
    BadPlan { what: String },
    /// The client's epoll set or timer failed.
    #[error("the load client's event loop failed: {0}")]
    EventLoop(std::io::Error),
    /// A sweep's rates make no sense.
    #[error("a sweep needs 0 < start <= max rate and a factor above 1")]
    BadSweep,
}
