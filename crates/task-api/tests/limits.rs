//! Each limit of `task_api::Limits` on a real server over loopback TCP, with
//! clients that misbehave on purpose. The assertions are on outcomes (the
//! status, the connection closed); every wait has a generous bound so that a
//! missing limit fails the test instead of hanging it, and no test asserts
//! how fast anything happened.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use task_api::{Background, Limits};
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// How long any client waits for the server before calling it a hang: far
/// above every limit these tests set.
const PATIENCE: Duration = Duration::from_secs(20);

fn server(limits: Limits) -> Background {
    let store = store_dense::DenseStore::with_capacity(16);
    task_api::spawn_background_with(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "limits"),
        limits,
    )
    .expect("server starts")
}

fn short(limits: Limits) -> Limits {
    Limits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        ..limits
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s
}

/// Reads until the server closes the connection; panics if it does not
/// within [`PATIENCE`].
fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "the server kept the connection open past {PATIENCE:?}; read so far: {:?}",
                    String::from_utf8_lossy(&out)
                )
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response with a Content-Length body (keep-alive).
fn read_response(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1];
    while !out.ends_with(b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => panic!("closed mid-response: {:?}", String::from_utf8_lossy(&out)),
            Ok(_) => out.push(buf[0]),
            Err(e) => panic!("read failed: {e}"),
        }
    }
    let head = String::from_utf8_lossy(&out).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("body");
    head + &String::from_utf8_lossy(&body)
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

