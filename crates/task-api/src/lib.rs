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
//! | `GET /healthz` | `{"status":"ok","store":NAME,"tasks":N}`, or 503 if the store cannot be reached |
//!
//! Every error is JSON, `{"error": CODE, "message": TEXT}`, with its status,
//! including the ones hyper answers itself before the router sees the
//! request: 400 malformed JSON (`malformed_json`), a bad id (`bad_id`), bad
//! paging (`bad_query`), a body that could not be read (`bad_body`), a
//! missing or repeated `Host` (`bad_host`), or a request that is not valid
//! HTTP/1.1 (`bad_request`: a bad request line or header, conflicting or
//! invalid `Content-Length`, a `Transfer-Encoding` other than chunked); 404
//! no such task or route; 405 wrong method; 408 the body did not arrive in
//! time; 413 body over [`BODY_LIMIT`]; 415 not `application/json`; 422
//! unknown fields, wrong types, a body that is not a JSON object, or failed
//! validation; 431 a request head over the size limit or with more than
//! [`limits::MAX_HEADERS`] headers; 503 at a limit (`overloaded`) or when
//! the store could not be reached (`store_unavailable`), both with
//! `Retry-After`. No input panics the server.
//!
//! What is accepted, exactly (strict on purpose: a benchmark's client and a
//! fuzzer should learn the contract, not a lenient parser's guesses):
//! - **Ids** are decimal integers from 1 to 2^64-1 without sign or leading
//!   zeros: `/tasks/5`, not `/tasks/+5`, `/tasks/0005` or `/tasks/0` (400
//!   `bad_id`).
//! - **Bodies** are JSON objects: `["t","d",true]` would deserialize into
//!   a `NewTask` by position, and is refused (422 `invalid_fields`).
//! - **Host**: an HTTP/1.1 request carries exactly one `Host` header (RFC
//!   9112, section 3.2); HTTP/1.0 at most one (400 `bad_host`).
//! - **Body size**: a declared `Content-Length` over [`BODY_LIMIT`] is
//!   answered 413 before any of the body is read, so a client that sent
//!   `Expect: 100-continue` gets 413 instead of `100 Continue`.
//!
//! Handlers are generic over the store, so each store's calls are
//! monomorphized; the store is chosen when the server starts. Store calls are
//! short and made on the async worker directly (the actor stores block for a
//! round trip of microseconds, which is cheaper than `spawn_blocking`).
//!
//! **A store outside the process** (Redis) can be unreachable, which an
//! in-process map never is. Every handler reaches the store through the
//! fallible calls of [`TaskApi`] (`create_task`, `get_task`, `all_tasks`,
//! `count_tasks`, ...), never through a primitive, whose failure could only
//! be an empty answer: a list of no tasks, a count of 0, a 404 for a task
//! that exists. A failed call is answered 503 `store_unavailable` with
//! `Retry-After`: the request was fine and may succeed later, which a 500
//! would not say, and a load generator counts it as the server error it
//! is. For an in-process store the fallible calls are the primitives
//! wrapped in `Ok`, inlined: the same code as before. The one exception is
//! the list, which keeps the store's snapshot where it can be trusted (see
//! `listing`).
//!
//! Not here: authentication, persistence, or the load generator (that is
//! `storelab load` in the harness).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use task_model::{NewTask, Snapshot, StoreError, Task, TaskApi, TaskId, TaskStore, TaskUpdate};

mod body;
pub mod conn_io;
pub mod limits;
mod server;

pub use limits::Limits;
pub use server::{
    Background, BindError, ServerError, bind, run_blocking, serve, shutdown_signal,
    spawn_background, spawn_background_with,
};

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
    /// Seconds for a `Retry-After` header, on a refusal that may succeed
    /// later (503).
    retry_after: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to retry after `secs` seconds.
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.into(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
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
            // Not the request's fault and not for good: 503, so that a
            // client retries (after the same pause as when overloaded)
            // instead of treating a task as gone or a body as wrong.
            StoreError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("{e}; retry after the time in Retry-After"),
            )
            .retry_after(limits::RETRY_AFTER_SECS),
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

/// A task id in its one written form: decimal digits, no sign, no leading
/// zero, from 1 to 2^64-1.
fn parse_id(raw: &str) -> Result<TaskId, ApiError> {
    let canonical = raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
    raw.parse::<u64>()
        .ok()
        .filter(|_| canonical)
        .map(TaskId)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_id",
                format!(
                    "'{raw}' is not a task id (a decimal integer from 1 to {}, without sign or leading zeros)",
                    u64::MAX
                ),
            )
        })
}

