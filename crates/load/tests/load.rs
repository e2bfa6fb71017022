//! The load generator against a live Task API server on 127.0.0.1.

use std::time::Duration;

use storelab_load::{self as load, LoadPlan};
use workload::{HotKeys, KeyDist, Mix, Workload};

fn plan(addr: std::net::SocketAddr, rate: Option<f64>, mix: Mix) -> LoadPlan {
    LoadPlan {
        addrs: vec![addr],
        rate,
        duration: Duration::from_millis(800),
        connections: 2,
        client_threads: 1,
        workload: Workload {
            capacity: None,
            keys: 500,
            dist: KeyDist::SEED,
            hot_keys: HotKeys::Scrambled,
            mix,
            seed: 3,
            stream_len: 0,
        },
    }
}

/// A `dense` store of 500 tasks served on a loopback port.
fn dense_server() -> task_api::Background {
    let store = store_dense::DenseStore::new();
    task_api::prefill(&store, 500);
    task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "dense"),
    )
    .expect("server starts")
}

#[test]
fn bounded_load_runs_report_throughput_and_no_errors() {
    let server = dense_server();
    assert_eq!(
        load::health(server.addr).expect("healthz"),
        ("dense".to_owned(), 500)
    );

    // Open loop at a rate this machine sustains: every request answered 2xx.
    let open = load::run(plan(server.addr, Some(400.0), Mix::SEED)).expect("open-loop run");
    assert!(open.rps > 0.0);
    // 0.8 s at 400 req/s is 320 requests due; all of them are sent.
    assert_eq!(open.requests, 320, "every due request is sent");
    // Achieved over the schedule's length at least: never above the rate.
    assert!(open.rps <= 400.0 + 1e-9, "{}", open.rps);
    assert_eq!(open.transport_errors, 0);
    assert!(
        open.statuses.iter().all(|(code, _)| *code == 200),
        "{:?}",
        open.statuses
    );
    let cell = &open.file.cells[0];
    assert_eq!(cell.store, "dense");
    assert!(cell.latency.iter().any(|l| l.op == "read" && l.count > 0));
    // One run is one sample; its HTTP counts are its own fields.
    assert_eq!(cell.samples.len(), 1);
    let http = cell.samples[0].http.expect("HTTP counts");
    assert_eq!((http.server_errors, http.transport_errors), (0, 0));
    assert!(http.read_p99_ns >= http.read_p50_ns && http.read_p50_ns > 0);
    assert_eq!(
        open.file.timer_cost_ns, 0.0,
        "lateness is not the timer cost"
    );

    // Closed loop, every kind of request: creates answer 201, deletes 204,
    // and reads of deleted tasks 404; nothing fails at the transport.
    let mix: Mix = "read=50,update=20,create=10,delete=10,get_all=10"
        .parse()
        .expect("valid mix");
    let closed = load::run(plan(server.addr, None, mix)).expect("closed-loop run");
    assert!(closed.requests > 0 && closed.rps > 0.0);
    assert_eq!(closed.transport_errors, 0);
    for (code, _) in &closed.statuses {
        assert!(
            [200, 201, 204, 404].contains(code),
            "unexpected status {code}"
        );
    }
    assert!(
        closed.statuses.iter().any(|(c, _)| *c == 201),
        "creates answered 201"
    );
    let not_found: u64 = closed
        .statuses
        .iter()
        .filter(|(c, _)| *c == 404)
        .map(|(_, n)| n)
        .sum();
    let http = closed.file.cells[0].samples[0].http.expect("HTTP counts");
    assert_eq!(
        http.not_found, not_found,
        "404s are counted in their own field"
    );
    assert_eq!(closed.file.cells[0].misses, 0, "misses are the harness's");
    drop(server);
}

#[test]
fn connections_are_dealt_to_several_servers_in_turn() {
    let (a, b) = (dense_server(), dense_server());
    // Open loop, creates only: 4 connections over 2 servers, 0.5 s at
    // 400 req/s is 200 requests, 50 per connection; connections 0 and 2
    // create on the first server, 1 and 3 on the second: 100 each.
    let mut p = plan(a.addr, Some(400.0), "create=100".parse().expect("mix"));
    p.addrs.push(b.addr);
    p.connections = 4;
    p.duration = Duration::from_millis(500);
    let outcome = load::run(p).expect("a run over two servers");
    assert_eq!(outcome.requests, 200);
    assert_eq!(outcome.transport_errors, 0);
    assert_eq!(outcome.statuses, [(201, 200)]);
    for srv in [&a, &b] {
        assert_eq!(
            load::health(srv.addr).expect("healthz"),
            ("dense".to_owned(), 600),
            "{}: 500 prefilled and its 100 creates",
            srv.addr
        );
    }
    // One cell of one store, whose file names both servers.
    assert_eq!(outcome.file.cells[0].store, "dense");
    let about = &outcome.file.stores[0].about;
    assert!(
        about.ends_with(&format!(
            ", spread over 2 servers: http://{}, http://{}",
            a.addr, b.addr
        )),
        "{about}"
    );
    // Every server is asked before the run: one that serves another
    // store is refused, as is one that is not there.
    let other = task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store_dense::DenseStore::new(), "other"),
    )
    .expect("server starts");
    let mut mixed = plan(a.addr, None, Mix::SEED);
    mixed.addrs.push(other.addr);
    let err = load::run(mixed).err().expect("refused");
    assert!(matches!(err, load::LoadError::MixedStores { .. }), "{err}");
    assert!(err.to_string().contains("'other'"), "{err}");
    let mut gone = plan(a.addr, None, Mix::SEED);
    gone.addrs.push("127.0.0.1:1".parse().expect("addr"));
    let err = load::run(gone).err().expect("refused");
    assert!(matches!(err, load::LoadError::Connect { .. }), "{err}");
}

