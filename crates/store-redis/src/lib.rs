//! Tasks in a real Redis: the store an API needs once its tasks outgrow one
//! process, or once it runs as several replicas.
//!
//! Every other store of the lab lives in the API's process. This one keeps
//! its tasks in a `redis-server` (7.0, Debian's) reached over loopback TCP,
//! through redis-rs: [`RedisStore::single`] on one server,
//! [`RedisStore::cluster`] on a Redis Cluster of three masters or more.
//! What leaving the process costs, per operation and per task, is what the
//! lab measures with it (DECISIONS.md, "Leaving one process").
//!
//! # The design ([`keys`] has the key layout and the hash per task)
//! - **Every operation is one round trip.** `get` is one `HGETALL`;
//!   `create`, `update` and `delete` are each one Lua script, which Redis
//!   runs atomically, so a write is a read-modify-write on the server with
//!   no lock and no retry in the client.
//! - **An update** (`UPDATE` below) checks that the task exists, sets only
//!   the fields its patch sets, moves `updated_at` forward (never back, as
//!   [`Task::patched`] does; timestamps compare as decimal strings, since
//!   Lua's numbers are doubles), increments the version `v` and returns the
//!   new hash. Two concurrent patches are serialized by the server, so
//!   neither is lost; a patch of a deleted task finds no hash and creates
//!   none, so a delete is never undone.
//! - **Ids** come from `INCRBY {NS}:next 64`: a store claims 64 ids at a
//!   time and hands them out under a mutex ([`IdPolicy::Blocks`] of 64), so
//!   the shared counter sees one command per 64 creates, and several
//!   processes (replicas) on one Redis never share an id. The gaps: the ids
//!   left in a store's block when it is dropped (a replica that stops), at
//!   most 63 per store; `len` and `get_all` count tasks, so they never see
//!   a gap.
//! - **A restart that loses the data** (persistence `none`, or `everysec`
//!   after a machine crash) resets the counter. Two guards keep an id from
//!   naming two tasks: a block is claimed by a script (`CLAIM`) that never
//!   returns one at or below the store's last block, and the create script
//!   refuses an id that holds a task, so the store gives its block up and
//!   claims another. What remains: an id whose task the restart *lost* may
//!   be handed out again by a replica that had not reached it (its task is
//!   gone, so no live task is overwritten). `always` keeps the counter.
//! - **`len`** sums 256 striped counters (`{NS:s}:n`), each changed by the
//!   same script that creates or deletes a task of its stripe: no key is
//!   written by every create, and the count and the tasks cannot disagree.
//!   It reads them with one pipeline of `GET`s per master.
//! - **`get_all`** walks every master with `SCAN` (matching the store's
//!   task keys) and reads the hashes it finds with pipelined `HGETALL`s,
//!   500 per round trip. Its guarantee is [`SnapshotGuarantee::PerTask`]:
//!   `SCAN` returns every key present for the whole walk at least once (the
//!   store drops repeats by id), each `HGETALL` reads a version that was
//!   stored at some instant of the call, and a task created or deleted
//!   meanwhile may or may not appear. Redis has no cheap atomic snapshot of
//!   a key range (a `MULTI` of every read would block the server for the
//!   whole walk), so this store does not offer one.
//! - **Pipelines stay on one master.** On a cluster a pipeline is sent over
//!   a plain connection to the master that owns every key in it (known from
//!   `CLUSTER NODES` and the keys' CRC16 slots), and no multi-key command or
//!   script crosses a slot: a task and its stripe's count share a hash tag.
//!   Single-key commands go through redis-rs's cluster client, which follows
//!   `MOVED` redirections; the per-master walks assume no resharding during
//!   a call.
//!
//! # Failures
//! Connections come from a pool; when one breaks (the server went away) the
//! whole pool is emptied, so the next call connects afresh and the store
//! recovers by itself when the server comes back. A read on a connection
//! that broke is tried once more on a fresh one; a write is not (its answer
//! may have been lost after the server applied it), so after a restart at
//! most one write per store fails, with [`Unreachable`]. Connecting waits 1 s at most and an answer 2 s, so no call
//! hangs. The `try_` methods report the failure as [`Unreachable`]; the
//! primitives record the first one for [`TaskStore::fault`], which fails
//! the engine's audit (see the task model).
//!
//! # Servers
//! With no server given (`--redis`, `--redis-cluster`: [`configure`]), a
//! store starts its own from `PATH`, once per process ([`server`]), and
//! [`stop_local`] stops them. Each store of a run takes a namespace of its
//! own on that server and deletes its keys when dropped; replicas serving
//! one set of tasks name one namespace ([`Config::namespace`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Connection, ConnectionLike, Script};
use task_model::{
    IdPolicy, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore, Unreachable,
};

