//! A store that cannot be reached: every route that touches the store
//! answers 503 `store_unavailable` with `Retry-After` and a JSON error body
//! (never a panic, a 500, an empty list or a 404 for a task that exists),
//! and the same routes work again once the store is back.
//!
//! The store here is `dense` behind a switch: while `down` is set, its
//! `try_` methods fail, and its primitives do what a store outside the
//! process does with a failure they cannot report (record it in `fault`,
//! answer empty). `dense` overrides `snapshot` (copy-on-write), so the
//! list's fast path is the real one.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use store_dense::DenseStore;
use task_model::{
    IdPolicy, Snapshot, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore,
    Unreachable,
};

/// What the test and the served store share.
#[derive(Default)]
struct Switch {
    down: AtomicBool,
    /// The first failure a primitive met (kept, as the contract says).
    fault: Mutex<Option<Unreachable>>,
    /// Primitives other than `snapshot` and `get_all` called while down:
    /// a handler that skipped the fallible path.
    primitives_while_down: AtomicUsize,
}

impl Switch {
    fn down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    fn unreachable() -> Unreachable {
        Unreachable::new("test: the store is switched off")
    }

    /// A primitive met the store down: record the fault (the first one
    /// stays).
    fn record(&self, listing: bool) {
        if !listing {
            self.primitives_while_down.fetch_add(1, Ordering::SeqCst);
        }
        let mut fault = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        fault.get_or_insert_with(Switch::unreachable);
    }

    fn check(&self) -> Result<(), Unreachable> {
        if self.down() {
            Err(Switch::unreachable())
        } else {
            Ok(())
        }
    }
}

struct Flaky {
    inner: DenseStore,
    switch: Arc<Switch>,
}

impl TaskStore for Flaky {
    const SNAPSHOT: SnapshotGuarantee = <DenseStore as TaskStore>::SNAPSHOT;
    const IDS: IdPolicy = <DenseStore as TaskStore>::IDS;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        if self.switch.down() {
            self.switch.record(false);
            return Arc::new(draft.into_task(TaskId(0)));
        }
        self.inner.create(draft)
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        if self.switch.down() {
            self.switch.record(false);
            return None;
        }
        self.inner.get(id)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        if self.switch.down() {
            self.switch.record(false);
            return None;
        }
        self.inner.update(id, patch)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        if self.switch.down() {
            self.switch.record(false);
            return None;
        }
        self.inner.delete(id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        if self.switch.down() {
            self.switch.record(true);
            return Vec::new();
        }
        self.inner.get_all()
    }

    fn snapshot(&self) -> Snapshot {
        if self.switch.down() {
            self.switch.record(true);
            return Snapshot::default();
        }
        self.inner.snapshot()
    }

    fn len(&self) -> usize {
        if self.switch.down() {
            self.switch.record(false);
            return 0;
        }
        self.inner.len()
    }

    fn try_create(&self, draft: TaskDraft) -> Result<Arc<Task>, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.create(draft))
    }

    fn try_get(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.get(id))
    }

    fn try_update(&self, id: TaskId, patch: TaskPatch) -> Result<Option<Arc<Task>>, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.update(id, patch))
    }

    fn try_delete(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.delete(id))
    }

    fn try_get_all(&self) -> Result<Vec<Arc<Task>>, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.get_all())
    }

    fn try_len(&self) -> Result<usize, Unreachable> {
        self.switch.check()?;
        Ok(self.inner.len())
    }

    fn fault(&self) -> Option<Unreachable> {
        self.switch
            .fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `dense` with tasks 1..=3, behind a switch, served on a loopback port.
fn server() -> (task_api::Background, Arc<Switch>) {
    let switch = Arc::new(Switch::default());
    let store = Flaky {
        inner: DenseStore::with_capacity(16),
        switch: switch.clone(),
    };
    task_api::try_prefill(&store, 3).expect("the store is up");
    let srv = task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "flaky"),
    )
    .expect("server starts");
    (srv, switch)
}

/// One answer: status, headers (names in lower case), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on a fresh connection and reads the answer to the
/// end (`Connection: close`).
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer to {method} {path}: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not a response: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Every route that touches the store, with a body where it takes one.
fn routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("POST", "/tasks", Some(json!({"title": "while down"}))),
        ("GET", "/tasks", None),
        ("GET", "/tasks?limit=2&offset=1", None),
        ("GET", "/tasks/1", None),
        ("PATCH", "/tasks/1", Some(json!({"completed": true}))),
        ("PUT", "/tasks/2", Some(json!({"title": "replaced"}))),
        ("DELETE", "/tasks/3", None),
        ("GET", "/healthz", None),
    ]
}

