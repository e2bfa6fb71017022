//! The Task API over a real Redis, over HTTP: what the in-process stores of
//! `http_integrity.rs` never face, a store in another process that can
//! stop, and several API processes (replicas) sharing one.
//!
//! - **Redis goes down under load and comes back.** Clients keep creating,
//!   reading, patching and deleting while the `redis-server` is killed
//!   (`SIGKILL`) and restarted. Every answer is one the API documents: a
//!   2xx, a 404 only for a task the restart lost (nothing is persisted), or
//!   503 `store_unavailable` with `Retry-After` and a JSON body; never
//!   another 5xx, never a success while the server is down, and no request
//!   waits anywhere near the server's body timeout. Every request made
//!   while the server is down is refused, and once it is back the API
//!   serves again by itself, with no restart of its own. The restart loses
//!   the id counter with the data, and still no id is handed out twice: a
//!   task kept from before reads back as itself or 404, never as another.
//! - **Three replicas on one Redis.** Three API servers, each with a store
//!   of its own (its own connection pool, its own id blocks) on the same
//!   namespace, as three processes would be. Clients create a task through
//!   one replica and read, patch and delete it through the others.
//!   Afterwards, as `http_integrity.rs` checks for one server: no
//!   acknowledged create is lost and no acknowledged delete undone, read
//!   through every replica; a task's final state is its last acknowledged
//!   write (or, for tasks every client writes, one of the acknowledged
//!   writes); no id was handed out twice, and each block of 64 ids went to
//!   one replica; and every replica lists the same tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store_redis::{Config, Persistence, RedisStore, Server, Target};

/// How long a client waits for an answer: half the server's body timeout
/// (10 s). A request that takes longer is a failure, not a slow success.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// One answer: status, headers (names in lower case), body (JSON or Null).
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

/// One keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Result<Client, String> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(CLIENT_TIMEOUT))
            .map_err(|e| format!("timeout: {e}"))?;
        s.set_write_timeout(Some(CLIENT_TIMEOUT))
            .map_err(|e| format!("timeout: {e}"))?;
        let _ = s.set_nodelay(true);
        Ok(Client {
            reader: BufReader::new(s.try_clone().map_err(|e| format!("clone: {e}"))?),
            writer: s,
        })
    }

    /// Sends one request and reads its response; an I/O error or a timeout
    /// is an `Err` saying which.
    fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: it\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer
            .write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| format!("status line: {e}"))?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not a status line: {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader
                .read_line(&mut h)
                .map_err(|e| format!("header: {e}"))?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len = match headers.iter().find(|(k, _)| k == "content-length") {
            Some((_, v)) => v.parse().map_err(|_| format!("content-length {v:?}"))?,
            None => 0,
        };
        let mut buf = vec![0u8; len];
        self.reader
            .read_exact(&mut buf)
            .map_err(|e| format!("body: {e}"))?;
        let body = if buf.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&buf)
                .map_err(|_| format!("not JSON: {:?}", String::from_utf8_lossy(&buf)))?
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A store on `server` in `namespace`, kept when dropped: what each
/// replica process would build from `--redis URL` and a namespace.
fn store_on(server: &Server, namespace: &str) -> RedisStore {
    let config = Config {
        url: Some(server.url()),
        namespace: Some(namespace.to_owned()),
        ..Config::default()
    };
    RedisStore::with_config(Target::Single, &config, true)
}

/// The Task API over a store on `server`, on a loopback port.
fn serve(server: &Server, namespace: &str) -> task_api::Background {
    task_api::spawn_background(
        "127.0.0.1:0".parse().expect("addr"),
        task_api::router(store_on(server, namespace), "redis"),
    )
    .expect("the API starts")
}