pub mod keys;
pub mod server;

use keys::{ID_BLOCK, Keys, STRIPES, decode, flag};
pub use server::{Cluster, Persistence, Server, StartError};

/// Where the stores of this process find their servers.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// A running Redis (`--redis redis://HOST:PORT/`); `None`: start one.
    pub url: Option<String>,
    /// Nodes of a running Redis Cluster (`--redis-cluster`); empty: start
    /// one of three masters.
    pub cluster: Vec<String>,
    /// The persistence of the servers the lab starts.
    pub persistence: Persistence,
    /// One namespace every store of this process uses, kept when a store is
    /// dropped: replicas serving the same tasks. `None`: each store takes a
    /// fresh one and deletes it when dropped.
    pub namespace: Option<String>,
}

static CONFIG: RwLock<Option<Config>> = RwLock::new(None);

/// Sets where the stores built from now on find their servers.
pub fn configure(config: Config) {
    *CONFIG.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
}

fn config() -> Config {
    CONFIG
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default()
}

static LOCAL: Mutex<Option<Arc<Server>>> = Mutex::new(None);
static LOCAL_CLUSTER: Mutex<Option<Arc<Cluster>>> = Mutex::new(None);

/// The server this process started, started now if need be.
fn local_server(persistence: Persistence) -> Result<Arc<Server>, Unreachable> {
    let mut slot = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(server) = &*slot {
        return Ok(server.clone());
    }
    let server = Arc::new(Server::start(persistence).map_err(|e| Unreachable::new(e.to_string()))?);
    *slot = Some(server.clone());
    Ok(server)
}

fn local_cluster(persistence: Persistence) -> Result<Arc<Cluster>, Unreachable> {
    let mut slot = LOCAL_CLUSTER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = &*slot {
        return Ok(cluster.clone());
    }
    let cluster =
        Arc::new(Cluster::start(3, persistence).map_err(|e| Unreachable::new(e.to_string()))?);
    *slot = Some(cluster.clone());
    Ok(cluster)
}

/// Stops the servers this process started (by process id), if no store
/// still holds them: at the end of a run, and on its errors.
pub fn stop_local() {
    LOCAL.lock().unwrap_or_else(PoisonError::into_inner).take();
    LOCAL_CLUSTER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
}

/// Which Redis a store lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One server.
    Single,
    /// A Redis Cluster.
    Cluster,
}

/// Whether a store on `target` can be built here: the server given is
/// answering, or the tools to start one are on `PATH`. The reason if not.
pub fn available(target: Target) -> Result<(), String> {
    let config = config();
    match target {
        Target::Single => match &config.url {
            Some(url) => server::ping(url),
            None if server::on_path("redis-server") => Ok(()),
            None => Err(StartError::Missing("redis-server").to_string()),
        },
        Target::Cluster => match config.cluster.first() {
            Some(url) => server::ping(url),
            None => ["redis-server", "redis-cli"]
                .into_iter()
                .find(|tool| !server::on_path(tool))
                .map_or(Ok(()), |tool| Err(StartError::Missing(tool).to_string())),
        },
    }
}

const CONNECT: Duration = Duration::from_secs(1);
const ANSWER: Duration = Duration::from_secs(2);
/// `HGETALL`s per pipeline of `get_all`.
const BATCH: usize = 500;

/// Connections handed out one call at a time; one that failed is dropped.
struct Pool<C> {
    idle: Mutex<Vec<C>>,
}

impl<C> Pool<C> {
    fn new() -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
        }
    }

    fn run<T>(
        &self,
        connect: impl FnOnce() -> redis::RedisResult<C>,
        f: impl FnOnce(&mut C) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut con = match pooled {
            Some(con) => con,
            None => connect()?,
        };
        let out = f(&mut con).inspect_err(|e| {
            if broken(e) {
                // The server went away (a restart): the idle connections
                // are as dead as this one. Drop them all, so that the next
                // calls connect afresh instead of failing one by one.
                self.idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
            }
        })?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(con);
        Ok(out)
    }
}

