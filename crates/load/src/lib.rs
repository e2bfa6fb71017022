//! `storelab load`: an HTTP load generator for the Task API that does not
//! hide a stalled server.
//!
//! - **Open loop** (`--rate R`): request i is due at start + i/R, whatever
//!   happened to earlier requests, and its latency is measured from that due
//!   time (as wrk2 does). A server that stalls for a second is charged that
//!   second on every request that was due during it: no coordinated omission.
//! - **Closed loop** (no `--rate`): each connection sends its next request as
//!   soon as the last one answers, which finds the maximum throughput (and,
//!   by construction, says little about latency under a given load).
//!
//! Each connection is an OS thread with a keep-alive HTTP/1.1 connection and
//! a minimal client (below): threads sleep with the OS's fine-grained timers,
//! where an async runtime's timer wheel would round every due time to a
//! millisecond and charge that to the server. How late the client itself
//! sent each request is measured and reported beside the latencies.
//!
//! Requests follow the same seeded key distribution and mix as the harness
//! (reads are `GET /tasks/{id}`, updates `PATCH`, creates `POST`, deletes
//! `DELETE`, get_all `GET /tasks?limit=100`). A run is bounded in time,
//! connections and rate, and only aims at loopback addresses.

mod error;
pub mod sweep;

pub use error::LoadError;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use storelab_results::{
    Cell, Family, HttpSample, Latency, Machine, RunFile, SCHEMA, Sample, StoreInfo, new_histograms,
};
use workload::{OpKind, ReadMode, Stream, Workload};

/// Longest run accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most connections accepted.
pub const MAX_CONNECTIONS: usize = 1_024;
/// Highest rate accepted, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// What to load and how.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    pub addr: SocketAddr,
    /// Requests per second (open loop), or `None` for closed loop.
    pub rate: Option<f64>,
    pub duration: Duration,
    pub connections: usize,
    pub workload: Workload,
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
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        )?;
        if !body.is_empty() {
            write!(self.request, "Content-Type: application/json\r\n")?;
        }
        write!(self.request, "Content-Length: {}\r\n\r\n{body}", body.len())?;
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
    let v: serde_json::Value = serde_json::from_slice(&body)
        .ok()
        .filter(|_| status == 200)
        .ok_or(LoadError::NotAStorelabServer)?;
    Ok((
        v["store"].as_str().unwrap_or("unknown").to_owned(),
        v["tasks"].as_u64().unwrap_or(0),
    ))
}

/// What one connection saw.
struct Seen {
    hists: [Histogram<u64>; workload::KINDS],
    /// Every request, from its due time (corrected) and from its actual
    /// send time (uncorrected, what a client that waits hides).
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    /// How late the client sent each request after its due time.
    lateness: Histogram<u64>,
    statuses: Vec<(u16, u64)>,
    transport_errors: u64,
    /// Completion time of every request, from the start.
    done_at: Vec<Duration>,
}

fn request_for(kind: OpKind, id: u32, i: usize) -> (&'static str, String, &'static str) {
    match kind {
        OpKind::Read => ("GET", format!("/tasks/{id}"), ""),
        OpKind::Update | OpKind::Rmw => (
            "PATCH",
            format!("/tasks/{id}"),
            if i.is_multiple_of(2) {
                r#"{"completed":true}"#
            } else {
                r#"{"completed":false}"#
            },
        ),
        OpKind::Create => (
            "POST",
            "/tasks".into(),
            r#"{"title":"made by storelab load"}"#,
        ),
        OpKind::Delete => ("DELETE", format!("/tasks/{id}"), ""),
        OpKind::GetAll => ("GET", "/tasks?limit=100".into(), ""),
    }
}

fn connection(
    plan: &LoadPlan,
    stream: &Stream,
    index: usize,
    start: Instant,
) -> Result<Seen, LoadError> {
    let mut conn = Conn::open(plan.addr)?;
    let now = Instant::now();
    if start > now {
        std::thread::sleep(start - now);
    }
    let mut seen = Seen {
        hists: new_histograms(),
        corrected: histogram(),
        uncorrected: histogram(),
        lateness: histogram(),
        statuses: Vec::new(),
        transport_errors: 0,
        done_at: Vec::new(),
    };
    let deadline = start + plan.duration;
    for i in 0.. {
        let due = match plan.rate {
            // This connection sends requests index, index+C, ... of the
            // global schedule, each at its due time, late or not.
            Some(rate) => {
                let due =
                    start + Duration::from_secs_f64((index + i * plan.connections) as f64 / rate);
                if due >= deadline {
                    break;
                }
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                due
            }
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        let sent = Instant::now();
        seen.lateness
            .saturating_record(sent.saturating_duration_since(due).as_nanos().max(1) as u64);
        let op = stream.op(i);
        // A live mix's keyed ops carry offsets below the newest id (the
        // workload crate); over HTTP the window stays on the prefilled ids,
        // counting down from the last one, since the client does not track
        // the ids its creates get.
        let id = if plan.workload.mix.live() {
            plan.workload.keys.saturating_sub(op.id).max(1)
        } else {
            op.id
        };
        let (method, path, body) = request_for(op.kind, id, i);
        match conn.call(method, &path, body) {
            Ok((code, _)) => match seen.statuses.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => seen.statuses.push((code, 1)),
            },
            Err(_) => seen.transport_errors += 1,
        }
        let done = Instant::now();
        let from_due = done.saturating_duration_since(due).as_nanos().max(1) as u64;
        seen.hists[op.kind as usize].saturating_record(from_due);
        seen.corrected.saturating_record(from_due);
        seen.uncorrected
            .saturating_record(done.saturating_duration_since(sent).as_nanos().max(1) as u64);
        seen.done_at.push(done.saturating_duration_since(start));
    }
    Ok(seen)
}

