//! `storelab load`: an HTTP load generator for the Task API that does not
//! hide a stalled server, and costs the server little CPU.
//!
//! - **Open loop** (`--rate R`): request i is due at start + i/R, whatever
//!   happened to earlier requests, and its latency is measured from that due
//!   time (as wrk2 does). A server that stalls for a second is charged that
//!   second on every request that was due during it: no coordinated omission.
//! - **Closed loop** (no `--rate`): each connection sends its next request as
//!   soon as the last one answers, which finds the maximum throughput (and,
//!   by construction, says little about latency under a given load).
//!
//! ## The client: a few threads, many non-blocking connections
//!
//! A small fixed number of client threads (`--client-threads`, default 1),
//! each driving its share of the keep-alive HTTP/1.1 connections from one
//! `epoll` set with non-blocking sockets ([`client`](crate::client)), one
//! request in flight per connection. The client this replaced ran one
//! blocking thread per connection: every request cost two context switches
//! on each side of the loopback, and at 16 connections 16 client threads
//! competed with the server for the cores (wrk did 1.1-1.5x its req/s on
//! the same server), so "the most req/s" measured the client. An event loop
//! is what wrk does; it was chosen over pipelining (a few connections with
//! many requests queued), which would measure a server's batching rather
//! than its answer time per request, and over an async runtime, whose timer
//! wheel rounds every due time to a millisecond. `epoll` and `timerfd` come
//! from `rustix` (safe bindings; no `unsafe` here).
//!
//! Open-loop timing ([`schedule`]): the client arms a `timerfd` (no timer
//! slack) to wake shortly before the next due time, and spins on the clock
//! (polling sockets without blocking) from there, so it is late by
//! microseconds, not by the kernel's 50 µs timer slack. How late it sent
//! each request, from when the request could first be sent (its due time,
//! and its connection free), is measured and reported beside the
//! latencies; the sweep ([`sweep`]) judges its knee only at steps where the
//! client kept up.
//!
//! Requests follow the same seeded key distribution and mix as the harness
//! (reads are `GET /tasks/{id}`, updates `PATCH`, creates `POST`, deletes
//! `DELETE`, get_all `GET /tasks?limit=100`). A failed idempotent request
//! is sent once more on a fresh connection; a POST or PATCH never is. A run
//! is bounded in time, connections, client threads and rate, and only aims
//! at loopback addresses.
//!
//! ## Several servers
//!
//! A plan may name several servers ([`LoadPlan::addrs`], `--url` given more
//! than once): replicas of one API over a store outside the process
//! (Redis), each a process of its own. Connection `c` goes to server
//! `c % n` for the whole run (a reopened connection goes back to the same
//! server), so each server carries an equal share of the connections and,
//! in open loop, of the rate. Every server must answer `/healthz` before
//! the run and name the same store: the run is one cell, one store, and
//! its file says which servers carried it.

mod client;
mod error;
pub mod schedule;
mod seen;
pub mod sweep;
pub mod wire;

pub use error::LoadError;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use hdrhistogram::Histogram;

use storelab_results::{
    Cell, Family, HttpSample, Latency, Machine, RunFile, SCHEMA, Sample, StoreInfo,
};
use workload::{ReadMode, Workload};

use crate::seen::Seen;

/// Longest run accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most connections accepted.
pub const MAX_CONNECTIONS: usize = 1_024;
/// Most client threads accepted.
pub const MAX_CLIENT_THREADS: usize = 64;
/// Highest rate accepted, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// What to load and how.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// The servers, one or more: connection `c` goes to
    /// `addrs[c % addrs.len()]` ([`LoadPlan::addr_of`]).
    pub addrs: Vec<SocketAddr>,
    /// Requests per second (open loop), or `None` for closed loop.
    pub rate: Option<f64>,
    pub duration: Duration,
    pub connections: usize,
    /// Threads driving the connections (at most one per connection).
    pub client_threads: usize,
    pub workload: Workload,
}

impl LoadPlan {
    /// The server of connection `c`: the servers take the connections in
    /// turn.
    pub fn addr_of(&self, c: usize) -> SocketAddr {
        self.addrs[c % self.addrs.len()]
    }

    /// Whether the plan is within the limits; why not, if it is not.
    pub fn check(&self) -> Result<(), LoadError> {
        let bad = |what: String| Err(LoadError::BadPlan { what });
        if self.addrs.is_empty() {
            return bad("at least one server is needed".into());
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return bad(format!(
                "the duration must be above 0 and at most {MAX_DURATION:?}"
            ));
        }
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return bad(format!("connections must be 1 to {MAX_CONNECTIONS}"));
        }
        if self.addrs.len() > self.connections {
            return bad(format!(
                "{} servers need at least as many connections (connection c goes to server c % {}), not {}",
                self.addrs.len(),
                self.addrs.len(),
                self.connections
            ));
        }
        if self.client_threads == 0 || self.client_threads > MAX_CLIENT_THREADS {
            return bad(format!("client threads must be 1 to {MAX_CLIENT_THREADS}"));
        }
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate <= MAX_RATE)
        {
            return bad(format!("the rate must be above 0 and at most {MAX_RATE}"));
        }
        Ok(())
    }
}

