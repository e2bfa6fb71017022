//! Nothing lost over HTTP: K clients create, patch and delete tasks
//! concurrently over keep-alive connections, on every servable store of the
//! catalog. Afterwards the server's state must be what the acknowledged
//! responses imply:
//! - every acknowledged create exists, unless a delete of it was
//!   acknowledged, and no acknowledged delete is undone;
//! - every task's final state is a version that some acknowledged write
//!   (its create, or a patch) returned;
//! - the list endpoint and `/healthz` agree on the count.
//!
//! And under hot writes (every client patching and reading the same two
//! tasks), `updated_at` never goes backwards: a call sent after another
//! was answered returns an `updated_at` no earlier than that one's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const CLIENTS: usize = 4;
const OPS_PER_CLIENT: usize = 150;

/// One keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let _ = s.set_nodelay(true);
        Client {
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
        }
    }

    /// Sends one request and reads its response: (status, JSON body or Null).
    fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: it\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(request.as_bytes()).expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {line:?}"));
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().expect("content-length");
            }
        }
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf).expect("body");
        let value = if buf.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&buf).expect("JSON body")
        };
        (status, value)
    }
}

/// What one client was told.
#[derive(Default)]
struct Acked {
    /// Every version an acknowledged write returned, by id.
    versions: BTreeMap<u64, Vec<Value>>,
    created: BTreeSet<u64>,
    deleted: BTreeSet<u64>,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn id_of(task: &Value) -> u64 {
    task["id"].as_u64().expect("a task has a numeric id")
}

fn client(addr: SocketAddr, me: usize, ids: Arc<Mutex<Vec<u64>>>) -> Acked {
    let mut http = Client::connect(addr);
    let mut acked = Acked::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((me as u64 + 1) * 0x2545_F491);
    for i in 0..OPS_PER_CLIENT {
        let roll = xorshift(&mut rng) % 10;
        let pick = {
            let ids = ids.lock().expect("ids");
            (!ids.is_empty()).then(|| ids[(xorshift(&mut rng) as usize) % ids.len()])
        };
        match (roll, pick) {
            (0..=3, _) | (_, None) => {
                let body = serde_json::json!({"title": format!("c{me}-{i}")});
                let (status, task) = http.call("POST", "/tasks", Some(&body));
                assert_eq!(status, 201, "create: {task}");
                let id = id_of(&task);
                acked.created.insert(id);
                acked.versions.entry(id).or_default().push(task);
                ids.lock().expect("ids").push(id);
            }
            (4..=7, Some(id)) => {
                let body = serde_json::json!({
                    "title": format!("p{me}-{i}"),
                    "completed": xorshift(&mut rng).is_multiple_of(2),
                    "description": format!("by client {me}"),
                });
                let (status, task) = http.call("PATCH", &format!("/tasks/{id}"), Some(&body));
                match status {
                    200 => {
                        assert_eq!(id_of(&task), id);
                        acked.versions.entry(id).or_default().push(task);
                    }
                    404 => {}
                    other => panic!("patch {id}: {other} {task}"),
                }
            }
            (_, Some(id)) => {
                let (status, body) = http.call("DELETE", &format!("/tasks/{id}"), None);
                match status {
                    204 => {
                        acked.deleted.insert(id);
                    }
                    404 => {}
                    other => panic!("delete {id}: {other} {body}"),
                }
            }
        }
    }
    acked
}

/// Every task the server lists, by id, page by page.
fn listed(addr: SocketAddr) -> (BTreeMap<u64, Value>, u64) {
    let mut http = Client::connect(addr);
    let mut out = BTreeMap::new();
    let mut offset = 0;
    let mut total = 0;
    loop {
        let (status, page) = http.call("GET", &format!("/tasks?limit=1000&offset={offset}"), None);
        assert_eq!(status, 200, "list: {page}");
        total = page["total"].as_u64().unwrap_or(total);
        let items = page["tasks"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        for t in items {
            out.insert(id_of(&t), t);
        }
    }
    (out, total)
}

#[test]
fn concurrent_http_writes_lose_nothing_on_any_servable_store() {
    let stores: Vec<_> = store_catalog::catalog()
        .into_iter()
        .filter_map(|s| s.serve.map(|build| (s.entry.name, build)))
        .collect();
    assert!(stores.len() >= 5, "the catalog has servable stores");
    for (name, build) in stores {
        let srv = task_api::spawn_background("127.0.0.1:0".parse().expect("addr"), build(0))
            .expect("server");
        let ids = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..CLIENTS)
            .map(|me| {
                let ids = ids.clone();
                let addr = srv.addr;
                std::thread::spawn(move || client(addr, me, ids))
            })
            .collect();
        let mut all = Acked::default();
        for h in handles {
            let a = h.join().expect("a client failed");
            all.created.extend(a.created);
            all.deleted.extend(a.deleted);
            for (id, v) in a.versions {
                all.versions.entry(id).or_default().extend(v);
            }
        }
        let (state, total) = listed(srv.addr);
        for id in &all.created {
            assert_eq!(
                state.contains_key(id),
                !all.deleted.contains(id),
                "{name}: task {id} (created; deleted: {})",
                all.deleted.contains(id)
            );
        }
        for (id, task) in &state {
            assert!(all.created.contains(id), "{name}: task {id} nobody created");
            let versions = &all.versions[id];
            assert!(
                versions.contains(task),
                "{name}: task {id}'s final state {task} is no acknowledged write's result"
            );
        }
        assert_eq!(total as usize, state.len(), "{name}: total vs listed");
        assert_eq!(
            state.len(),
            all.created.len() - all.deleted.len(),
            "{name}: count"
        );
        let mut http = Client::connect(srv.addr);
        let (status, health) = http.call("GET", "/healthz", None);
        assert_eq!(status, 200);
        assert_eq!(
            health["tasks"].as_u64(),
            Some(state.len() as u64),
            "{name}: healthz"
        );
    }
}

/// Calls on the hot tasks per client.
const HOT_OPS: usize = 150;

/// One answered call on a hot task: when it was sent and answered, and the
/// `updated_at` of the version it returned.
struct Seen {
    sent: Instant,
    answered: Instant,
    at: u64,
}

/// Patches and reads `ids` in turn; what each call returned, by id.
fn hot_client(addr: SocketAddr, me: usize, ids: [u64; 2]) -> Vec<(u64, Seen)> {
    let mut http = Client::connect(addr);
    (0..HOT_OPS)
        .map(|i| {
            let id = ids[(i + me) % 2];
            let path = format!("/tasks/{id}");
            let sent = Instant::now();
            let (status, task) = if i % 3 == 2 {
                http.call("GET", &path, None)
            } else {
                let body = serde_json::json!({"completed": (i + me).is_multiple_of(2)});
                http.call("PATCH", &path, Some(&body))
            };
            let answered = Instant::now();
            assert_eq!(status, 200, "task {id}: {task}");
            let at = task["updated_at"].as_u64().expect("updated_at");
            (id, Seen { sent, answered, at })
        })
        .collect()
}

/// The first call that saw an `updated_at` earlier than one a call
/// answered before it was sent had returned: (earlier, later), if any.
fn went_backwards(mut seen: Vec<Seen>) -> Option<(u64, u64)> {
    seen.sort_by_key(|s| s.answered);
    // The latest updated_at answered by each point of the answer order.
    let mut max_so_far = Vec::with_capacity(seen.len());
    for s in &seen {
        let before = max_so_far.last().copied().unwrap_or(0);
        max_so_far.push(before.max(s.at));
    }
    seen.iter().find_map(|later| {
        let answered_before = seen.partition_point(|s| s.answered < later.sent);
        let floor = answered_before.checked_sub(1).map_or(0, |i| max_so_far[i]);
        (later.at < floor).then_some((floor, later.at))
    })
}

#[test]
fn updated_at_never_goes_backwards_under_hot_concurrent_writes() {
    for entry in store_catalog::catalog() {
        let Some(build) = entry.serve else { continue };
        let name = entry.entry.name;
        let srv = task_api::spawn_background("127.0.0.1:0".parse().expect("addr"), build(2))
            .expect("server");
        let handles: Vec<_> = (0..CLIENTS)
            .map(|me| {
                let addr = srv.addr;
                std::thread::spawn(move || hot_client(addr, me, [1, 2]))
            })
            .collect();
        let mut by_id: BTreeMap<u64, Vec<Seen>> = BTreeMap::new();
        for h in handles {
            for (id, s) in h.join().expect("a client failed") {
                by_id.entry(id).or_default().push(s);
            }
        }
        for (id, seen) in by_id {
            assert_eq!(
                went_backwards(seen),
                None,
                "{name}: task {id}'s updated_at went backwards"
            );
        }
    }
}
