//! A real server on 127.0.0.1 (ephemeral port) and real HTTP requests.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use task_model::TaskStore;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start<S: TaskStore + 'static>(store: S) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel::<()>();
        let router = task_api::router(store, "test");
        let task = tokio::spawn(task_api::serve(
            listener,
            router,
            task_api::Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Sends one request on a fresh connection; returns status and body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> (StatusCode, String) {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = sender
            .send_request(
                req.body(Full::new(Bytes::from(body.to_owned())))
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, text) = self
            .call(method, path, Some("application/json"), &body.to_string())
            .await;
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).expect("JSON body")
            },
        )
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task
            .await
            .expect("server task")
            .expect("server ran cleanly");
    }
}

async fn crud_round_trip<S: TaskStore + 'static>(store: S) {
    let server = Server::start(store).await;
    let (status, created) = server
        .json(
            Method::POST,
            "/tasks",
            json!({"title": "  write tests ", "description": "all of them"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["title"], "write tests");
    let id = created["id"].as_u64().expect("numeric id");
    let (status, got) = server
        .json(Method::GET, &format!("/tasks/{id}"), Value::Null)
        .await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (status, patched) = server
        .json(
            Method::PATCH,
            &format!("/tasks/{id}"),
            json!({"completed": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (patched["completed"].as_bool(), &patched["title"]),
        (Some(true), &created["title"])
    );
    let (status, put) = server
        .json(
            Method::PUT,
            &format!("/tasks/{id}"),
            json!({"title": "replaced"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            put["title"].as_str(),
            put["description"].as_str(),
            put["completed"].as_bool()
        ),
        (Some("replaced"), Some(""), Some(false))
    );
    let (status, page) = server.json(Method::GET, "/tasks", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    let (status, _) = server
        .json(Method::DELETE, &format!("/tasks/{id}"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = server
        .json(Method::GET, &format!("/tasks/{id}"), Value::Null)
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_round_trip_on_every_store() {
    crud_round_trip(store_memory::MemoryStore::new()).await;
    crud_round_trip(store_shard::ShardStore::new()).await;
    crud_round_trip(store_shardunit::ShardUnitStore::new()).await;
    crud_round_trip(store_shard_pool::ShardPoolStore::new()).await;
    crud_round_trip(store_channel::ChannelStore::new()).await;
    crud_round_trip(store_dense::DenseStore::new()).await;
    crud_round_trip(store_actor::ActorStore::new()).await;
    crud_round_trip(store_peers::DashMapStore::new()).await;
    crud_round_trip(store_peers::PapayaStore::new()).await;
    crud_round_trip(store_peers::SccStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_status_and_a_json_error() {
    let server = Server::start(store_memory::MemoryStore::new()).await;
    let (s, _) = server
        .json(Method::POST, "/tasks", json!({"title": "exists"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let json = Some("application/json");
    let too_big = format!(
        "{{\"title\": \"{}\"}}",
        "x".repeat(task_api::BODY_LIMIT + 1)
    );
    // (method, path, content type, body, expected status, expected error code)
    type Case<'a> = (
        Method,
        &'a str,
        Option<&'a str>,
        String,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/tasks",
            json,
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            Method::POST,
            "/tasks",
            json,
            r#"{"title": 5}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
        (
            Method::POST,
            "/tasks",
            json,
            r#"{"title": "a", "owner": "me"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
        (
            Method::POST,
            "/tasks",
            json,
            r#"{"title": "   "}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            "/tasks",
            Some("text/plain"),
            r#"{"title": "a"}"#.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/tasks",
            None,
            r#"{"title": "a"}"#.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/tasks",
            json,
            too_big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::GET,
            "/tasks/abc",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::GET,
            "/tasks/-1",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::GET,
            "/tasks/99999999999999999999999",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::GET,
            "/tasks/42",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        // Ids have one written form: task 1 is /tasks/1 only.
        (
            Method::GET,
            "/tasks/+1",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::GET,
            "/tasks/0001",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::GET,
            "/tasks/0",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            Method::DELETE,
            "/tasks/%FF",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        // A body is a JSON object, not the fields in order.
        (
            Method::POST,
            "/tasks",
            json,
            r#"["t", "d", true]"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
        (
            Method::PUT,
            "/tasks/1",
            json,
            r#" ["t"]"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
        ),
        (
            Method::PATCH,
            "/tasks/42",
            json,
            r#"{"completed": true}"#.into(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PATCH,
            "/tasks/1",
            json,
            r#"{"title": ""}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::DELETE,
            "/tasks/42",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::DELETE,
            "/tasks",
            None,
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::POST,
            "/tasks/1",
            json,
            "{}".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/nope",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "no_route",
        ),
        (
            Method::GET,
            "/tasks?limit=0",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            Method::GET,
            "/tasks?limit=ten",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            Method::GET,
            "/tasks?limit=100000",
            None,
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
    ];
    for (method, path, ct, body, want, code) in cases {
        let (status, text) = server.call(method.clone(), path, ct, &body).await;
        assert_eq!(status, want, "{method} {path} {body:.60}: {text}");
        let err: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        assert_eq!(err["error"].as_str(), Some(code), "{method} {path}: {text}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {path}: no message"
        );
    }
    // Still serving, and nothing changed.
    let (status, health) = server.json(Method::GET, "/healthz", Value::Null).await;
    assert_eq!(
        (status, health["status"].as_str(), health["tasks"].as_u64()),
        (StatusCode::OK, Some("ok"), Some(1))
    );
    let (_, task) = server.json(Method::GET, "/tasks/1", Value::Null).await;
    assert_eq!(task["title"], "exists");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_in_id_order() {
    let store = store_dense::DenseStore::new();
    task_api::prefill(&store, 25);
    let server = Server::start(store).await;
    let (status, page) = server
        .json(Method::GET, "/tasks?limit=10&offset=20", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<u64> = page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_u64())
        .collect();
    assert_eq!(ids, [21, 22, 23, 24, 25]);
    assert_eq!(page["total"], 25);
    let (_, first) = server
        .json(Method::GET, "/tasks?limit=3", Value::Null)
        .await;
    let ids: Vec<u64> = first["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_u64())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    let (_, past) = server
        .json(Method::GET, "/tasks?offset=100", Value::Null)
        .await;
    assert_eq!(past["tasks"].as_array().map(Vec::len), Some(0));
    server.stop().await;
}
