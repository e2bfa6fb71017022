//! Requests hyper refuses before the router sees them, and the API's own
//! strictness about heads: every answer is a JSON error, over raw loopback
//! TCP (a real client library would not send most of these).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

fn server() -> task_api::Background {
    let store = store_dense::DenseStore::with_capacity(16);
    task_api::prefill(&store, 1);
    task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "errors"),
    )
    .expect("server starts")
}

/// Sends `bytes`, reads until the server closes; the status and the body.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The server may answer and close before it has read everything.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer to {:?}: {e}", String::from_utf8_lossy(bytes)),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// The error code of a JSON error body; panics if it is not one.
fn code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {body}"
    );
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
        .to_owned()
}

#[test]
fn requests_hyper_cannot_parse_get_a_json_error() {
    let srv = server();
    let get = |headers: &str| format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{headers}\r\n");
    let post = |headers: &str| {
        format!(
            "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{headers}\r\n{{}}"
        )
    };
    let many: String = (0..101).map(|i| format!("X-{i}: 1\r\n")).collect();
    let huge = format!("X-Big: {}\r\n", "a".repeat(64 * 1024));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "two Content-Lengths",
            post("Content-Length: 2\r\nContent-Length: 3\r\n"),
            400,
            "bad_request",
        ),
        (
            "Content-Length -1",
            post("Content-Length: -1\r\n"),
            400,
            "bad_request",
        ),
        (
            "Content-Length abc",
            post("Content-Length: abc\r\n"),
            400,
            "bad_request",
        ),
        (
            "Transfer-Encoding gzip",
            post("Transfer-Encoding: gzip\r\n"),
            400,
            "bad_request",
        ),
        (
            "HTTP/3.0",
            "GET /healthz HTTP/3.0\r\nHost: t\r\n\r\n".into(),
            400,
            "bad_request",
        ),
        (
            "a garbage request line",
            "HELLO THERE\r\n\r\n".into(),
            400,
            "bad_request",
        ),
        (
            "a NUL in a header",
            get("X-A: a\0b\r\n"),
            400,
            "bad_request",
        ),
        (
            "a header without a colon",
            get("NoColonHere\r\n"),
            400,
            "bad_request",
        ),
        (
            "101 headers in about 1 KB",
            get(&many),
            431,
            "header_too_large",
        ),
        (
            "a head over the size limit",
            get(&huge),
            431,
            "header_too_large",
        ),
        (
            "no Host",
            "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n".into(),
            400,
            "bad_host",
        ),
        ("two Hosts", get("Host: u\r\n"), 400, "bad_host"),
    ];
    for (what, request, want, want_code) in cases {
        let (status, body) = exchange(srv.addr, request.as_bytes());
        assert_eq!(status, want, "{what}: {body}");
        assert_eq!(code(&body), want_code, "{what}");
    }
    // HTTP/1.0 has no Host requirement; exactly 100 headers are fine.
    let (status, _) = exchange(srv.addr, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert_eq!(status, 200, "HTTP/1.0 without Host");
    // Host, 98 more, Connection: 100.
    let hundred: String = (0..98).map(|i| format!("X-{i}: 1\r\n")).collect();
    let (status, body) = exchange(
        srv.addr,
        get(&format!("{hundred}Connection: close\r\n")).as_bytes(),
    );
    assert_eq!(
        (status, body.contains("\"ok\"")),
        (200, true),
        "100 headers: {body}"
    );
}
