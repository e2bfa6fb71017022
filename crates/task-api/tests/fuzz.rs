//! Generated garbage against a real server over TCP: random methods, paths,
//! query strings, headers, content types, bodies that are almost JSON, and
//! raw bytes that are not HTTP at all. The server must answer every
//! well-formed request with a status below 500, every 4xx with a JSON error
//! body (hyper's own refusals of what it cannot parse included), never
//! panic, and still answer `/healthz` afterwards.
//!
//! `FUZZ_HTTP_CASES` sets the number of cases (default 20,000, about 20 s in a debug build here; a
//! minute at most); `scripts/fuzz-http` runs a long campaign.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// One generated request: either HTTP with generated parts, or raw bytes.
#[derive(Debug, Clone)]
enum Case {
    Http {
        method: String,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    Raw(Vec<u8>),
}

impl Case {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Case::Raw(b) => b.clone(),
            Case::Http {
                method,
                path,
                query,
                headers,
                content_type,
                body,
            } => {
                let mut out = format!("{method} {path}");
                if let Some(q) = query {
                    out += "?";
                    out += q;
                }
                out += " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n";
                if let Some(ct) = content_type {
                    out += &format!("Content-Type: {ct}\r\n");
                }
                for (k, v) in headers {
                    out += &format!("{k}: {v}\r\n");
                }
                out += &format!("Content-Length: {}\r\n\r\n", body.len());
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(body);
                bytes
            }
        }
    }
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("PUT".to_owned()),
        Just("PATCH".to_owned()),
        Just("DELETE".to_owned()),
        Just("HEAD".to_owned()),
        Just("OPTIONS".to_owned()),
        "[A-Z]{1,10}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/tasks".to_owned()),
        Just("/healthz".to_owned()),
        (0u64..50).prop_map(|n| format!("/tasks/{n}")),
        "/tasks/[-0-9a-z%+.]{0,24}",
        "/[a-z0-9/%._~-]{0,40}",
        Just("/tasks/18446744073709551616".to_owned()),
        Just("/tasks/-1".to_owned()),
        Just("/tasks/%00".to_owned()),
        Just("/tasks//1".to_owned()),
        Just("*".to_owned()),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        (any::<i64>(), any::<i64>()).prop_map(|(l, o)| format!("limit={l}&offset={o}")),
        "[a-z=&%0-9]{0,30}",
        Just("limit=&offset=".to_owned()),
        Just("limit=1e9".to_owned()),
    ])
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("text/plain".to_owned()),
        Just("application/jsonx".to_owned()),
        "[a-z/+;= -]{0,30}",
    ])
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("X-[A-Za-z0-9-]{1,16}", "[ -~]{0,40}"), 0..4).prop_map(|v| {
        v.into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .collect()
    })
}

/// Valid task bodies, then mutated: characters deleted, inserted or
/// replaced, so most are almost JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just(r#"{"title":"a task"}"#.to_owned()),
        Just(r#"{"title":"t","description":"d","completed":true}"#.to_owned()),
        Just(r#"{"completed":false}"#.to_owned()),
        Just(r#"{"title":"","extra":1}"#.to_owned()),
        Just(r#"{"title":"\u0000\n"}"#.to_owned()),
        Just(r#"[]"#.to_owned()),
        Just(String::new()),
    ];
    (
        valid,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..4),
    )
        .prop_map(|(json, edits)| {
            let mut b = json.into_bytes();
            for (at, byte, kind) in edits {
                if b.is_empty() {
                    b.push(byte);
                    continue;
                }
                let i = at.index(b.len());
                match kind {
                    0 => {
                        b.remove(i);
                    }
                    1 => b.insert(i, byte),
                    _ => b[i] = byte,
                }
            }
            b
        })
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        6 => (method(), path(), query(), headers(), content_type(), body()).prop_map(
            |(method, path, query, headers, content_type, body)| Case::Http {
                method,
                path,
                query,
                headers,
                content_type,
                body,
            }
        ),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Case::Raw),
        1 => "[ -~\r\n]{0,200}".prop_map(|s| Case::Raw(s.into_bytes())),
    ]
}

/// An answer: its status and body.
type Answer = (u16, String);

/// Sends `bytes` and reads until the server closes; the answer, if any.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Result<Option<Answer>, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    // The server may answer and close before reading it all (a bad head).
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(format!("no answer (hang?): {e}")),
        }
    }
    let text = String::from_utf8_lossy(&out);
    let Some(status) = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
    else {
        return Ok(None);
    };
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok(Some((status, body.to_owned())))
}

/// Whether `body` is this API's JSON error: `{"error": CODE, "message": TEXT}`.
fn json_error(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|v| v["error"].is_string() && v["message"].is_string())
}

#[test]
fn generated_requests_never_get_a_5xx_or_a_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let store = store_dense::DenseStore::with_capacity(64);
    task_api::prefill(&store, 20);
    let srv = task_api::spawn_background_with(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store, "fuzz"),
        task_api::Limits {
            body_timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(2),
            ..task_api::Limits::default()
        },
    )
    .expect("server");
    let cases = std::env::var("FUZZ_HTTP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000u32);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let addr = srv.addr;
    let result = runner.run(&case(), |c| {
        let answer = exchange(addr, &c.bytes()).map_err(TestCaseError::fail)?;
        let head_request = matches!(&c, Case::Http { method, .. } if method == "HEAD");
        if let Case::Http { .. } = c {
            // A request with a parseable head is always answered (a bad one
            // with 400); only garbage may be closed on without a word.
            prop_assert!(answer.is_some() || c.bytes().len() > 8192, "no status");
        }
        if let Some((code, body)) = answer {
            prop_assert!(code < 500, "status {code}");
            // A response to HEAD has no body.
            if (400..500).contains(&code) && !head_request {
                prop_assert!(json_error(&body), "{code} without a JSON error: {body:?}");
            }
        }
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(
        exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: f\r\n\r\n").map(|a| a.map(|(c, _)| c)),
        Ok(Some(200))
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}