/// A fake server that answers one request with `status` and `body`.
fn one_answer(status: &'static str, body: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(s.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn an_unhealthy_server_says_why_and_which() {
    // A storelab server whose store is unreachable.
    let addr = one_answer(
        "503 Service Unavailable",
        r#"{"error":"store_unavailable","message":"the store is unreachable: refused"}"#,
    );
    let err = load::health(addr).expect_err("unhealthy");
    assert!(
        matches!(err, load::LoadError::Unhealthy { status: 503, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&addr.to_string()) && text.contains("refused"),
        "{text}"
    );
    // Not a storelab server at all.
    let addr = one_answer("200 OK", "<html>");
    let err = load::health(addr).expect_err("not JSON");
    assert!(
        matches!(err, load::LoadError::NotAStorelabServer { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[test]
fn refuses_what_is_not_a_loopback_server() {
    assert!(load::loopback_addr("http://10.1.2.3:8080").is_err());
    // A loopback port with nothing listening: a clear error, not a hang.
    let err =
        load::health("127.0.0.1:1".parse().expect("addr")).expect_err("nothing listens on port 1");
    assert!(matches!(err, load::LoadError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    // Plans outside the limits are refused before anything connects.
    let addr = "127.0.0.1:1".parse().expect("addr");
    for bad in [
        LoadPlan {
            client_threads: 0,
            ..plan(addr, None, Mix::SEED)
        },
        LoadPlan {
            client_threads: load::MAX_CLIENT_THREADS + 1,
            ..plan(addr, None, Mix::SEED)
        },
        LoadPlan {
            connections: 0,
            ..plan(addr, None, Mix::SEED)
        },
        plan(addr, Some(0.0), Mix::SEED),
        plan(addr, Some(f64::NAN), Mix::SEED),
    ] {
        let err = load::run(bad).err().expect("refused");
        assert!(matches!(err, load::LoadError::BadPlan { .. }), "{err}");
    }
}

#[test]
fn a_few_client_threads_drive_many_connections_in_both_loops() {
    let server = dense_server();
    // Open loop: 5 connections on 2 client threads (3 and 2), 250 ms at
    // 2000 req/s: the 500 requests due, every one sent and answered.
    let mut p = plan(server.addr, Some(2000.0), Mix::SEED);
    p.connections = 5;
    p.client_threads = 2;
    p.duration = Duration::from_millis(250);
    let open = load::run(p.clone()).expect("open-loop run");
    assert_eq!(open.requests, 500, "every due request is sent");
    assert_eq!(open.transport_errors, 0);
    assert!(
        open.statuses.iter().all(|(code, _)| *code == 200),
        "{:?}",
        open.statuses
    );
    let (late50, late99) = open.lateness;
    assert!(late50 >= 1 && late50 <= late99, "{:?}", open.lateness);
    let http = open.file.cells[0].samples[0].http.expect("HTTP counts");
    assert_eq!((http.lateness_p50_ns, http.lateness_p99_ns), open.lateness);
    assert!(
        open.file.stores[0]
            .about
            .contains("5 connections on 2 client threads"),
        "{}",
        open.file.stores[0].about
    );
    // Closed loop: 8 connections on one thread, all busy to the end.
    p.rate = None;
    p.connections = 8;
    p.client_threads = 1;
    let closed = load::run(p).expect("closed-loop run");
    assert!(
        closed.requests >= 8 && closed.rps > 0.0,
        "{}",
        closed.requests
    );
    assert_eq!(closed.transport_errors, 0);
    assert!(closed.statuses.iter().all(|(code, _)| *code == 200));
    assert_eq!(
        closed.statuses.iter().map(|(_, n)| n).sum::<u64>(),
        closed.requests
    );
    assert!(closed.file.stores[0].about.contains("on 1 client thread,"));
}

/// A fake server that answers `/healthz` and, on every other connection,
/// reads one request, records its method and closes without answering,
/// until `stop` is set.
fn forgetful_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<Vec<String>>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("addr");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let server = std::thread::spawn(move || {
        let mut methods = Vec::new();
        while !stopped.load(Ordering::Relaxed) {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(s.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            if text.starts_with("GET /healthz ") {
                let body = r#"{"store":"forgetful","tasks":10}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
            } else if !text.is_empty() {
                methods.push(text.split(' ').next().unwrap_or("").to_owned());
            }
        }
        methods
    });
    (addr, stop, server)
}

#[test]
fn the_event_loop_retries_a_failed_get_once_and_never_a_patch() {
    for (mix, sent_per_request) in [("update=100", 1), ("read=100", 2)] {
        let (addr, stop, server) = forgetful_server();
        let mut p = plan(addr, Some(100.0), mix.parse().expect("mix"));
        p.connections = 1;
        p.duration = Duration::from_millis(200);
        p.workload.keys = 10;
        let outcome = load::run(p).expect("the run ends");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let methods = server.join().expect("fake server");
        // 20 requests due; none answered.
        assert_eq!(outcome.requests, 20, "{mix}");
        assert_eq!(outcome.transport_errors, 20, "{mix}");
        assert!(outcome.statuses.is_empty(), "{mix}");
        let want = if mix == "read=100" { "GET" } else { "PATCH" };
        assert!(methods.iter().all(|m| m == want), "{mix}: {methods:?}");
        assert_eq!(methods.len(), 20 * sent_per_request, "{mix}: {methods:?}");
    }
}

#[test]
fn a_sweep_climbs_the_ladder_and_reports_its_knee() {
    use load::sweep::{SweepPlan, sweep};
    let server = dense_server();
    let mut base = plan(server.addr, None, Mix::SEED);
    base.duration = Duration::from_millis(300);
    // A generous target: whether each step passes depends on this
    // machine's timing, so what is checked is the sweep's logic, not its
    // outcome: the ladder, the stop, and the knee agreeing with the steps.
    let easy = sweep(&SweepPlan {
        base: base.clone(),
        start: 50.0,
        factor: 2.0,
        max_rate: 200.0,
        target_p99: Duration::from_secs(5),
    })
    .expect("sweep runs");
    let rates: Vec<f64> = easy.steps.iter().map(|s| s.rate).collect();
    assert!(
        !rates.is_empty() && [50.0, 100.0, 200.0].starts_with(&rates),
        "{rates:?}"
    );
    assert_eq!(easy.knee, load::sweep::knee(&easy.steps));
    match easy.steps.iter().position(|s| s.failed.is_some()) {
        // Only the last step may fail: the sweep stops there.
        Some(i) => {
            assert_eq!(i, easy.steps.len() - 1);
            let why = easy.steps[i].failed.clone().unwrap_or_default();
            assert!(easy.stopped.contains(&why), "{}", easy.stopped);
        }
        None => {
            assert_eq!(rates, [50.0, 100.0, 200.0]);
            assert_eq!(easy.knee, Some(200.0));
            assert!(easy.stopped.contains("maximum"), "{}", easy.stopped);
        }
    }
    assert_eq!(easy.store, "dense");
    for s in &easy.steps {
        // Uncorrected latency starts at the send, never before the due
        // time: it is never above the corrected one (histogram precision).
        assert!(s.uncorrected.p50 <= s.corrected.p50 + 1_000, "{s:?}");
        assert!(s.corrected.p99 >= s.corrected.p50);
        assert_eq!(s.failed, load::sweep::judge(s, easy.target_p99_ns));
    }
    // A target nothing meets: the first step fails, there is no knee.
    let impossible = sweep(&SweepPlan {
        base,
        start: 50.0,
        factor: 2.0,
        max_rate: 200.0,
        target_p99: Duration::from_nanos(1),
    })
    .expect("sweep runs");
    assert_eq!(impossible.steps.len(), 1);
    assert_eq!(impossible.knee, None);
    assert!(impossible.steps[0].failed.is_some());
}

/// A fake server that reads one request per connection, records its
/// method, and closes without answering, for `connections` connections.
fn closing_server(
    connections: usize,
) -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let mut methods = Vec::new();
        for _ in 0..connections {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(s.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head);
            methods.push(text.split(' ').next().unwrap_or("").to_owned());
        }
        methods
    });
    (addr, server)
}

#[test]
fn a_failed_post_is_not_sent_twice_and_a_failed_get_is_retried_once() {
    // Three connections: the POST's, the GET's, the GET's retry.
    let (addr, server) = closing_server(3);
    let mut conn = load::Conn::open(addr).expect("connect");
    let post = conn.call("POST", "/tasks", r#"{"title":"once"}"#);
    assert!(post.is_err(), "nobody answered: {post:?}");
    let get = conn.call("GET", "/tasks/1", "");
    assert!(get.is_err(), "nobody answered: {get:?}");
    let methods = server.join().expect("fake server");
    assert_eq!(methods, ["POST", "GET", "GET"], "what the server received");
    assert!(load::idempotent("PUT") && load::idempotent("DELETE"));
    assert!(!load::idempotent("POST") && !load::idempotent("PATCH"));
}