fn id_of(task: &Value) -> u64 {
    task["id"].as_u64().expect("a task has a numeric id")
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

// ---------------------------------------------------------------------------
// Redis down and back, under load.

/// Where the outage stands; each request notes the phase when it was sent
/// and when it was answered.
const UP: u8 = 0;
/// The kill was sent, and may not have landed yet.
const STOPPING: u8 = 1;
/// The server is dead (its process reaped).
const DOWN: u8 = 2;
/// The restart was started: the server may answer, with no tasks.
const RESTARTING: u8 = 3;
/// The restarted server answers `PING`.
const BACK: u8 = 4;

/// What the clients saw.
#[derive(Default)]
struct Outage {
    /// Answers the API does not document, or requests with no answer.
    failures: Vec<String>,
    /// Requests sent once the server was dead and answered before its
    /// restart began.
    while_down: usize,
    /// Of those, refused with 503 `store_unavailable`.
    refused_while_down: usize,
    /// 503s in all.
    refused: usize,
    /// Successes answered once the restart began.
    served_after: usize,
    /// 404s for tasks the restart lost.
    lost: usize,
    requests: usize,
    slowest: Duration,
}

/// One request of the load, checked against what the API documents: the
/// answer, or `None` after noting a failure.
struct Load<'a> {
    addr: SocketAddr,
    http: Option<Client>,
    phase: &'a AtomicU8,
    seen: Outage,
}

impl Load<'_> {
    /// Sends one request; `ok` are the statuses the store answers with
    /// when it is up. `lost_ok`: a 404 is expected too, once the restart
    /// began (the task was created on the server that died).
    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        ok: &[u16],
        lost_ok: bool,
    ) -> Option<Answer> {
        let what = format!("{method} {path}");
        let sent_in = self.phase.load(Ordering::SeqCst);
        let sent = Instant::now();
        let mut http = match self.http.take() {
            Some(http) => http,
            None => match Client::connect(self.addr) {
                Ok(http) => http,
                Err(e) => {
                    self.seen.failures.push(format!("{what}: {e}"));
                    return None;
                }
            },
        };
        let result = http.call(method, path, body);
        let took = sent.elapsed();
        let answered_in = self.phase.load(Ordering::SeqCst);
        self.seen.requests += 1;
        self.seen.slowest = self.seen.slowest.max(took);
        if took >= CLIENT_TIMEOUT {
            self.seen.failures.push(format!("{what} took {took:?}"));
        }
        let answer = match result {
            Ok(answer) => answer,
            Err(e) => {
                // The connection is in an unknown state: a fresh one next.
                self.seen
                    .failures
                    .push(format!("{what}: no answer after {took:?}: {e}"));
                return None;
            }
        };
        let closes = answer
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !closes {
            self.http = Some(http);
        }
        let down = sent_in >= DOWN && answered_in <= DOWN;
        if down {
            self.seen.while_down += 1;
        }
        let status = answer.status;
        let lost = lost_ok && status == 404 && sent_in >= RESTARTING;
        if status == 503 {
            self.seen.refused += 1;
            let fine = answer.body["error"] == "store_unavailable"
                && answer
                    .header("retry-after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|secs| secs >= 1)
                && answer.header("content-type") == Some("application/json")
                && answer.body["message"].is_string();
            if !fine {
                self.seen.failures.push(format!(
                    "{what}: a 503 that is not store_unavailable with Retry-After: {:?} {}",
                    answer.headers, answer.body
                ));
            } else if down {
                self.seen.refused_while_down += 1;
            }
            if sent_in == UP && answered_in == UP {
                self.seen.failures.push(format!(
                    "{what}: 503 while the server was up: {}",
                    answer.body
                ));
            }
            // Under this load every pooled connection met the dead server
            // and was dropped, so none is stale once it is back.
            if sent_in == BACK {
                self.seen.failures.push(format!(
                    "{what}: 503 sent after the server was back: {}",
                    answer.body
                ));
            }
            return None;
        }
        if !ok.contains(&status) && !lost {
            self.seen.failures.push(format!(
                "{what}: {status} (expected one of {ok:?}{}, or 503) {} [sent {sent_in}, answered {answered_in}]",
                if lost_ok { ", or 404 after the restart" } else { "" },
                answer.body
            ));
            return None;
        }
        if down {
            self.seen.failures.push(format!(
                "{what}: {status} while the server was down: {}",
                answer.body
            ));
        }
        if answered_in >= RESTARTING {
            self.seen.served_after += 1;
        }
        if lost {
            self.seen.lost += 1;
        }
        Some(answer)
    }
}