fn healthz(addr: SocketAddr) -> String {
    let mut s = connect(addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    read_to_close(&mut s)
}

#[test]
fn a_body_shorter_than_its_content_length_gets_408_and_the_connection_closed() {
    let srv = server(short(Limits::default()));
    let mut s = connect(srv.addr);
    s.write_all(
        b"POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":",
    )
    .expect("write");
    let response = read_to_close(&mut s);
    assert_eq!(status(&response), 408, "{response}");
    assert!(
        response.contains("request_timeout"),
        "a JSON error: {response}"
    );
    assert_eq!(status(&healthz(srv.addr)), 200, "others are still served");
}

#[test]
fn half_a_header_is_disconnected() {
    let srv = server(short(Limits::default()));
    let mut s = connect(srv.addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .expect("write");
    let response = read_to_close(&mut s);
    assert!(
        response.is_empty() || status(&response) >= 400,
        "a half header must not be answered as a request: {response}"
    );
    assert_eq!(status(&healthz(srv.addr)), 200);
}

#[test]
fn a_connection_that_says_nothing_is_closed() {
    let srv = server(short(Limits::default()));
    let mut s = connect(srv.addr);
    assert_eq!(read_to_close(&mut s), "", "closed without a word");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_its_response() {
    let srv = server(Limits {
        idle_timeout: Duration::from_secs(1),
        ..Limits::default()
    });
    let mut s = connect(srv.addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(status(&read_response(&mut s)), 200);
    // Keep-alive: a second request on the same connection is served.
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(status(&read_response(&mut s)), 200);
    // Then nothing: the idle timeout (1 s here, far below the 10 s header
    // timeout) closes it.
    assert_eq!(read_to_close(&mut s), "");
}

#[test]
fn an_oversized_header_gets_431() {
    let srv = server(Limits::default());
    let mut s = connect(srv.addr);
    let big = "a".repeat(200 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = s.write_all(request.as_bytes());
    let response = read_to_close(&mut s);
    assert_eq!(status(&response), 431, "{response}");
    // A header just under the limit is served.
    let mut s = connect(srv.addr);
    let fits = "a".repeat(8 * 1024);
    s.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Fits: {fits}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .expect("write");
    assert_eq!(status(&read_to_close(&mut s)), 200);
}

/// Where requests for task 1 wait until it opens: a request held in its
/// handler, for as long as a test needs.
#[derive(Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
    entered: AtomicUsize,
}

impl Gate {
    fn wait(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + PATIENCE;
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        while *closed && Instant::now() < deadline {
            closed = self
                .opened
                .wait_timeout(closed, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn close(&self) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    fn open(&self) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = false;
        self.opened.notify_all();
    }

    /// Waits (boundedly) until `n` requests have reached the gate.
    fn reached(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.entered.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "requests never reached the store"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A dense store whose reads of task 1 wait at a [`Gate`].
struct Held {
    inner: store_dense::DenseStore,
    gate: Arc<Gate>,
}

impl TaskStore for Held {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;
    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        self.inner.create(draft)
    }
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        if id == TaskId(1) {
            // The worker hands its queue to another thread while it waits
            // (a plain wait would starve the task tokio queued behind it,
            // the accept loop included).
            tokio::task::block_in_place(|| self.gate.wait());
        }
        self.inner.get(id)
    }
    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
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

/// A server over a [`Held`] store with task 1, and its gate (closed).
fn held_server(limits: Limits) -> (Background, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    gate.close();
    let store = Held {
        inner: store_dense::DenseStore::with_capacity(16),
        gate: gate.clone(),
    };
    task_api::prefill(&store, 1);
    let srv = task_api::spawn_background_with(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "held"),
        limits,
    )
    .expect("server starts");
    (srv, gate)
}

/// Sends `GET /tasks/1` (which waits at the gate) on a new connection.
fn held_request(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(b"GET /tasks/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    s
}

#[test]
fn past_the_connection_cap_the_quietest_connection_gives_way() {
    let srv = server(Limits {
        max_connections: 4,
        idle_timeout: Duration::from_secs(60),
        header_timeout: Duration::from_secs(60),
        ..Limits::default()
    });
    // Four clients each make a request and keep their connection, idle.
    let mut holders: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("write");
            assert_eq!(status(&read_response(&mut s)), 200);
            s
        })
        .collect();
    // A fifth is served: the connection quiet the longest (the first) is
    // closed to make room for it.
    assert_eq!(status(&healthz(srv.addr)), 200);
    assert_eq!(
        read_to_close(&mut holders[0]),
        "",
        "the quietest was closed"
    );
    // The others still work.
    holders[3]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(status(&read_response(&mut holders[3])), 200);
}

#[test]
fn past_the_connection_cap_with_every_connection_working_a_newcomer_gets_503() {
    let (srv, gate) = held_server(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    // The only connection is in a handler: it cannot give way.
    let mut held = held_request(srv.addr);
    gate.reached(1);
    let response = healthz(srv.addr);
    assert_eq!(status(&response), 503, "{response}");
    assert!(response.contains("overloaded"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    gate.open();
    assert_eq!(status(&read_to_close(&mut held)), 200);
}

#[test]
fn requests_past_the_in_flight_cap_get_503_and_retry_after() {
    let (srv, gate) = held_server(Limits {
        max_in_flight: 1,
        ..Limits::default()
    });
    // One request is in its handler; a second is shed, not queued.
    let mut held = held_request(srv.addr);
    gate.reached(1);
    let shed = healthz(srv.addr);
    assert_eq!(status(&shed), 503, "{shed}");
    assert!(shed.contains("overloaded"), "{shed}");
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 1"),
        "{shed}"
    );
    gate.open();
    assert_eq!(status(&read_to_close(&mut held)), 200);
    assert_eq!(status(&healthz(srv.addr)), 200, "the slot was freed");
}

/// Sends the head of a POST declaring 50 bytes of body, and one byte.
fn slow_upload(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(
        b"POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
    )
    .expect("write");
    s
}

#[test]
fn requests_waiting_for_their_body_hold_no_in_flight_slot() {
    let srv = server(Limits {
        max_in_flight: 1,
        body_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let mut slow: Vec<TcpStream> = (0..4).map(|_| slow_upload(srv.addr)).collect();
    // Make sure the server has taken the uploads' heads in: a request on
    // each connection's heels, on a connection of its own, is served.
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..3 {
        assert_eq!(
            status(&healthz(srv.addr)),
            200,
            "slow uploads must not hold the one in-flight slot"
        );
    }
    for s in &mut slow {
        let r = read_to_close(s);
        assert_eq!(status(&r), 408, "{r}");
    }
}

#[test]
fn an_upload_under_the_minimum_rate_is_dropped_long_before_the_body_timeout() {
    // The body timeout is far above PATIENCE: only the minimum rate (one
    // byte of 50 is far under 1000 bytes/s past the first second) can end
    // this upload within the test's patience.
    let srv = server(Limits {
        body_timeout: Duration::from_secs(600),
        min_body_rate: 1000,
        ..Limits::default()
    });
    let mut s = slow_upload(srv.addr);
    let response = read_to_close(&mut s);
    assert_eq!(status(&response), 408, "{response}");
    assert!(response.contains("request_timeout"), "{response}");
}

#[test]
fn a_client_that_sends_requests_and_never_reads_is_closed() {
    let srv = {
        let store = store_dense::DenseStore::with_capacity(1024);
        task_api::prefill(&store, 1000);
        task_api::spawn_background_with(
            "127.0.0.1:0".parse().expect("addr"),
            task_api::router(store, "writes"),
            Limits {
                write_timeout: Duration::from_millis(500),
                idle_timeout: Duration::from_secs(600),
                header_timeout: Duration::from_secs(600),
                ..Limits::default()
            },
        )
        .expect("server starts")
    };
    // Pages of 1000 tasks, asked for over and over, never read: the
    // server's writes block, and the write timeout closes the connection,
    // which fails the client's writes. (The idle and header timeouts are
    // far above PATIENCE: only the write timeout can end this.)
    let mut s = connect(srv.addr);
    s.set_write_timeout(Some(PATIENCE)).expect("timeout");
    let request = b"GET /tasks?limit=1000 HTTP/1.1\r\nHost: t\r\n\r\n";
    let deadline = Instant::now() + PATIENCE;
    let closed = loop {
        match s.write_all(request) {
            Ok(()) if Instant::now() < deadline => continue,
            Ok(()) => break false,
            Err(e) => break !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    };
    assert!(closed, "a client that never reads kept its connection");
    assert_eq!(status(&healthz(srv.addr)), 200);
}

#[test]
fn a_declared_body_over_the_limit_gets_413_before_any_of_it_is_sent() {
    // The body timeout is far above PATIENCE: a server that waited for the
    // body would fail this test, not answer 408.
    let srv = server(Limits {
        body_timeout: Duration::from_secs(600),
        ..Limits::default()
    });
    for expect in ["", "Expect: 100-continue\r\n"] {
        let mut s = connect(srv.addr);
        s.write_all(
            format!(
                "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n{expect}\r\n"
            )
            .as_bytes(),
        )
        .expect("write");
        let response = read_to_close(&mut s);
        assert!(
            response.starts_with("HTTP/1.1 413 "),
            "413 first, and no 100 Continue ({expect:?}): {response}"
        );
        assert!(response.contains("payload_too_large"), "{response}");
    }
    // Within the limit, a client that asks gets 100 Continue, then sends.
    let mut s = connect(srv.addr);
    let body = br#"{"title":"asked first"}"#;
    s.write_all(
        format!(
            "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .expect("write");
    let mut first = [0u8; 25];
    s.read_exact(&mut first).expect("an interim response");
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body).expect("body");
    let response = read_to_close(&mut s);
    assert_eq!(status(&response), 201, "{response}");
}
