//! Each limit of `task_api::Limits` on a real server over loopback TCP, with
//! clients that misbehave on purpose. The assertions are on outcomes (the
//! status, the connection closed); every wait has a generous bound so that a
//! missing limit fails the test instead of hanging it, and no test asserts
//! how fast anything happened.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use task_api::{Background, Limits};

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

#[test]
fn connections_past_the_cap_are_shed_while_a_well_behaved_client_is_served() {
    let srv = server(Limits {
        max_connections: 4,
        idle_timeout: Duration::from_secs(60),
        header_timeout: Duration::from_secs(60),
        ..Limits::default()
    });
    // Four slow clients hold every connection.
    let mut holders: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("write");
            assert_eq!(status(&read_response(&mut s)), 200);
            s
        })
        .collect();
    // The fifth is answered 503 with Retry-After, and closed.
    let response = healthz(srv.addr);
    assert_eq!(status(&response), 503, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    // A held connection still works.
    holders[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(status(&read_response(&mut holders[0])), 200);
    // One slow client leaves: a well-behaved client gets in (the server
    // notices the close asynchronously, so it retries a few times).
    drop(holders.pop());
    let served = (0..200).any(|_| {
        if status(&healthz(srv.addr)) == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
        false
    });
    assert!(served, "a freed connection slot was never reused");
}

#[test]
fn requests_past_the_in_flight_cap_get_503_and_retry_after() {
    let srv = server(Limits {
        max_in_flight: 2,
        body_timeout: Duration::from_secs(3),
        ..Limits::default()
    });
    // Two requests wait in their handlers for bodies that never come.
    let mut stuck: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(
                b"POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
            )
            .expect("write");
            s
        })
        .collect();
    // Give the server a moment to take both into handlers; then a third
    // request must be shed rather than queued. (Retried: the two may not be
    // in their handlers yet on a loaded machine.)
    let shed = (0..100).find_map(|_| {
        let r = healthz(srv.addr);
        if status(&r) == 503 {
            return Some(r);
        }
        std::thread::sleep(Duration::from_millis(20));
        None
    });
    let shed = shed.expect("a request over the in-flight cap was never shed");
    assert!(shed.contains("overloaded"), "{shed}");
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 1"),
        "{shed}"
    );
    // The stuck requests time out (408), freeing the slots.
    for s in &mut stuck {
        assert_eq!(status(&read_to_close(s)), 408);
    }
    assert_eq!(status(&healthz(srv.addr)), 200);
}
