//! Nothing lost over HTTP: K clients create, patch and delete tasks
//! concurrently over keep-alive connections, on every servable store of the
//! catalog. Afterwards the server's state must be what the acknowledged
//! responses imply:
//! - every acknowledged create exists, unless a delete of it was
//!   acknowledged, and no acknowledged delete is undone;
//! - every task's final state is a version that some acknowledged write
//!   (its create, or a patch) returned;
//! - the list endpoint and `/healthz` agree on the count.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