fn assert_unavailable(a: &Answer, what: &str) {
    assert_eq!(a.status, 503, "{what}: {}", a.body);
    assert_eq!(a.header("retry-after"), Some("1"), "{what}");
    assert_eq!(a.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(a.body["error"], "store_unavailable", "{what}: {}", a.body);
    let message = a.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("unreachable") && message.contains("switched off"),
        "{what}: the message says why: {message}"
    );
}

#[test]
fn every_store_route_answers_503_with_retry_after_while_the_store_is_down() {
    let (srv, switch) = server();
    let addr = srv.addr;
    // Up: the list is the snapshot, and nothing failed.
    let listed = call(addr, "GET", "/tasks", None);
    assert_eq!((listed.status, &listed.body["total"]), (200, &json!(3)));
    assert_eq!(call(addr, "GET", "/healthz", None).body["tasks"], 3);
    assert!(switch.fault.lock().expect("fault").is_none());

    switch.down.store(true, Ordering::SeqCst);
    for (method, path, body) in routes() {
        let a = call(addr, method, path, body);
        assert_unavailable(&a, &format!("{method} {path}"));
    }
    // Refusals that come before the store still say what they say.
    assert_eq!(call(addr, "GET", "/tasks/0", None).status, 400);
    assert_eq!(call(addr, "GET", "/nowhere", None).status, 404);
    let invalid = call(addr, "POST", "/tasks", Some(json!({"title": " "})));
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    // No handler called a primitive that cannot report the failure; the
    // list's snapshot did (and recorded it), then asked the fallible way.
    assert_eq!(switch.primitives_while_down.load(Ordering::SeqCst), 0);
    assert!(switch.fault.lock().expect("fault").is_some());

    // Back up: the same routes work, and nothing was changed while down.
    switch.down.store(false, Ordering::SeqCst);
    let health = call(addr, "GET", "/healthz", None);
    assert_eq!((health.status, &health.body["tasks"]), (200, &json!(3)));
    let listed = call(addr, "GET", "/tasks", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let titles: Vec<&str> = listed.body["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(titles, ["task 1", "task 2", "task 3"]);
    let page = call(addr, "GET", "/tasks?limit=2&offset=1", None);
    assert_eq!(page.status, 200);
    assert_eq!(page.body["tasks"][0]["id"], 2);
    assert_eq!(page.body["total"], 3);
    let created = call(addr, "POST", "/tasks", Some(json!({"title": "after"})));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("location"), Some("/tasks/4"));
    let got = call(addr, "GET", "/tasks/1", None);
    assert_eq!((got.status, &got.body["title"]), (200, &json!("task 1")));
    let patched = call(addr, "PATCH", "/tasks/1", Some(json!({"completed": true})));
    assert_eq!(
        (patched.status, &patched.body["completed"]),
        (200, &json!(true))
    );
    let put = call(addr, "PUT", "/tasks/2", Some(json!({"title": "replaced"})));
    assert_eq!((put.status, &put.body["title"]), (200, &json!("replaced")));
    assert_eq!(call(addr, "DELETE", "/tasks/3", None).status, 204);
    assert_eq!(call(addr, "GET", "/tasks/3", None).status, 404);
    let health = call(addr, "GET", "/healthz", None);
    assert_eq!(health.body["tasks"], 3, "3 prefilled, 1 created, 1 deleted");
    let listed = call(addr, "GET", "/tasks", None);
    assert_eq!(listed.body["total"], 3);

    // Down again, after the store has a fault: the list skips the
    // snapshot and still answers 503, not an empty page.
    switch.down.store(true, Ordering::SeqCst);
    assert_unavailable(&call(addr, "GET", "/tasks", None), "GET /tasks again");
    switch.down.store(false, Ordering::SeqCst);
    assert_eq!(call(addr, "GET", "/tasks", None).body["total"], 3);
}

#[test]
fn prefill_says_when_the_store_is_down() {
    let switch = Arc::new(Switch::default());
    let store = Flaky {
        inner: DenseStore::with_capacity(16),
        switch: switch.clone(),
    };
    switch.down.store(true, Ordering::SeqCst);
    let err = task_api::try_prefill(&store, 2).expect_err("down");
    assert!(
        matches!(err, task_model::StoreError::Unavailable(_)),
        "{err}"
    );
    switch.down.store(false, Ordering::SeqCst);
    task_api::try_prefill(&store, 2).expect("up");
    assert_eq!(store.inner.len(), 2);
}
