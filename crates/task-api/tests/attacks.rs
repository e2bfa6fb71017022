//! The server's defences under attack, on a real server over loopback with
//! a small connection cap and short timeouts: while each attack runs (slow
//! readers filling the connection cap, slow uploads, huge declared bodies),
//! with every attacker reconnecting as soon as it is closed, at least 90%
//! of a well-behaved client's `/healthz` requests get 200 within 1 s. That
//! bound is the issue's own liveness bound; nothing else here is timed.
//!
//! The attacks run one at a time (each loads the machine), for about two
//! seconds each.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use task_api::{Background, Limits};

/// One attack at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The connection cap, and the number of attackers: they fill it.
const CAP: usize = 16;
/// How long the well-behaved client measures, once the attack is on.
const MEASURE: Duration = Duration::from_millis(1500);
/// The liveness bound a well-behaved request must meet.
const BOUND: Duration = Duration::from_secs(1);

fn server() -> Background {
    let store = store_dense::DenseStore::with_capacity(1024);
    task_api::prefill(&store, 1000);
    task_api::spawn_background_with(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "attacked"),
        Limits {
            max_connections: CAP,
            max_in_flight: 4,
            header_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(2),
            min_body_rate: 1000,
            write_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            ..Limits::default()
        },
    )
    .expect("server starts")
}

/// `CAP` attacker threads, each running one connection of the attack after
/// another until stopped (when dropped).
struct Attack {
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

fn attack(addr: SocketAddr, one: fn(SocketAddr, &AtomicBool)) -> Attack {
    let stop = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicUsize::new(0));
    let threads = (0..CAP)
        .map(|_| {
            let (stop, connections) = (stop.clone(), connections.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    connections.fetch_add(1, Ordering::Relaxed);
                    one(addr, &stop);
                }
            })
        })
        .collect();
    Attack {
        stop,
        connections,
        threads,
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A connection with a small receive window (and segment size), so that a
/// client that does not read blocks the server's writes after a few
/// kilobytes rather than megabytes; reads and writes give up after 200 ms
/// so that an attacker notices it was told to stop.
fn attacker_socket(addr: SocketAddr) -> Option<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).ok()?;
    socket.set_recv_buffer_size(4096).ok()?;
    let _ = socket.set_tcp_mss(1024);
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(1))
        .ok()?;
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    Some(stream)
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Asks for pages of 1000 tasks, over and over, and never reads.
fn slow_reader(addr: SocketAddr, stop: &AtomicBool) {
    let Some(mut s) = attacker_socket(addr) else {
        return;
    };
    let request = b"GET /tasks?limit=1000 HTTP/1.1\r\nHost: a\r\n\r\n";
    while !stop.load(Ordering::Relaxed) {
        match s.write(request) {
            Ok(_) => {}
            Err(e) if timed_out(&e) => {}
            Err(_) => return,
        }
    }
}

/// Reads until the server closes the connection (or the attack stops).
fn wait_for_close(s: &mut TcpStream, stop: &AtomicBool) {
    let mut sink = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if timed_out(&e) => {}
            Err(_) => return,
        }
    }
}

/// Declares a 50-byte body, sends one byte, and waits.
fn slow_uploader(addr: SocketAddr, stop: &AtomicBool) {
    let Some(mut s) = attacker_socket(addr) else {
        return;
    };
    let head = b"POST /tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{";
    if s.write_all(head).is_ok() {
        wait_for_close(&mut s, stop);
    }
}

/// Declares a terabyte of body (asking for 100 Continue first).
fn huge_body(addr: SocketAddr, stop: &AtomicBool) {
    let Some(mut s) = attacker_socket(addr) else {
        return;
    };
    let head = b"POST /tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n";
    if s.write_all(head).is_ok() {
        wait_for_close(&mut s, stop);
    }
}

/// One `/healthz` on a new connection: 200, all within [`BOUND`].
fn healthy(addr: SocketAddr) -> bool {
    let start = Instant::now();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, BOUND) else {
        return false;
    };
    let within = |s: &TcpStream| {
        let left = BOUND.saturating_sub(start.elapsed());
        !left.is_zero()
            && s.set_read_timeout(Some(left)).is_ok()
            && s.set_write_timeout(Some(left)).is_ok()
    };
    if !within(&s)
        || s.write_all(b"GET /healthz HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n")
            .is_err()
    {
        return false;
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while within(&s) {
        match s.read(&mut buf) {
            Ok(0) => return out.starts_with(b"HTTP/1.1 200 ") && start.elapsed() <= BOUND,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return false,
        }
    }
    false
}

/// Runs `one` as an attack and measures the well-behaved client; returns
/// (requests that met the bound, requests).
fn under_attack(one: fn(SocketAddr, &AtomicBool)) -> (usize, usize) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let srv = server();
    let attack = attack(srv.addr, one);
    // Let the attackers fill the connection cap first.
    std::thread::sleep(Duration::from_millis(300));
    let (mut ok, mut total) = (0, 0);
    let end = Instant::now() + MEASURE;
    while Instant::now() < end {
        total += 1;
        ok += usize::from(healthy(srv.addr));
        std::thread::sleep(Duration::from_millis(20));
    }
    let attackers = attack.connections.load(Ordering::Relaxed);
    drop(attack);
    assert!(attackers >= CAP, "the attack never filled the cap");
    (ok, total)
}

fn assert_live((ok, total): (usize, usize), attack: &str) {
    assert!(
        ok * 10 >= total * 9,
        "during {attack}, only {ok} of {total} /healthz requests got 200 within {BOUND:?}"
    );
}

#[test]
fn slow_readers_filling_the_connection_cap_do_not_lock_out_a_well_behaved_client() {
    assert_live(under_attack(slow_reader), "the slow-reader attack");
}

#[test]
fn slow_uploads_do_not_lock_out_a_well_behaved_client() {
    assert_live(under_attack(slow_uploader), "the slow-upload attack");
}

#[test]
fn huge_declared_bodies_do_not_lock_out_a_well_behaved_client() {
    assert_live(under_attack(huge_body), "the huge-body attack");
}