/// Creates, reads, patches and deletes a task of its own, and now and then
/// lists and asks `/healthz`, until `stop`.
fn outage_client(addr: SocketAddr, me: usize, phase: &AtomicU8, stop: &AtomicBool) -> Outage {
    let mut load = Load {
        addr,
        http: None,
        phase,
        seen: Outage::default(),
    };
    // A task that lives as long as the server: read every cycle, it is
    // there until the kill, refused while the server is down, and lost
    // with the server's data after the restart.
    let keeper = load.call(
        "POST",
        "/tasks",
        Some(&json!({"title": format!("keeper {me}")})),
        &[201],
        false,
    );
    let keeper = keeper.map(|a| a.body);
    let mut cycle = 0usize;
    while !stop.load(Ordering::SeqCst) {
        cycle += 1;
        if let Some(keeper) = &keeper {
            let path = format!("/tasks/{}", id_of(keeper));
            let got = load.call("GET", &path, None, &[200], true);
            match got {
                Some(got) if got.status == 200 && got.body != *keeper => {
                    // Another task under the keeper's id: an id handed out
                    // twice (a counter reset by the restart, reissued).
                    load.seen.failures.push(format!(
                        "GET {path}: {} instead of the keeper {keeper}",
                        got.body
                    ));
                }
                _ => {}
            }
        }
        let title = format!("c{me}-{cycle}");
        let created = load.call(
            "POST",
            "/tasks",
            Some(&json!({"title": title})),
            &[201],
            false,
        );
        if let Some(task) = created {
            let id = id_of(&task.body);
            // A 404 is the restart's doing only if the task was created
            // on the server that died (or while it was coming back).
            let before_back = phase.load(Ordering::SeqCst) < BACK;
            let path = format!("/tasks/{id}");
            if let Some(got) = load.call("GET", &path, None, &[200], before_back)
                && got.status == 200
                && got.body != task.body
            {
                load.seen.failures.push(format!(
                    "GET {path}: {} after creating {}",
                    got.body, task.body
                ));
            }
            let done = json!({"completed": true});
            if let Some(patched) = load.call("PATCH", &path, Some(&done), &[200], before_back)
                && patched.status == 200
                && (patched.body["completed"] != true || patched.body["title"] != title.as_str())
            {
                load.seen
                    .failures
                    .push(format!("PATCH {path}: {}", patched.body));
            }
            load.call("DELETE", &path, None, &[204], before_back);
        }
        if cycle.is_multiple_of(8) {
            load.call("GET", "/tasks?limit=5", None, &[200], false);
            load.call("GET", "/healthz", None, &[200], false);
        }
    }
    load.seen
}

