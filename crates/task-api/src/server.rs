//! The accept loop: connections under the cap (the quietest one gives way
//! to a newcomer), hyper's HTTP/1 on a [`ConnIo`] per connection, the body
//! received before a request takes an in-flight slot, graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::ApiError;
use crate::body::{self, BodyRules};
use crate::conn_io::{ConnIo, Watch};
use crate::limits::{self, Limits};

/// Serves `router` on `listener` under `limits` until `shutdown` completes,
/// then stops accepting, lets in-flight requests finish (for at most the
/// header timeout) and returns.
///
/// Each connection is hyper's HTTP/1 over a [`ConnIo`] (idle and write
/// timeouts); a registry caps the connections (past the cap, the quietest
/// connection not in a handler is closed to make room, or the newcomer is
/// answered 503 with `Retry-After`); each request's body is received in
/// full, under the body timeout and minimum rate, before tower's
/// concurrency limit with load shedding admits it to a handler.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    limits.validate().map_err(std::io::Error::other)?;
    let app = handlers(router, &limits);
    let rules = BodyRules::new(&limits);
    let registry = Arc::new(Registry::new(limits.max_connections));
    let lingering = Arc::new(AtomicUsize::new(0));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes)
        // A client that shuts down its write side after the request still
        // gets its response (hyper's default closes at once).
        .half_close(true);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, or a connection reset before
                    // accept: wait a moment rather than spin (as axum does).
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = registry.admit() else {
            shed(stream, &lingering);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watch = admitted.watch.clone();
        let io = ConnIo::new(
            stream,
            limits.idle_timeout,
            limits.write_timeout,
            watch.clone(),
        );
        let service = per_connection(app.clone(), rules, watch);
        let conn = graceful.watch(http.serve_connection(
            hyper_util::rt::TokioIo::new(io),
            hyper_util::service::TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            // A connection's end (timeouts included) is its own business;
            // an evicted one is dropped, which closes it.
            tokio::select! {
                _ = conn => {}
                () = admitted.watch.evicted() => {}
            }
            drop(admitted);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.header_timeout, graceful.shutdown()).await;
    Ok(())
}

/// The router behind the in-flight limit: a request over it is shed (503)
/// at once.
fn handlers(
    router: Router,
    limits: &Limits,
) -> impl tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ 'static {
    tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
        .layer(tower::load_shed::LoadShedLayer::new())
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            limits.max_in_flight,
        ))
        .service(router)
}

/// One connection's service: the head checked and the body received (on
/// the connection's time, not a handler's), then the handlers, with the
/// connection marked busy while its request is in one.
fn per_connection<A>(
    app: A,
    rules: BodyRules,
    watch: Arc<Watch>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static
where
    A: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    tower::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let watch = watch.clone();
        async move {
            let request = match body::receive(request, rules).await {
                Ok(request) => request,
                Err(response) => return Ok(response),
            };
            let _busy = watch.busy();
            app.oneshot(request).await
        }
    })
}

/// What the load shedder's refusal becomes.
async fn overloaded(_: tower::BoxError) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the server is at its request limit; retry after the time in Retry-After",
    )
    .retry_after(limits::RETRY_AFTER_SECS)
    .into_response()
}

/// The connections held, each with its [`Watch`].
struct Registry {
    epoch: Instant,
    cap: usize,
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Watch>>>,
}

/// A connection's place in the [`Registry`], given up when dropped.
struct Admitted {
    registry: Arc<Registry>,
    id: u64,
    watch: Arc<Watch>,
}

impl Registry {
    fn new(cap: usize) -> Registry {
        Registry {
            epoch: Instant::now(),
            cap,
            next: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        }
    }

    /// A place for a new connection: a free one, or the place of the
    /// connection quiet the longest (no byte moved, no request in a
    /// handler), which is told to close. `None` if every connection is in
    /// a handler or too new to have sent its request
    /// ([`crate::conn_io::NEWBORN_GRACE`]).
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let watch = Arc::new(Watch::new(self.epoch));
        let now = watch.clock();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        if conns.len() >= self.cap {
            let (_, victim) = conns
                .iter()
                .filter_map(|(id, w)| w.quiet_since(now).map(|t| (t, *id)))
                .min()?;
            if let Some(w) = conns.remove(&victim) {
                w.evict();
            }
        }
        conns.insert(id, watch.clone());
        Some(Admitted {
            registry: self.clone(),
            id,
            watch,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut conns = self
            .registry
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conns.remove(&self.id);
    }
}

/// Answers a connection over the cap with 503 and closes it, on a task of
/// its own bounded to one second: write the response, shut down the write
/// side, then read and discard what the client sent until it closes (a
/// "lingering close", as nginx does: closing with unread input makes the
/// kernel send a reset, which can destroy the 503 before the client reads
/// it). A client that never reads or never closes costs one second; at
/// most [`limits::SHED_LINGER_MAX`] linger at once, past that a shed
/// connection gets its 503 written if it fits and is closed at once.
fn shed(stream: TcpStream, lingering: &Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = format!(
        r#"{{"error":"overloaded","message":"the server is at its connection limit; retry after {} s"}}"#,
        limits::RETRY_AFTER_SECS
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        limits::RETRY_AFTER_SECS,
        body.len()
    );
    if lingering.fetch_add(1, Ordering::Relaxed) >= limits::SHED_LINGER_MAX {
        lingering.fetch_sub(1, Ordering::Relaxed);
        let _ = stream.try_write(response.as_bytes());
        return;
    }
    let lingering = lingering.clone();
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
        drop(stream);
        lingering.fetch_sub(1, Ordering::Relaxed);
    });
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Why [`bind`] could not listen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("cannot resolve '{addr}' (expected IP:PORT or HOST:PORT): {source}")]
    Resolve {
        addr: String,
        source: std::io::Error,
    },
    #[error("'{0}' resolves to no address")]
    NoAddress(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Why [`run_blocking`] or [`spawn_background`] could not serve, or a
/// background server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener's own address could not be read.
    #[error("cannot read the listener's address: {0}")]
    LocalAddr(std::io::Error),
    /// The listener could not be set up for the async runtime.
    #[error("cannot use the listener: {0}")]
    Listener(std::io::Error),
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The async runtime did not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The background server's thread did not start.
    #[error("cannot start the server thread: {0}")]
    Thread(std::io::Error),
    /// The server stopped with an error.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Listens on `addr`: `IP:PORT`, or `HOST:PORT` such as `localhost:8080`
/// (its IPv4 addresses first, as `storelab load` picks them); port 0 takes
/// any free port. The listener is non-blocking, ready for
/// [`run_blocking`].
pub fn bind(addr: &str) -> Result<std::net::TcpListener, BindError> {
    let mut addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| BindError::Resolve {
            addr: addr.to_owned(),
            source,
        })?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let mut failure = None;
    for a in addrs {
        match std::net::TcpListener::bind(a).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
            Ok(listener) => return Ok(listener),
            Err(source) => {
                failure.get_or_insert(BindError::Listen { addr: a, source });
            }
        }
    }
    Err(failure.unwrap_or_else(|| BindError::NoAddress(addr.to_owned())))
}