/// The `{id}` of a task route, parsed by [`parse_id`].
struct IdParam(TaskId);

impl<S: Send + Sync> FromRequestParts<S> for IdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(raw)) => parse_id(&raw).map(IdParam),
            // Not UTF-8 once percent-decoded.
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_id",
                e.body_text(),
            )),
        }
    }
}

/// A JSON body that must be an object: serde would also take an array as
/// the struct's fields in order, which this API refuses (422).
struct JsonObject<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        // Already received whole (see `body`): this only takes the bytes.
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("the request body could not be read: {e}"),
            )
        })?;
        let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let request = Request::from_parts(parts, Body::from(bytes));
        let Json(value) = Json::<T>::from_request(request, state).await?;
        if !object {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "the body must be a JSON object, e.g. {\"title\": \"write tests\"}",
            ));
        }
        Ok(JsonObject(value))
    }
}

/// What the handlers share.
pub struct AppState<S> {
    pub store: S,
    pub name: String,
}

type Shared<S> = State<Arc<AppState<S>>>;

async fn create<S: TaskStore + 'static>(
    State(app): Shared<S>,
    JsonObject(new): JsonObject<NewTask>,
) -> Result<Response, ApiError> {
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
    IdParam(id): IdParam,
) -> Result<Json<Task>, ApiError> {
    Ok(Json((*app.store.get_task(id)?).clone()))
}

async fn patch<S: TaskStore + 'static>(
    State(app): Shared<S>,
    IdParam(id): IdParam,
    JsonObject(update): JsonObject<TaskUpdate>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json((*app.store.update_task(id, &update)?).clone()))
}

async fn put<S: TaskStore + 'static>(
    State(app): Shared<S>,
    IdParam(id): IdParam,
    JsonObject(new): JsonObject<NewTask>,
) -> Result<Json<Task>, ApiError> {
    let update = TaskUpdate {
        title: Some(new.title),
        description: Some(new.description.unwrap_or_default()),
        completed: Some(new.completed.unwrap_or(false)),
    };
    Ok(Json((*app.store.update_task(id, &update)?).clone()))
}

async fn remove<S: TaskStore + 'static>(
    State(app): Shared<S>,
    IdParam(id): IdParam,
) -> Result<StatusCode, ApiError> {
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
    let snapshot = listing(&app.store)?;
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

/// Every task, for the list: the store's [`Snapshot`] when it can be
/// trusted, else [`TaskApi::all_tasks`].
///
/// Why not always `all_tasks`: a snapshot may share the store's memory
/// copy-on-write (`dense`, `rcu`), one reference count per run of tasks
/// where `all_tasks` takes one per task, and the list is the load
/// generator's get_all; the HTTP figures of those stores must not change.
/// Why not always the snapshot: it cannot fail, so a store outside the
/// process answers an unreachable call with an empty snapshot, which would
/// list no tasks with a 200. Such a store records that failure in
/// [`TaskStore::fault`] before the call returns, and keeps it; so a
/// snapshot taken while the store had no fault, after which it still has
/// none, is a true one. Otherwise the list goes through `all_tasks`, which
/// says why it failed (503) or answers for real. An in-process store has
/// no fault, ever (`fault` is an inlined `None`): its list is the snapshot,
/// as before.
fn listing<S: TaskStore>(store: &S) -> Result<Snapshot, StoreError> {
    if store.fault().is_none() {
        let snapshot = store.snapshot();
        if store.fault().is_none() {
            return Ok(snapshot);
        }
    }
    Ok(Snapshot::from_tasks(store.all_tasks()?))
}

async fn health<S: TaskStore + 'static>(
    State(app): Shared<S>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // The count comes from the store: a store that cannot be reached makes
    // the server unhealthy (503), not a server of 0 tasks.
    let tasks = app.store.count_tasks()?;
    Ok(Json(
        serde_json::json!({"status": "ok", "store": app.name, "tasks": tasks}),
    ))
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
/// A store that cannot be reached creates nothing, silently: for a store
/// outside the process, [`try_prefill`] says so.
pub fn prefill<S: TaskStore>(store: &S, n: u32) {
    let _ = try_prefill(store, n);
}

/// [`prefill`], stopping at the first create the store could not take
/// ([`StoreError::Unavailable`]; generated titles are always valid).
pub fn try_prefill<S: TaskStore>(store: &S, n: u32) -> Result<(), StoreError> {
    for i in 1..=n {
        let draft = NewTask {
            title: format!("task {i}"),
            ..Default::default()
        };
        store.create_task(&draft)?;
    }
    Ok(())
}