#[test]
fn the_api_answers_503_while_redis_is_down_and_recovers_by_itself() {
    let started = Instant::now();
    let mut server = Server::start(Persistence::None).expect("this test needs redis-server");
    let api = serve(&server, "http-outage");
    let addr = api.addr;
    let phase = Arc::new(AtomicU8::new(UP));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|me| {
            let (phase, stop) = (phase.clone(), stop.clone());
            std::thread::spawn(move || outage_client(addr, me, &phase, &stop))
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1_000));
    phase.store(STOPPING, Ordering::SeqCst);
    server.stop(true);
    phase.store(DOWN, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1_000));
    phase.store(RESTARTING, Ordering::SeqCst);
    server.restart().expect("the server starts again");
    phase.store(BACK, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1_500));
    stop.store(true, Ordering::SeqCst);

    let mut all = Outage::default();
    for c in clients {
        let seen = c.join().expect("a client panicked");
        all.failures.extend(seen.failures);
        all.while_down += seen.while_down;
        all.refused_while_down += seen.refused_while_down;
        all.refused += seen.refused;
        all.served_after += seen.served_after;
        all.lost += seen.lost;
        all.requests += seen.requests;
        all.slowest = all.slowest.max(seen.slowest);
    }
    assert!(
        all.failures.is_empty(),
        "{} of {} requests failed; the first ones: {:#?}",
        all.failures.len(),
        all.requests,
        &all.failures[..all.failures.len().min(10)]
    );
    assert!(
        all.while_down > 0 && all.refused_while_down == all.while_down,
        "every request made while the server was down is refused with 503: {} of {}",
        all.refused_while_down,
        all.while_down
    );
    assert!(
        all.lost > 0,
        "the restart lost the server's tasks, and the API says 404 for them"
    );
    assert!(
        all.served_after > 0,
        "the API served again once the server was back ({} requests, {} refused)",
        all.requests,
        all.refused
    );

    // And a client arriving now is served, with no restart of the API.
    let deadline = Instant::now() + Duration::from_secs(5);
    let recovered = loop {
        let mut http = Client::connect(addr).expect("the API still listens");
        let created = http
            .call("POST", "/tasks", Some(&json!({"title": "after"})))
            .expect("an answer");
        if created.status == 201 {
            let id = id_of(&created.body);
            let got = http
                .call("GET", &format!("/tasks/{id}"), None)
                .expect("an answer");
            if got.status == 200 {
                assert_eq!(got.body, created.body);
                break true;
            }
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        recovered,
        "no create+get succeeded within 5 s of the restart"
    );
    let mut http = Client::connect(addr).expect("the API still listens");
    let health = http.call("GET", "/healthz", None).expect("an answer");
    assert_eq!(health.status, 200, "{}", health.body);
    eprintln!(
        "outage: {} requests ({} refused, {} while down, {} lost tasks), slowest {:?}, {:?} in all",
        all.requests,
        all.refused,
        all.while_down,
        all.lost,
        all.slowest,
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Three replicas on one Redis.

const REPLICAS: usize = 3;
const CLIENTS: usize = 4;
const OPS_PER_CLIENT: usize = 200;

/// What one client was told.
#[derive(Default)]
struct Acked {
    /// The replica each acknowledged create went through, by id; an id
    /// acknowledged twice is also in `twice`.
    created: BTreeMap<u64, usize>,
    twice: Vec<u64>,
    deleted: BTreeSet<u64>,
    /// The last acknowledged version of each task of this client's own
    /// (only it writes them).
    own: BTreeMap<u64, Value>,
    /// Every version an acknowledged write of a shared task returned, by
    /// id.
    shared: BTreeMap<u64, Vec<Value>>,
}

impl Acked {
    fn create(&mut self, id: u64, replica: usize) {
        if self.created.insert(id, replica).is_some() {
            self.twice.push(id);
        }
    }
}

/// Creates tasks of its own and shared ones; reads, patches and deletes
/// its own, and patches and deletes shared ones, operation `i` through
/// replica `(me + i) % 3`.
fn replica_client(addrs: &[SocketAddr], me: usize, shared: &Mutex<Vec<u64>>) -> Acked {
    let mut https: Vec<Client> = addrs
        .iter()
        .map(|a| Client::connect(*a).expect("connect"))
        .collect();
    let mut acked = Acked::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((me as u64 + 1) * 0x2545_F491);
    let mut own: Vec<u64> = Vec::new();
    for i in 0..OPS_PER_CLIENT {
        let r = (me + i) % REPLICAS;
        let http = &mut https[r];
        let mut call = |method: &str, path: &str, body: Option<&Value>| {
            http.call(method, path, body)
                .unwrap_or_else(|e| panic!("replica {r}: {method} {path}: {e}"))
        };
        let roll = xorshift(&mut rng) % 10;
        let mine = (!own.is_empty()).then(|| own[(xorshift(&mut rng) as usize) % own.len()]);
        let theirs = {
            let ids = shared.lock().expect("shared");
            (!ids.is_empty()).then(|| ids[(xorshift(&mut rng) as usize) % ids.len()])
        };
        let create = roll <= 2 || (roll <= 7 && mine.is_none()) || (roll >= 8 && theirs.is_none());
        match (roll, mine, theirs) {
            _ if create => {
                let is_shared = roll == 2;
                let body = json!({"title": format!("c{me}-{i}"), "description": "new"});
                let a = call("POST", "/tasks", Some(&body));
                assert_eq!(a.status, 201, "replica {r}: create: {}", a.body);
                let id = id_of(&a.body);
                acked.create(id, r);
                if is_shared {
                    acked.shared.entry(id).or_default().push(a.body);
                    shared.lock().expect("shared").push(id);
                } else {
                    acked.own.insert(id, a.body);
                    own.push(id);
                }
            }
            (3..=4, Some(id), _) => {
                let a = call("GET", &format!("/tasks/{id}"), None);
                assert_eq!(a.status, 200, "replica {r}: read {id}: {}", a.body);
                assert_eq!(
                    a.body, acked.own[&id],
                    "replica {r}: task {id} read after its last acknowledged write"
                );
            }
            (5..=6, Some(id), _) => {
                let body = json!({
                    "title": format!("p{me}-{i}"),
                    "completed": xorshift(&mut rng).is_multiple_of(2),
                });
                let a = call("PATCH", &format!("/tasks/{id}"), Some(&body));
                assert_eq!(a.status, 200, "replica {r}: patch {id}: {}", a.body);
                assert_eq!(id_of(&a.body), id);
                assert_eq!(a.body["title"], body["title"], "replica {r}: patch {id}");
                assert_eq!(a.body["completed"], body["completed"]);
                assert_eq!(a.body["created_at"], acked.own[&id]["created_at"]);
                acked.own.insert(id, a.body);
            }
            (7, Some(id), _) => {
                let path = format!("/tasks/{id}");
                let a = call("DELETE", &path, None);
                assert_eq!(a.status, 204, "replica {r}: delete {id}: {}", a.body);
                acked.deleted.insert(id);
                acked.own.remove(&id);
                own.retain(|o| *o != id);
                // Gone for the other replicas too, and a patch through
                // one of them does not bring it back.
                let other = &mut https[(r + 1) % REPLICAS];
                let a = other.call("GET", &path, None).expect("an answer");
                assert_eq!(a.status, 404, "task {id} read after its delete: {}", a.body);
                let other = &mut https[(r + 2) % REPLICAS];
                let a = other
                    .call("PATCH", &path, Some(&json!({"completed": true})))
                    .expect("an answer");
                assert_eq!(
                    a.status, 404,
                    "task {id} patched after its delete: {}",
                    a.body
                );
            }
            (8, _, Some(id)) => {
                let body = json!({"description": format!("by client {me}, op {i}")});
                let a = call("PATCH", &format!("/tasks/{id}"), Some(&body));
                match a.status {
                    200 => {
                        assert_eq!(id_of(&a.body), id);
                        acked.shared.entry(id).or_default().push(a.body);
                    }
                    404 => {}
                    other => panic!("replica {r}: patch shared {id}: {other} {}", a.body),
                }
            }
            (_, _, id) => {
                let id = id.expect("a shared task (else a create)");
                let a = call("DELETE", &format!("/tasks/{id}"), None);
                match a.status {
                    204 => {
                        acked.deleted.insert(id);
                    }
                    404 => {}
                    other => panic!("replica {r}: delete shared {id}: {other} {}", a.body),
                }
            }
        }
    }
    acked
}

/// Every task a replica lists, by id, page by page, and the total it
/// states.
fn listed(addr: SocketAddr) -> (BTreeMap<u64, Value>, u64) {
    let mut http = Client::connect(addr).expect("connect");
    let mut out = BTreeMap::new();
    let mut offset = 0;
    let mut total = 0;
    loop {
        let page = http
            .call("GET", &format!("/tasks?limit=1000&offset={offset}"), None)
            .expect("an answer");
        assert_eq!(page.status, 200, "list: {}", page.body);
        total = page.body["total"].as_u64().unwrap_or(total);
        let items = page.body["tasks"].as_array().cloned().unwrap_or_default();
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
fn integrity_holds_across_three_replicas_on_one_redis() {
    let started = Instant::now();
    let server = Server::start(Persistence::None).expect("this test needs redis-server");
    let apis: Vec<task_api::Background> =
        (0..REPLICAS).map(|_| serve(&server, "replicas")).collect();
    let addrs: Vec<SocketAddr> = apis.iter().map(|a| a.addr).collect();
    let shared = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let (addrs, shared) = (addrs.clone(), shared.clone());
            std::thread::spawn(move || replica_client(&addrs, me, &shared))
        })
        .collect();
    let mut all = Acked::default();
    for h in handles {
        let a = h.join().expect("a client failed");
        for (id, r) in a.created {
            all.create(id, r);
        }
        all.twice.extend(a.twice);
        all.deleted.extend(a.deleted);
        all.own.extend(a.own);
        for (id, v) in a.shared {
            all.shared.entry(id).or_default().extend(v);
        }
    }

    // Ids: none acknowledged twice, and each block of 64 from one replica.
    assert_eq!(all.twice, Vec::<u64>::new(), "ids handed out twice");
    let mut blocks: BTreeMap<u64, usize> = BTreeMap::new();
    for (id, r) in &all.created {
        let holder = *blocks.entry((id - 1) / 64).or_insert(*r);
        assert_eq!(
            holder, *r,
            "task {id} came from replica {r}, its block from replica {holder}"
        );
    }
    let per_replica: BTreeSet<usize> = all.created.values().copied().collect();
    assert_eq!(per_replica.len(), REPLICAS, "every replica created tasks");

    let (state, total) = listed(addrs[0]);
    for (id, task) in &state {
        assert!(all.created.contains_key(id), "task {id} nobody created");
        match (all.own.get(id), all.shared.get(id)) {
            (Some(last), _) => assert_eq!(
                task, last,
                "task {id}'s final state is not its last acknowledged write"
            ),
            (None, Some(versions)) => assert!(
                versions.contains(task),
                "task {id}'s final state {task} is no acknowledged write's result"
            ),
            (None, None) => panic!("task {id} is listed, but its own client deleted it"),
        }
    }
    assert_eq!(total as usize, state.len(), "total vs listed");
    assert_eq!(
        state.len(),
        all.created.len() - all.deleted.len(),
        "live tasks: created {}, deleted {}",
        all.created.len(),
        all.deleted.len()
    );
    for (r, addr) in addrs.iter().enumerate() {
        let (theirs, total) = listed(*addr);
        assert_eq!(
            theirs, state,
            "replica {r} lists other tasks than replica 0"
        );
        assert_eq!(total as usize, state.len(), "replica {r}: total");
        let mut http = Client::connect(*addr).expect("connect");
        let health = http.call("GET", "/healthz", None).expect("an answer");
        assert_eq!(health.status, 200, "replica {r}: {}", health.body);
        assert_eq!(
            health.body["tasks"].as_u64(),
            Some(state.len() as u64),
            "replica {r}: healthz"
        );
        // Every task ever created, read one by one: the live ones as
        // listed, the deleted ones gone.
        for id in all.created.keys() {
            let a = http
                .call("GET", &format!("/tasks/{id}"), None)
                .expect("an answer");
            match state.get(id) {
                Some(task) => {
                    assert_eq!(a.status, 200, "replica {r}: task {id}: {}", a.body);
                    assert_eq!(&a.body, task, "replica {r}: task {id}");
                }
                None => {
                    assert!(all.deleted.contains(id), "replica {r}: task {id} was lost");
                    assert_eq!(a.status, 404, "replica {r}: deleted task {id} is back");
                }
            }
        }
    }
    eprintln!(
        "replicas: {} created, {} deleted, {} live, {:?}",
        all.created.len(),
        all.deleted.len(),
        state.len(),
        started.elapsed()
    );
}
