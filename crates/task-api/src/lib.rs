//! The Task REST API over any [`TaskStore`], with axum on tokio.
//!
//! | route | does |
//! |---|---|
//! | `POST /tasks` | create from a `NewTask` body: 201 and the task, `Location` set |
//! | `GET /tasks?limit=&offset=` | a page of tasks in id order (limit 100 by default, at most 1000) and the total |
//! | `GET /tasks/{id}` | one task, or 404 |
//! | `PATCH /tasks/{id}` | apply a `TaskUpdate` (absent fields unchanged) |
//! | `PUT /tasks/{id}` | replace title, description and completed (a `NewTask` body) |
//! | `DELETE /tasks/{id}` | 204, or 404 |
//! | `GET /healthz` | `{"status":"ok","store":NAME,"tasks":N}` |
//!
//! Every error is JSON, `{"error": CODE, "message": TEXT}`, with its status:
//! 400 malformed JSON, a bad id or bad paging; 404 no such task or route; 405
//! wrong method; 413 body over [`BODY_LIMIT`]; 415 not `application/json`;
//! 422 unknown fields, wrong types or failed validation. No input panics the
//! server.
//!
//! Handlers are generic over the store, so each store's calls are
//! monomorphized; the store is chosen when the server starts. Store calls are
//! short and made on the async worker directly (the actor stores block for a
//! round trip of microseconds, which is cheaper than `spawn_blocking`).
//!
//! Not here: authentication, persistence, or the load generator (that is
//! `storelab load` in the harness).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use task_model::{NewTask, StoreError, Task, TaskApi, TaskId, TaskStore, TaskUpdate};
use tokio::net::TcpListener;

pub mod limits;
pub use limits::{IdleIo, Limits};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Page size when `limit` is absent, and the most a page may hold.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1_000;

/// A JSON error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.into(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            StoreError::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                e.to_string(),
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_fields",
            StatusCode::BAD_REQUEST => "malformed_json",
            _ => "bad_request",
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", r.body_text())
    }
}

fn parse_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse::<u64>().map(TaskId).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_id",
            format!("'{raw}' is not a task id (a positive integer)"),
        )
    })
}

/// What the handlers share.
pub struct AppState<S> {
    pub store: S,
    pub name: String,
}

type Shared<S> = State<Arc<AppState<S>>>;

async fn create<S: TaskStore + 'static>(
    State(app): Shared<S>,
    body: Result<Json<NewTask>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(new) = body?;
    let task = app.store.create_task(&new)?;
    let location = format!("/tasks/{}", task.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(&*task),
    )
        .into_response())
}

async fn read<S: TaskStore + 'static>(
    State(app): Shared<S>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json((*app.store.get_task(id)?).clone()))
}

async fn patch<S: TaskStore + 'static>(
    State(app): Shared<S>,
    Path(id): Path<String>,
    body: Result<Json<TaskUpdate>, JsonRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    let Json(update) = body?;
    Ok(Json((*app.store.update_task(id, &update)?).clone()))
}

async fn put<S: TaskStore + 'static>(
    State(app): Shared<S>,
    Path(id): Path<String>,
    body: Result<Json<NewTask>, JsonRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    let Json(new) = body?;
    let update = TaskUpdate {
        title: Some(new.title),
        description: Some(new.description.unwrap_or_default()),
        completed: Some(new.completed.unwrap_or(false)),
    };
    Ok(Json((*app.store.update_task(id, &update)?).clone()))
}