/// A latency histogram with the bounds of every other one (1 ns to 100 s,
/// 3 significant digits).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant bounds")
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
    /// omission; closed loop: the same as `uncorrected`).
    pub corrected: Quantiles,
    /// Every request's latency from the moment it was actually sent.
    pub uncorrected: Quantiles,
    pub file: RunFile,
    pub statuses: Vec<(u16, u64)>,
    pub transport_errors: u64,
    pub requests: u64,
    pub rps: f64,
    /// Client lateness (send time after due time), p50 and p99, ns.
    pub lateness: (u64, u64),
}

/// Runs the plan against a live server.
pub fn run(plan: LoadPlan) -> Result<LoadOutcome, LoadError> {
    let (store, _) = health(plan.addr)?;
    let per_conn = match plan.rate {
        Some(rate) => {
            (rate * plan.duration.as_secs_f64() / plan.connections as f64).ceil() as usize + 1
        }
        None => 1 << 16,
    };
    let mut workload = plan.workload.clone();
    workload.stream_len = per_conn.next_power_of_two().clamp(1 << 10, 1 << 20);
    let streams = workload.generate(plan.connections).streams;
    let seen = drive_connections(&plan, &streams)?;
    let merged = Merged::of(seen);
    let requests = merged.done.len() as u64;
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

/// Opens every connection on its own thread, all starting together, and
/// collects what each saw.
fn drive_connections(plan: &LoadPlan, streams: &[Stream]) -> Result<Vec<Seen>, LoadError> {
    // Every connection opens before the clock starts; 200 ms is ample on
    // loopback, and a connection that is later still is charged for it.
    let start = Instant::now() + Duration::from_millis(200);
    std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(c, stream)| {
                std::thread::Builder::new()
                    .name(format!("sl-load-{c}"))
                    .spawn_scoped(s, move || connection(plan, stream, c, start))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.map_err(LoadError::Thread)?
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect::<Result<_, LoadError>>()
    })
}

/// What every connection saw, added up.
struct Merged {
    hists: [Histogram<u64>; workload::KINDS],
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    lateness: Histogram<u64>,
    statuses: Vec<(u16, u64)>,
    transport_errors: u64,
    done: Vec<Duration>,
}

impl Merged {
    /// From the start to the last answer (`planned` if nothing was
    /// answered), at least a millisecond; in open loop at least `planned`,
    /// the schedule's length: 4 requests at 0.4 req/s over 10 s (the last
    /// due at 7.5 s) achieved 0.4 req/s, not 4/7.5.
    fn elapsed(&self, planned: Duration, open_loop: bool) -> Duration {
        let last = self.done.iter().max().copied().unwrap_or(planned);
        let floor = if open_loop {
            planned
        } else {
            Duration::from_millis(1)
        };
        last.max(floor)
    }

    fn of(seen: Vec<Seen>) -> Merged {
        let mut m = Merged {
            hists: new_histograms(),
            corrected: histogram(),
            uncorrected: histogram(),
            lateness: histogram(),
            statuses: Vec::new(),
            transport_errors: 0,
            done: Vec::new(),
        };
        for s in seen {
            for (into, from) in m.hists.iter_mut().zip(s.hists.iter()) {
                let _ = into.add(from);
            }
            let _ = m.lateness.add(&s.lateness);
            let _ = m.corrected.add(&s.corrected);
            let _ = m.uncorrected.add(&s.uncorrected);
            for (code, n) in s.statuses {
                match m.statuses.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, k)) => *k += n,
                    None => m.statuses.push((code, n)),
                }
            }
            m.transport_errors += s.transport_errors;
            m.done.extend(s.done_at);
        }
        m.statuses.sort_unstable();
        m
    }
}

/// The run's one sample: its throughput and HTTP counts.
fn sample(m: &Merged, elapsed: Duration, read: Option<&Latency>) -> Sample {
    let requests = m.done.len() as u64;
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
fn run_file(plan: &LoadPlan, workload: Workload, store: String, m: &Merged) -> RunFile {
    let requests = m.done.len() as u64;
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
                "over HTTP, {} connections, {}",
                plan.connections,
                plan.rate.map_or("closed loop".to_owned(), |r| format!(
                    "open loop at {r} req/s"
                ))
            ),
            family: Family::Http,
            heap_bytes_per_task: None,
            memory: None,
            shard_imbalance: None,
            walk_ns: None,
        }],
    }
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
}