/// Serves `router` on `listener` (from [`bind`]) until Ctrl-C or SIGTERM,
/// on a runtime of its own; prints the bound address.
pub fn run_blocking(
    listener: std::net::TcpListener,
    router: Router,
    limits: Limits,
) -> Result<(), ServerError> {
    let bound = listener.local_addr().map_err(ServerError::LocalAddr)?;
    listener
        .set_nonblocking(true)
        .map_err(ServerError::Listener)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(|source| ServerError::Listen {
            addr: bound,
            source,
        })?;
        println!("storelab: serving on http://{bound} (Ctrl-C or SIGTERM stops)");
        serve(listener, router, limits, shutdown_signal())
            .await
            .map_err(ServerError::Serve)?;
        println!("storelab: stopped");
        Ok(())
    })
}

/// A server running on a thread of its own, stopped (gracefully) when
/// dropped. For tests and tools that need a live server in-process.
pub struct Background {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

/// Serves `router` on `addr` (port 0 for any free port) on a new thread,
/// under the default [`Limits`].
pub fn spawn_background(addr: SocketAddr, router: Router) -> Result<Background, ServerError> {
    spawn_background_with(addr, router, Limits::default())
}

/// Serves `router` on `addr` under `limits`, on a new thread.
pub fn spawn_background_with(
    addr: SocketAddr,
    router: Router,
    limits: Limits,
) -> Result<Background, ServerError> {
    let std_listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServerError::Listen { addr, source })?;
    std_listener
        .set_nonblocking(true)
        .map_err(ServerError::Listener)?;
    let bound = std_listener.local_addr().map_err(ServerError::LocalAddr)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("sl-http".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(ServerError::Runtime)?;
            runtime.block_on(async move {
                let listener =
                    TcpListener::from_std(std_listener).map_err(|source| ServerError::Listen {
                        addr: bound,
                        source,
                    })?;
                serve(listener, router, limits, async {
                    let _ = stopped.await;
                })
                .await
                .map_err(ServerError::Serve)
            })
        })
        .map_err(ServerError::Thread)?;
    Ok(Background {
        addr: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_cap_the_quietest_idle_connection_gives_way() {
        let registry = Arc::new(Registry::new(2));
        let old = registry.admit().expect("room");
        let newer = registry.admit().expect("room");
        // Neither has sent a byte yet: a newcomer is refused rather than
        // cutting off a client the server has not read yet.
        assert!(
            registry.admit().is_none(),
            "new connections do not give way"
        );
        old.watch.touch();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        newer.watch.touch();
        // Full: the quietest is evicted for the newcomer.
        let third = registry.admit().expect("the quietest gives way");
        tokio::time::timeout(std::time::Duration::from_secs(5), old.watch.evicted())
            .await
            .expect("the oldest was told to close");
        // A connection in a handler is never evicted (and the third is
        // new): a newcomer is refused.
        let _busy = newer.watch.busy();
        assert!(registry.admit().is_none(), "every connection is working");
        drop(old);
        drop(third);
        assert_eq!(registry.conns.lock().map(|c| c.len()).unwrap_or(0), 1);
    }

    #[test]
    fn bind_takes_host_names_and_reports_a_busy_port() {
        let first = bind("localhost:0").expect("localhost binds");
        let addr = first.local_addr().expect("bound");
        assert!(addr.ip().is_loopback() && addr.is_ipv4(), "{addr}");
        let busy = bind(&addr.to_string()).expect_err("the port is taken");
        assert!(busy.to_string().contains("cannot listen on"), "{busy}");
        let bad = bind("localhost").expect_err("no port");
        assert!(bad.to_string().contains("cannot resolve"), "{bad}");
    }
}