/// Parses `http://HOST:PORT[/]` and refuses any host that is not loopback.
pub fn loopback_addr(url: &str) -> Result<SocketAddr, LoadError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| LoadError::NotHttp {
            url: url.to_owned(),
        })?;
    let hostport = rest.trim_end_matches('/');
    if hostport.contains('/') {
        return Err(LoadError::HasPath {
            url: url.to_owned(),
        });
    }
    let has_port = hostport.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && (!h.contains(':') || h.ends_with(']'))
    });
    let with_port = if has_port {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let mut addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|source| LoadError::Resolve {
            host: hostport.to_owned(),
            source,
        })?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !is_loopback(a.ip())) {
        return Err(LoadError::NotLoopback {
            host: hostport.to_owned(),
        });
    }
    // IPv4 first, as `storelab serve --addr localhost:PORT` binds.
    addrs.sort_by_key(|a| !a.is_ipv4());
    Ok(addrs[0])
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// A keep-alive HTTP/1.1 connection with just enough client to drive the
/// Task API: a request line, a Host header, a JSON body with its length;
/// responses with Content-Length or chunked bodies.
pub struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
    line: String,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Result<Conn, LoadError> {
        let stream =
            TcpStream::connect(addr).map_err(|source| LoadError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let writer = stream
            .try_clone()
            .map_err(|source| LoadError::Socket { addr, source })?;
        Ok(Conn {
            addr,
            reader: BufReader::new(stream),
            writer,
            request: Vec::with_capacity(256),
            line: String::with_capacity(128),
        })
    }

    /// Sends a request and reads the whole response; returns its status and
    /// body. On a failure (say the server closed a keep-alive connection)
    /// the connection is reopened, and an idempotent request (GET, HEAD,
    /// PUT, DELETE, OPTIONS: RFC 9110, section 9.2.2) is sent once more; a
    /// POST or PATCH is not, since the server may have applied it (a
    /// retried create would create twice): its failure is returned.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<(u16, Vec<u8>), LoadError> {
        let failed = |retried: bool, source: std::io::Error| LoadError::Request {
            method: method.to_owned(),
            path: path.to_owned(),
            retried,
            source,
        };
        match self.try_call(method, path, body) {
            Ok(r) => Ok(r),
            Err(e) => {
                let reopened = Conn::open(self.addr);
                if !idempotent(method) {
                    if let Ok(fresh) = reopened {
                        *self = fresh;
                    }
                    return Err(failed(false, e));
                }
                *self = reopened?;
                self.try_call(method, path, body)
                    .map_err(|e| failed(true, e))
            }
        }
    }

    fn try_call(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        self.request.clear();
        wire::write_request(&mut self.request, method, path, body)?;
        self.writer.write_all(&self.request)?;
        self.line.clear();
        self.reader.read_line(&mut self.line)?;
        let status: u16 = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {:?}", self.line)))?;
        let (mut length, mut chunked) = (0usize, false);
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.trim().eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                self.line.clear();
                self.reader.read_line(&mut self.line)?;
                let size =
                    usize::from_str_radix(self.line.trim(), 16).map_err(std::io::Error::other)?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..size]);
            }
        } else {
            out.resize(length, 0);
            self.reader.read_exact(&mut out)?;
        }
        Ok((status, out))
    }
}

/// Whether a request with this method may be sent twice with the effect of
/// once (RFC 9110, section 9.2.2).
pub fn idempotent(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS")
}

/// Asks the server which store it runs and how many tasks it holds.
pub fn health(addr: SocketAddr) -> Result<(String, u64), LoadError> {
    let (status, body) = Conn::open(addr)?.call("GET", "/healthz", "")?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| LoadError::NotAStorelabServer { addr })?;
    if status != 200 {
        // A storelab server that cannot serve (its store is unreachable:
        // 503 `store_unavailable`) says why in a JSON error.
        return match v["message"].as_str() {
            Some(message) => Err(LoadError::Unhealthy {
                addr,
                status,
                message: message.to_owned(),
            }),
            None => Err(LoadError::NotAStorelabServer { addr }),
        };
    }
    Ok((
        v["store"].as_str().unwrap_or("unknown").to_owned(),
        v["tasks"].as_u64().unwrap_or(0),
    ))
}

