//! What the API promises about `updated_at`: per task, it never goes
//! backwards. A write is stamped when it is validated, before the store
//! applies it, so two concurrent writes to one task can be applied in the
//! other order than they were stamped; the later-applied version then
//! keeps the later stamp (`Task::patched` takes the later of the two).
//! Here the race is forced: one write is held between its stamp and its
//! application while another is stamped after it and applied first.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

const PATIENCE: Duration = Duration::from_secs(20);

/// Holds the first update it is given until released.
#[derive(Default)]
struct HoldFirst {
    calls: AtomicUsize,
    released: Mutex<bool>,
    wake: Condvar,
}

impl HoldFirst {
    fn on_update(&self) {
        if self.calls.fetch_add(1, Ordering::SeqCst) != 0 {
            return;
        }
        let deadline = Instant::now() + PATIENCE;
        // The worker hands its queue to another thread while it waits.
        tokio::task::block_in_place(|| {
            let mut released = self.released.lock().unwrap_or_else(|p| p.into_inner());
            while !*released && Instant::now() < deadline {
                released = self
                    .wake
                    .wait_timeout(released, Duration::from_millis(50))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        });
    }

    fn release(&self) {
        *self.released.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }

    fn reached(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.calls.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "the update never reached the store"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

struct Held {
    inner: store_dense::DenseStore,
    hold: Arc<HoldFirst>,
}

impl TaskStore for Held {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;
    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        self.inner.create(draft)
    }
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.inner.get(id)
    }
    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.hold.on_update();
        self.inner.update(id, patch)
    }
    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.inner.delete(id)
    }
    fn get_all(&self) -> Vec<Arc<Task>> {
        self.inner.get_all()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// Sends one request and reads the response to the close: status, body.
fn send(s: &mut TcpStream, request: &str) -> (u16, Value) {
    s.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&out);
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s
}

fn patch(title: &str) -> String {
    let body = format!(r#"{{"title":"{title}"}}"#);
    format!(
        "PATCH /tasks/1 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn updated_at(task: &Value) -> u64 {
    task["updated_at"]
        .as_u64()
        .unwrap_or_else(|| panic!("no updated_at: {task}"))
}

#[test]
fn a_write_applied_after_a_later_stamped_one_does_not_move_updated_at_back() {
    let hold = Arc::new(HoldFirst::default());
    let store = Held {
        inner: store_dense::DenseStore::with_capacity(16),
        hold: hold.clone(),
    };
    task_api::prefill(&store, 1);
    let srv = task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "ordering"),
    )
    .expect("server starts");
    // A is stamped and held before the store applies it.
    let addr = srv.addr;
    let first = std::thread::spawn(move || send(&mut connect(addr), &patch("first")));
    hold.reached(1);
    // B is stamped after A and applied before it.
    let (status, second) = send(&mut connect(srv.addr), &patch("second"));
    assert_eq!(status, 200, "{second}");
    hold.release();
    let (status, first) = first.join().expect("first writer");
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["title"], "first", "applied last: {first}");
    assert!(
        updated_at(&first) >= updated_at(&second),
        "updated_at went back from {second} to {first}"
    );
    let (_, now) = send(
        &mut connect(srv.addr),
        "GET /tasks/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(updated_at(&now) >= updated_at(&second), "{now}");
}