/// The connection broke (as opposed to the server answering an error).
fn broken(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

/// A master of a cluster: its address, the slots it owns, its connections.
struct Master {
    client: redis::Client,
    slots: Vec<(u16, u16)>,
    pool: Pool<Connection>,
}

impl Master {
    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
    }
}

enum Backend {
    Single {
        client: redis::Client,
        pool: Pool<Connection>,
    },
    Cluster {
        client: ClusterClient,
        pool: Pool<ClusterConnection>,
        masters: Vec<Master>,
    },
}

fn connect(client: &redis::Client) -> redis::RedisResult<Connection> {
    let con = client.get_connection_with_timeout(CONNECT)?;
    con.set_read_timeout(Some(ANSWER))?;
    con.set_write_timeout(Some(ANSWER))?;
    Ok(con)
}

/// The Redis Cluster slot of `key` (CRC16 of its hash tag, mod 16384).
pub fn slot_of(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tag = key
        .find('{')
        .and_then(|open| {
            let close = key[open + 1..].find('}')? + open + 1;
            (close > open + 1).then(|| &bytes[open + 1..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(tag) % 16_384
}

/// Walks the keys matching `pattern` on one server with `SCAN`, handing
/// each batch it returns to `f` (a key may come twice: `SCAN`'s promise).
fn scan(
    con: &mut Connection,
    pattern: &str,
    mut f: impl FnMut(&mut Connection, Vec<String>) -> redis::RedisResult<()>,
) -> redis::RedisResult<()> {
    let mut cursor = 0u64;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(con)?;
        f(con, found)?;
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// The masters of a cluster and their slots, from `CLUSTER NODES`.
fn masters_of(seed: &str) -> redis::RedisResult<Vec<Master>> {
    let mut con = connect(&redis::Client::open(seed)?)?;
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut con)?;
    let mut masters = Vec::new();
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 || !fields[2].contains("master") || fields[2].contains("fail") {
            continue;
        }
        let address = fields[1].split('@').next().unwrap_or(fields[1]);
        let slots = fields[8..]
            .iter()
            .filter_map(|range| {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        masters.push(Master {
            client: redis::Client::open(format!("redis://{address}/"))?,
            slots,
            pool: Pool::new(),
        });
    }
    Ok(masters)
}

/// Blocks of ids a create may give up in a row before it reports failure.
const CREATE_ATTEMPTS: usize = 8;

/// KEYS: the counter; ARGV: the block size, the store's last claimed id.
const CLAIM: &str = r"
local last = redis.call('INCRBY', KEYS[1], ARGV[1])
local floor = tonumber(ARGV[2])
if last <= floor then
  last = floor + tonumber(ARGV[1])
  redis.call('SET', KEYS[1], last)
end
return last";

/// Returns 0, and writes nothing, when the id holds a task already.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'title', ARGV[1], 'description', ARGV[2], 'completed', ARGV[3],
           'created_at', ARGV[4], 'updated_at', ARGV[4], 'v', 1)
redis.call('INCR', KEYS[2])
return 1";

/// ARGV: has-title, title, has-description, description, has-completed,
/// completed, at.
const UPDATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'title', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'description', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'completed', ARGV[6]) end
local old = redis.call('HGET', KEYS[1], 'updated_at')
local at = ARGV[7]
if #at > #old or (#at == #old and at > old) then
  redis.call('HSET', KEYS[1], 'updated_at', at)
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
return redis.call('HGETALL', KEYS[1])";

const DELETE: &str = r"
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return false end
redis.call('DEL', KEYS[1])
redis.call('DECR', KEYS[2])
return fields";

struct Scripts {
    claim: Script,
    create: Script,
    update: Script,
    delete: Script,
}

/// The ids this store holds: `next..=last` not yet handed out.
struct IdBlock {
    next: u64,
    last: u64,
}

/// A task store on a real Redis or Redis Cluster (see the crate doc).
pub struct RedisStore {
    keys: Keys,
    backend: Result<Backend, Unreachable>,
    scripts: Scripts,
    ids: Mutex<IdBlock>,
    fault: OnceLock<Unreachable>,
    /// Delete the namespace's keys when dropped (a fresh namespace).
    owned: bool,
    /// `HGETALL`s per pipeline of `get_all` (1: no pipelining, the knob).
    batch: usize,
}

fn unreachable(target: &str, e: &redis::RedisError) -> Unreachable {
    Unreachable::new(format!("{target}: {e}"))
}

impl RedisStore {
    /// A store on one server: the configured one, or the one this process
    /// started. `_capacity` is ignored (Redis grows its tables itself). A
    /// server that cannot be reached gives a store whose every call fails
    /// with the reason.
    pub fn single(_capacity: usize) -> Self {
        RedisStore::on(Target::Single, BATCH)
    }

    /// A store on a Redis Cluster: the configured one, or the three-master
    /// cluster this process started.
    pub fn cluster(_capacity: usize) -> Self {
        RedisStore::on(Target::Cluster, BATCH)
    }

    /// As [`single`](Self::single), with `get_all` reading one hash per
    /// round trip: what pipelining saves (measured by the `redis-costs`
    /// binary).
    pub fn unpipelined(_capacity: usize) -> Self {
        RedisStore::on(Target::Single, 1)
    }

    /// A store on `target` as `config` says, rather than as [`configure`]
    /// did: `pipelined` false reads one hash per round trip in `get_all`.
    pub fn with_config(target: Target, config: &Config, pipelined: bool) -> Self {
        RedisStore::build(target, config, if pipelined { BATCH } else { 1 })
    }

    fn on(target: Target, batch: usize) -> Self {
        RedisStore::build(target, &config(), batch)
    }

    fn build(target: Target, config: &Config, batch: usize) -> Self {
        let (keys, owned) = namespace(config);
        let backend = match target {
            Target::Single => single_backend(config),
            Target::Cluster => cluster_backend(config),
        };
        RedisStore {
            keys,
            backend,
            scripts: Scripts {
                claim: Script::new(CLAIM),
                create: Script::new(CREATE),
                update: Script::new(UPDATE),
                delete: Script::new(DELETE),
            },
            ids: Mutex::new(IdBlock { next: 1, last: 0 }),
            fault: OnceLock::new(),
            owned,
            batch,
        }
    }

    /// The namespace its keys live in.
    pub fn namespace(&self) -> &str {
        self.keys.namespace()
    }

    /// Runs `f` on a connection that routes any single key (the server, or
    /// the cluster client).
    fn call<T>(
        &self,
        f: impl FnOnce(&mut dyn ConnectionLike) -> redis::RedisResult<T>,
    ) -> Result<T, Unreachable> {
        match self.backend.as_ref().map_err(Clone::clone)? {
            Backend::Single { client, pool } => pool
                .run(|| connect(client), |c| f(c))
                .map_err(|e| unreachable("redis", &e)),
            Backend::Cluster { client, pool, .. } => pool
                .run(|| client.get_connection(), |c| f(c))
                .map_err(|e| unreachable("redis cluster", &e)),
        }
    }

    /// [`call`](Self::call) for a command that changes nothing, tried once
    /// more on a fresh connection when the first one had broken (a server
    /// restarted since the connection was pooled). Writes are not retried:
    /// a write whose answer was lost may have been applied.
    fn read<T>(
        &self,
        f: impl Fn(&mut dyn ConnectionLike) -> redis::RedisResult<T>,
    ) -> Result<T, Unreachable> {
        let mut broke = false;
        let first = self.call(|c| f(c).inspect_err(|e| broke = broken(e)));
        match first {
            Err(_) if broke => self.call(f),
            other => other,
        }
    }

    /// Runs `f` once per master (the one server, or each master of the
    /// cluster) with a plain connection to it and a filter of the slots it
    /// owns.
    fn per_master(
        &self,
        mut f: impl FnMut(&mut Connection, &dyn Fn(u16) -> bool) -> redis::RedisResult<()>,
    ) -> Result<(), Unreachable> {
        match self.backend.as_ref().map_err(Clone::clone)? {
            Backend::Single { client, pool } => pool
                .run(|| connect(client), |c| f(c, &|_| true))
                .map_err(|e| unreachable("redis", &e)),
            Backend::Cluster { masters, .. } => {
                for m in masters {
                    m.pool
                        .run(|| connect(&m.client), |c| f(c, &|s| m.owns(s)))
                        .map_err(|e| unreachable("redis cluster master", &e))?;
                }
                Ok(())
            }
        }
    }

    /// The next id of this store's block, claiming a new block when it is
    /// used up, or at once when `give_up` (the id the last one gave was
    /// taken: see [`try_create`](TaskStore::try_create)).
    fn next_id(&self, give_up: bool) -> Result<TaskId, Unreachable> {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        if give_up {
            ids.next = ids.last + 1;
        }
        if ids.next > ids.last {
            // Claimed under the lock, so this store's ids increase in the
            // order its creates take them; the script never hands out a
            // block at or below this store's last one (a counter reset by a
            // restart that lost it).
            let last: u64 = self.call(|c| {
                self.scripts
                    .claim
                    .key(self.keys.next_id())
                    .arg(ID_BLOCK)
                    .arg(ids.last)
                    .invoke(c)
            })?;
            *ids = IdBlock {
                next: last + 1 - ID_BLOCK,
                last,
            };
        }
        let id = ids.next;
        ids.next += 1;
        Ok(TaskId(id))
    }

    /// Remembers the first failure for [`TaskStore::fault`].
    fn note<T>(&self, r: Result<T, Unreachable>) -> Option<T> {
        r.map_err(|e| {
            let _ = self.fault.set(e);
        })
        .ok()
    }

    /// Every hash of the store, read in pipelines of `batch` per master.
    fn read_all(&self) -> Result<Vec<Arc<Task>>, Unreachable> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let pattern = self.keys.task_pattern();
        self.per_master(|con, _| {
            scan(con, &pattern, |con, found| {
                let ids: Vec<TaskId> = found
                    .iter()
                    .filter_map(|k| self.keys.id_of(k))
                    .filter(|id| seen.insert(*id))
                    .collect();
                for chunk in ids.chunks(self.batch.max(1)) {
                    let mut pipe = redis::pipe();
                    for id in chunk {
                        pipe.cmd("HGETALL").arg(self.keys.task(*id));
                    }
                    let hashes: Vec<Vec<(String, String)>> = pipe.query(con)?;
                    out.extend(
                        chunk
                            .iter()
                            .zip(&hashes)
                            .filter_map(|(id, h)| decode(*id, h))
                            .map(Arc::new),
                    );
                }
                Ok(())
            })
        })?;
        Ok(out)
    }

    fn count(&self) -> Result<usize, Unreachable> {
        let mut total: i64 = 0;
        self.per_master(|con, owns| {
            let mine: Vec<String> = (0..STRIPES)
                .map(|s| self.keys.stripe(s))
                .filter(|k| owns(slot_of(k)))
                .collect();
            let mut pipe = redis::pipe();
            for key in &mine {
                pipe.cmd("GET").arg(key);
            }
            let counts: Vec<Option<i64>> = pipe.query(con)?;
            total += counts.into_iter().flatten().sum::<i64>();
            Ok(())
        })?;
        Ok(usize::try_from(total).unwrap_or(0))
    }

    /// Deletes every key of the namespace (when a store with a fresh one is
    /// dropped), best effort.
    fn clear(&self) -> Result<(), Unreachable> {
        let pattern = self.keys.all_pattern();
        self.per_master(|con, _| {
            scan(con, &pattern, |con, found| {
                if found.is_empty() {
                    return Ok(());
                }
                let mut pipe = redis::pipe();
                for key in &found {
                    pipe.cmd("UNLINK").arg(key).ignore();
                }
                pipe.query::<()>(con)
            })
        })
    }
}

fn namespace(config: &Config) -> (Keys, bool) {
    static STORES: AtomicU64 = AtomicU64::new(0);
    if let Some(keys) = config.namespace.as_deref().and_then(Keys::new) {
        return (keys, false);
    }
    let n = STORES.fetch_add(1, Ordering::Relaxed);
    (Keys::fresh(std::process::id(), n), true)
}

fn single_backend(config: &Config) -> Result<Backend, Unreachable> {
    let url = match &config.url {
        Some(url) => url.clone(),
        None => local_server(config.persistence)?.url(),
    };
    let client = redis::Client::open(url.as_str()).map_err(|e| unreachable(&url, &e))?;
    Ok(Backend::Single {
        client,
        pool: Pool::new(),
    })
}

fn cluster_backend(config: &Config) -> Result<Backend, Unreachable> {
    let urls = if config.cluster.is_empty() {
        local_cluster(config.persistence)?.urls()
    } else {
        config.cluster.clone()
    };
    let seed = urls.first().cloned().unwrap_or_default();
    let client = ClusterClientBuilder::new(urls.clone())
        .connection_timeout(CONNECT)
        .response_timeout(ANSWER)
        // redis-rs retries 16 times by default, with waits that grow past
        // the API's body timeout; one retry, so no call hangs.
        .retries(1)
        .build()
        .map_err(|e| unreachable(&seed, &e))?;
    let masters = masters_of(&seed).map_err(|e| unreachable(&seed, &e))?;
    if masters.is_empty() {
        return Err(Unreachable::new(format!(
            "{seed}: CLUSTER NODES lists no master"
        )));
    }
    Ok(Backend::Cluster {
        client,
        pool: Pool::new(),
        masters,
    })
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.clear();
        }
    }
}