/// Asks every server which store it runs and how many tasks it holds: the
/// store they all name, and the fewest tasks any holds. Servers that name
/// different stores are refused ([`LoadError::MixedStores`]): a run is one
/// store's cell.
pub fn health_all(addrs: &[SocketAddr]) -> Result<(String, u64), LoadError> {
    let mut found: Option<(SocketAddr, String, u64)> = None;
    for &addr in addrs {
        let (store, tasks) = health(addr)?;
        match &mut found {
            None => found = Some((addr, store, tasks)),
            Some((first, name, _)) if *name != store => {
                return Err(LoadError::MixedStores {
                    first: *first,
                    first_store: name.clone(),
                    other: addr,
                    other_store: store,
                });
            }
            Some((_, _, fewest)) => *fewest = (*fewest).min(tasks),
        }
    }
    found
        .map(|(_, store, tasks)| (store, tasks))
        .ok_or_else(|| LoadError::BadPlan {
            what: "at least one server is needed".into(),
        })
}

/// The servers as base URLs, `http://127.0.0.1:8080`, in order.
pub fn urls(addrs: &[SocketAddr]) -> Vec<String> {
    addrs.iter().map(|a| format!("http://{a}")).collect()
}

/// Latency quantiles of every request, ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quantiles {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Quantiles {
    fn of(h: &Histogram<u64>) -> Quantiles {
        Quantiles {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// What a load run measured.
pub struct LoadOutcome {
    /// Every request's latency from its due time (open loop: no coordinated
    /// omission; closed loop: from when its connection became free, which
    /// is `uncorrected` plus the client's turnaround).
    pub corrected: Quantiles,
    /// Every request's latency from the moment it was actually sent.
    pub uncorrected: Quantiles,
    pub file: RunFile,
    pub statuses: Vec<(u16, u64)>,
    pub transport_errors: u64,
    pub requests: u64,
    pub rps: f64,
    /// Client lateness, p50 and p99, ns: how long after a request could
    /// be sent (due, and its connection free) the client sent it
    /// ([`schedule::lateness`]).
    pub lateness: (u64, u64),
}

/// Runs the plan against a live server.
pub fn run(plan: LoadPlan) -> Result<LoadOutcome, LoadError> {
    plan.check()?;
    let (store, _) = health_all(&plan.addrs)?;
    let per_conn = match plan.rate {
        Some(rate) => {
            (rate * plan.duration.as_secs_f64() / plan.connections as f64).ceil() as usize + 1
        }
        None => 1 << 16,
    };
    let mut workload = plan.workload.clone();
    workload.stream_len = per_conn.next_power_of_two().clamp(1 << 10, 1 << 20);
    let streams = workload.generate(plan.connections).streams;
    let mut merged = Seen::new();
    for seen in client::drive(&plan, &streams)? {
        merged.merge(seen);
    }
    let requests = merged.finished;
    let elapsed = merged.elapsed(plan.duration, plan.rate.is_some());
    let rps = requests as f64 / elapsed.as_secs_f64();
    let lateness = (
        merged.lateness.value_at_quantile(0.5),
        merged.lateness.value_at_quantile(0.99),
    );
    let file = run_file(&plan, workload, store, &merged);
    Ok(LoadOutcome {
        corrected: Quantiles::of(&merged.corrected),
        uncorrected: Quantiles::of(&merged.uncorrected),
        file,
        statuses: merged.statuses,
        transport_errors: merged.transport_errors,
        requests,
        rps,
        lateness,
    })
}

/// The run's one sample: its throughput and HTTP counts.
fn sample(m: &Seen, elapsed: Duration, read: Option<&Latency>) -> Sample {
    let requests = m.finished;
    let count = |pred: fn(u16) -> bool| -> u64 {
        m.statuses
            .iter()
            .filter(|(c, _)| pred(*c))
            .map(|(_, n)| n)
            .sum()
    };
    let wall_ns = elapsed.as_nanos() as u64;
    Sample {
        rep: 0,
        wall_ns,
        total_ops: requests.max(1),
        ns_per_op: wall_ns as f64 / requests.max(1) as f64,
        ops_per_sec: requests as f64 / elapsed.as_secs_f64(),
        per_thread_ns_per_op: Vec::new(),
        per_thread_ops: Vec::new(),
        http: Some(HttpSample {
            not_found: count(|c| c == 404),
            server_errors: count(|c| c >= 500),
            transport_errors: m.transport_errors,
            lateness_p50_ns: m.lateness.value_at_quantile(0.5),
            lateness_p99_ns: m.lateness.value_at_quantile(0.99),
            read_p50_ns: read.map_or(0, |l| l.p50),
            read_p99_ns: read.map_or(0, |l| l.p99),
        }),
    }
}

/// The load run as a run file: one cell, one sample (the whole run: a
/// repetition is a separate run, interleaved across stores by
/// `scripts/http-bench` and merged with `storelab merge --reps`).
fn run_file(plan: &LoadPlan, workload: Workload, store: String, m: &Seen) -> RunFile {
    let requests = m.finished;
    let elapsed = m.elapsed(plan.duration, plan.rate.is_some());
    let latency = Latency::from_histograms(&m.hists);
    let samples = vec![sample(m, elapsed, latency.iter().find(|l| l.op == "read"))];
    RunFile {
        schema: SCHEMA.into(),
        machine: Machine::current(),
        preset: Some(
            if plan.rate.is_some() {
                "http-open-loop"
            } else {
                "http-closed-loop"
            }
            .into(),
        ),
        workload,
        read_mode: ReadMode::Clone,
        zipf_s: None,
        hot20_share: 0.0,
        reps: 1,
        rep_seconds: Some(elapsed.as_secs_f64()),
        warmup_pct: 0,
        order: "fixed".into(),
        // The harness's clock cost; the client's lateness is in the sample.
        timer_cost_ns: 0.0,
        cells: vec![Cell {
            store: store.clone(),
            threads: plan.connections,
            ops_per_thread: requests / plan.connections as u64,
            samples,
            bytes_per_op: 0.0,
            allocs_per_op: 0.0,
            alloc_ops: 0,
            latency,
            latency_every: 1,
            // Misses are the harness's; over HTTP, 404s are in the sample.
            misses: 0,
            too_short: false,
        }],
        stores: vec![StoreInfo {
            name: store,
            about: format!(
                "over HTTP, {} connections on {} client thread{}, {}{}",
                plan.connections,
                plan.client_threads.min(plan.connections),
                if plan.client_threads.min(plan.connections) == 1 {
                    ""
                } else {
                    "s"
                },
                plan.rate.map_or("closed loop".to_owned(), |r| format!(
                    "open loop at {r} req/s"
                )),
                spread(&plan.addrs)
            ),
            family: Family::Http,
            heap_bytes_per_task: None,
            memory: None,
            shard_imbalance: None,
            walk_ns: None,
        }],
    }
}

/// What a run file's `about` adds for a run over several servers (nothing
/// for one, so that a one-server file reads as before):
/// `, spread over 2 servers: http://127.0.0.1:8080, http://127.0.0.1:8081`.
pub fn spread(addrs: &[SocketAddr]) -> String {
    if addrs.len() < 2 {
        return String::new();
    }
    format!(
        ", spread over {} servers: {}",
        addrs.len(),
        urls(addrs).join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_accepted() {
        assert_eq!(
            loopback_addr("http://127.0.0.1:8080").ok(),
            Some("127.0.0.1:8080".parse().expect("addr"))
        );
        assert!(loopback_addr("http://localhost:8080/").is_ok());
        assert!(loopback_addr("http://[::1]:9000").is_ok());
        assert!(loopback_addr("http://127.3.4.5:1").is_ok());
        for bad in [
            "http://10.0.0.1:80",
            "http://192.168.1.1:8080",
            "http://8.8.8.8:80",
            "https://127.0.0.1:1",
            "127.0.0.1:80",
            "http://127.0.0.1:80/tasks",
        ] {
            assert!(loopback_addr(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn connections_go_to_the_servers_in_turn() {
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2".parse().expect("addr");
        let plan = LoadPlan {
            addrs: vec![a, b],
            rate: None,
            duration: Duration::from_secs(1),
            connections: 5,
            client_threads: 1,
            workload: Workload {
                keys: 10,
                capacity: None,
                dist: workload::KeyDist::SEED,
                hot_keys: workload::HotKeys::Scrambled,
                mix: workload::Mix::SEED,
                seed: 1,
                stream_len: 0,
            },
        };
        assert!(plan.check().is_ok());
        let servers: Vec<SocketAddr> = (0..5).map(|c| plan.addr_of(c)).collect();
        assert_eq!(servers, [a, b, a, b, a]);
        assert_eq!(
            spread(&plan.addrs),
            ", spread over 2 servers: http://127.0.0.1:1, http://127.0.0.1:2"
        );
        assert_eq!(spread(&[a]), "", "one server: the file reads as before");
        // Every server gets a connection, and there is a server.
        for bad in [
            LoadPlan {
                connections: 1,
                ..plan.clone()
            },
            LoadPlan {
                addrs: Vec::new(),
                ..plan.clone()
            },
        ] {
            let err = bad.check().expect_err("refused");
            assert!(matches!(err, LoadError::BadPlan { .. }), "{err}");
        }
    }
}