async fn remove<S: TaskStore + 'static>(
    State(app): Shared<S>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    app.store.delete_task(id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Paging {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// A page of tasks.
#[derive(Serialize, Deserialize, Debug)]
pub struct Page {
    pub tasks: Vec<Task>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

async fn list<S: TaskStore + 'static>(
    State(app): Shared<S>,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(paging) = paging?;
    let limit = paging.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    let offset = paging.offset.unwrap_or(0);
    // A snapshot, then only the first offset+limit ids ordered: O(n) to
    // select, O(page log page) to sort, no clone of the other tasks.
    let snapshot = app.store.snapshot();
    let mut refs: Vec<&Arc<Task>> = snapshot.iter().collect();
    let total = refs.len();
    let end = offset.saturating_add(limit).min(total);
    if end < total && end > 0 {
        refs.select_nth_unstable_by_key(end - 1, |t| t.id);
    }
    refs.truncate(end);
    refs.sort_unstable_by_key(|t| t.id);
    let tasks = refs
        .get(offset.min(end)..)
        .unwrap_or(&[])
        .iter()
        .map(|t| (***t).clone())
        .collect();
    Ok(Json(Page {
        tasks,
        total,
        limit,
        offset,
    }))
}

async fn health<S: TaskStore + 'static>(State(app): Shared<S>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "store": app.name, "tasks": app.store.len()}))
}

async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route; see GET /tasks, /tasks/{id}, /healthz",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// The API's router over `store`, which `name` identifies in `/healthz`.
pub fn router<S: TaskStore + 'static>(store: S, name: &str) -> Router {
    let state = Arc::new(AppState {
        store,
        name: name.to_owned(),
    });
    Router::new()
        .route("/tasks", get(list::<S>).post(create::<S>))
        .route(
            "/tasks/{id}",
            get(read::<S>)
                .patch(patch::<S>)
                .put(put::<S>)
                .delete(remove::<S>),
        )
        .route("/healthz", get(health::<S>))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Creates tasks 1..=n (titles "task 1", "task 2", ...), before serving.
pub fn prefill<S: TaskStore>(store: &S, n: u32) {
    for i in 1..=n {
        let draft = NewTask {
            title: format!("task {i}"),
            ..Default::default()
        };
        // Generated titles are valid.
        let _ = store.create_task(&draft);
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes,
/// then stops accepting, lets in-flight requests finish (for at most the
/// header timeout) and returns.
///
/// The accept loop is hyper's HTTP/1 connection builder under the limits of
/// [`limits`]: a semaphore caps connections (one over the cap is answered
/// 503 with `Retry-After` and closed), [`IdleIo`] closes idle keep-alive
/// connections, and tower's concurrency limit with load shedding caps the
/// requests in handlers.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    limits.validate().map_err(std::io::Error::other)?;
    let app = guarded(router, &limits);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
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
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            shed(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(IdleIo::new(stream, limits.idle_timeout));
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            // A connection's end (timeouts included) is its own business.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.header_timeout, graceful.shutdown()).await;
    Ok(())
}

/// The router behind the body timeout and the in-flight limit.
fn guarded(
    router: Router,
    limits: &Limits,
) -> impl tower::Service<
    axum::extract::Request<hyper::body::Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    let router = router.layer(axum::middleware::from_fn_with_state(
        limits.body_timeout,
        body_deadline,
    ));
    tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
        .layer(tower::load_shed::LoadShedLayer::new())
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            limits.max_in_flight,
        ))
        .service(router)
}

/// What the load shedder's refusal becomes.
async fn overloaded(_: tower::BoxError) -> Response {
    shed_response()
}

/// 503 with `Retry-After`: the server is at a limit; try again shortly.
fn shed_response() -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the server is at its request limit; retry after the time in Retry-After",
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(limits::RETRY_AFTER_SECS),
    );
    response
}

/// A handler (which reads the body) must finish within the body timeout;
/// past it the client gets 408 and the connection is closed.
async fn body_deadline(
    State(limit): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request was not received in time",
            )
            .into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// Answers a connection over the cap with 503 and closes it, on a task of
/// its own bounded to one second: write the response, shut down the write
/// side, then read and discard what the client sent until it closes (a
/// "lingering close", as nginx does: closing with unread input makes the
/// kernel send a reset, which can destroy the 503 before the client reads
/// it). A client that never reads or never closes costs one second.
fn shed(stream: tokio::net::TcpStream) {
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

/// Binds `addr` and serves `router` until Ctrl-C or SIGTERM, on a runtime
/// of its own; prints the bound address.
pub fn run_blocking(addr: SocketAddr, router: Router, limits: Limits) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        println!("storelab: serving on http://{bound} (Ctrl-C or SIGTERM stops)");
        serve(listener, router, limits, shutdown_signal())
            .await
            .map_err(|e| format!("server failed: {e}"))?;
        println!("storelab: stopped");
        Ok(())
    })
}

/// A server running on a thread of its own, stopped (gracefully) when
/// dropped. For tests and tools that need a live server in-process.
pub struct Background {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

/// Serves `router` on `addr` (port 0 for any free port) on a new thread,
/// under the default [`Limits`].
pub fn spawn_background(addr: SocketAddr, router: Router) -> Result<Background, String> {
    spawn_background_with(addr, router, Limits::default())
}

/// Serves `router` on `addr` under `limits`, on a new thread.
pub fn spawn_background_with(
    addr: SocketAddr,
    router: Router,
    limits: Limits,
) -> Result<Background, String> {
    let std_listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    let bound = std_listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("sl-http".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).map_err(|e| e.to_string())?;
                serve(listener, router, limits, async {
                    let _ = stopped.await;
                })
                .await
                .map_err(|e| e.to_string())
            })
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
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