impl TaskStore for RedisStore {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;
    const IDS: IdPolicy = IdPolicy::Blocks { size: ID_BLOCK };

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        self.note(self.try_create(draft.clone()))
            .unwrap_or_else(|| Arc::new(draft.into_task(TaskId(0))))
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.note(self.try_get(id)).flatten()
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.note(self.try_update(id, patch)).flatten()
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.note(self.try_delete(id)).flatten()
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        self.note(self.try_get_all()).unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.note(self.try_len()).unwrap_or(0)
    }

    fn try_create(&self, draft: TaskDraft) -> Result<Arc<Task>, Unreachable> {
        // The script refuses an id that holds a task (another replica's
        // block after a restart reset the counter); the store then gives
        // its block up and claims a fresh one.
        for attempt in 0..CREATE_ATTEMPTS {
            let id = self.next_id(attempt > 0)?;
            let created: i64 = self.call(|c| {
                self.scripts
                    .create
                    .key(self.keys.task(id))
                    .key(self.keys.count_of(id))
                    .arg(draft.title())
                    .arg(draft.description())
                    .arg(flag(draft.completed()))
                    .arg(draft.at().0)
                    .invoke(c)
            })?;
            if created == 1 {
                return Ok(Arc::new(draft.into_task(id)));
            }
        }
        Err(Unreachable::new(format!(
            "redis: {CREATE_ATTEMPTS} fresh blocks of ids in a row held tasks already"
        )))
    }

    fn try_get(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        let fields: Vec<(String, String)> =
            self.read(|c| redis::cmd("HGETALL").arg(self.keys.task(id)).query(c))?;
        Ok(decode(id, &fields).map(Arc::new))
    }

    fn try_update(&self, id: TaskId, patch: TaskPatch) -> Result<Option<Arc<Task>>, Unreachable> {
        let some = |b: bool| if b { "1" } else { "0" };
        let fields: Option<Vec<(String, String)>> = self.call(|c| {
            self.scripts
                .update
                .key(self.keys.task(id))
                .arg(some(patch.title().is_some()))
                .arg(patch.title().unwrap_or(""))
                .arg(some(patch.description().is_some()))
                .arg(patch.description().unwrap_or(""))
                .arg(some(patch.completed().is_some()))
                .arg(flag(patch.completed().unwrap_or(false)))
                .arg(patch.at().0)
                .invoke(c)
        })?;
        Ok(fields.and_then(|f| decode(id, &f)).map(Arc::new))
    }

    fn try_delete(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        let fields: Option<Vec<(String, String)>> = self.call(|c| {
            self.scripts
                .delete
                .key(self.keys.task(id))
                .key(self.keys.count_of(id))
                .invoke(c)
        })?;
        Ok(fields.and_then(|f| decode(id, &f)).map(Arc::new))
    }

    fn try_get_all(&self) -> Result<Vec<Arc<Task>>, Unreachable> {
        // Reads: once more on fresh connections if the pooled ones broke.
        self.read_all().or_else(|_| self.read_all())
    }

    fn try_len(&self) -> Result<usize, Unreachable> {
        self.count().or_else(|_| self.count())
    }

    fn fault(&self) -> Option<Unreachable> {
        self.fault.get().cloned()
    }
}
