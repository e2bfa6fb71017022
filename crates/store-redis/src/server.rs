//! Real Redis servers, started and stopped by the lab.
//!
//! A [`Server`] is one `redis-server` process from `PATH`, on a free
//! loopback port, in a directory of its own under the system's temporary
//! directory, with the persistence the run states ([`Persistence`]). A
//! [`Cluster`] is three (or more) of them with `cluster-enabled yes`, joined
//! by `redis-cli --cluster create` into a cluster of masters with no
//! replicas, and ready when every node says `cluster_state:ok`.
//!
//! # Stopped by process id, whatever happens
//! - Dropping a [`Server`] (the run ended, or returned an error) sends the
//!   process `SIGTERM` by its id and waits for it, then removes its
//!   directory; [`crate::stop_local`] stops the process-wide ones.
//! - Ctrl-C: the server runs in the lab's process group, so the terminal's
//!   `SIGINT` reaches it too, and Redis exits on it.
//! - The lab dies without unwinding (`SIGKILL`, a panic that aborts): every
//!   server is spawned with `PR_SET_PDEATHSIG = SIGKILL`, so the kernel kills
//!   it when its parent goes. That signal fires when the *thread* that
//!   spawned the child exits, not the process, so every server is spawned
//!   by one thread that lives as long as the process (`spawn`); a test
//!   thread that starts a shared server and ends does not take it along.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What an acknowledged write survives, as the run states it
/// (`--redis-persistence`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Persistence {
    /// No RDB snapshot, no append-only file: a server restart loses every
    /// task. The benchmark default: it measures the store, not the disk.
    #[default]
    None,
    /// `appendonly yes`, `appendfsync everysec`: a write is acknowledged
    /// before it reaches the disk; a crash of the machine (not of the
    /// process: the kernel still holds the page cache) loses up to about
    /// one second of acknowledged writes.
    EverySec,
    /// `appendonly yes`, `appendfsync always`: the server fsyncs the
    /// append-only file before it acknowledges a write, so an acknowledged
    /// write survives a crash of the process or of the machine (tested:
    /// `tests/failures.rs` kills the server with `SIGKILL` and reads
    /// every acknowledged task back after the restart).
    Always,
}

impl Persistence {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::EverySec => "everysec",
            Persistence::Always => "always",
        }
    }

    /// The setting this name states, if any.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Persistence::None,
            Persistence::EverySec,
            Persistence::Always,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }

    fn args(self) -> Vec<&'static str> {
        match self {
            Persistence::None => vec!["--save", "", "--appendonly", "no"],
            Persistence::EverySec => vec![
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
            Persistence::Always => vec![
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
        }
    }
}

/// Why a server could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// `redis-server` (or `redis-cli`, for a cluster) is not on `PATH`.
    #[error(
        "'{0}' is not on PATH (Debian: apt-get install redis-server; scripts/test installs it)"
    )]
    Missing(&'static str),
    /// It was found but did not come up.
    #[error("{0}")]
    Failed(String),
}

/// Whether `tool` is an executable file on `PATH`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let file = dir.join(tool);
            std::fs::metadata(&file).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

type Spawn = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `command` from the one thread that lives as long as the process,
/// with `PR_SET_PDEATHSIG = SIGKILL` (see the module doc).
fn spawn(command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Spawn>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Spawn>();
        std::thread::Builder::new()
            .name("storelab-redis-spawner".into())
            .spawn(move || {
                // The sender lives in a static, so this loop ends only with
                // the process: the parent thread of every server outlives it.
                for (mut command, reply) in rx {
                    let _ = reply.send(spawn_here(&mut command));
                }
            })
            .map(|_| ())
            .unwrap_or(());
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    let sent = spawner
        .lock()
        .map_err(|_| std::io::Error::other("the spawner's lock was poisoned"))?
        .send((command, tx));
    sent.map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the spawner thread is gone"))?
}

fn spawn_here(command: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed; `prctl` is a plain system
    // call, and the closure touches no lock and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// A loopback port nothing listens on now. Another process may take it
/// before the server binds it; [`Server::start`] then tries another.
fn free_port() -> Result<u16, StartError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| StartError::Failed(format!("no free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| StartError::Failed(format!("no free loopback port: {e}")))
}

/// Spawns `redis-server` on `port` in `dir`.
fn spawn_server(
    port: u16,
    dir: &std::path::Path,
    persistence: Persistence,
    cluster: bool,
) -> Result<Child, StartError> {
    let mut command = Command::new("redis-server");
    let port_arg = port.to_string();
    command
        .args([
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
        ])
        .args(["--protected-mode", "no", "--loglevel", "warning"])
        .arg("--dir")
        .arg(dir)
        .args(persistence.args());
    if cluster {
        command.args([
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        ]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    spawn(command).map_err(|e| StartError::Failed(format!("redis-server could not start: {e}")))
}

/// One `redis-server` process the lab started.
#[derive(Debug)]
pub struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
    persistence: Persistence,
    cluster: bool,
}

impl Server {
    /// Starts a server on a free loopback port and waits until it answers
    /// `PING` (10 seconds at most).
    pub fn start(persistence: Persistence) -> Result<Server, StartError> {
        Server::start_with(persistence, false)
    }

    fn start_with(persistence: Persistence, cluster: bool) -> Result<Server, StartError> {
        if !on_path("redis-server") {
            return Err(StartError::Missing("redis-server"));
        }
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let mut last = StartError::Failed("no attempt".into());
        for _ in 0..5 {
            let mut port = free_port()?;
            // A cluster node also listens on port + 10000 (its bus), so
            // its port must be at most 55535.
            for _ in 0..100 {
                if !cluster || port <= 55_535 {
                    break;
                }
                port = free_port()?;
            }
            let n = STARTED.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("storelab-redis-{}-{n}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| StartError::Failed(format!("{}: {e}", dir.display())))?;
            match Server::launch(port, dir, persistence, cluster) {
                Ok(server) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn launch(
        port: u16,
        dir: PathBuf,
        persistence: Persistence,
        cluster: bool,
    ) -> Result<Server, StartError> {
        let child = spawn_server(port, &dir, persistence, cluster)?;
        let mut server = Server {
            child,
            port,
            dir,
            persistence,
            cluster,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut why = String::new();
                if let Some(err) = self.child.stderr.take() {
                    for line in BufReader::new(err).lines().map_while(Result::ok).take(5) {
                        why.push_str(&line);
                        why.push(' ');
                    }
                }
                return Err(StartError::Failed(format!(
                    "redis-server on port {} exited ({status}): {}",
                    self.port,
                    why.trim()
                )));
            }
            if ping(&self.url()).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::Failed(format!(
                    "redis-server on port {} did not answer PING within 10 s",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its URL, `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its persistence setting.
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// Stops it by process id: `SIGTERM` (Redis shuts down cleanly, and
    /// fsyncs its append-only file), or `SIGKILL` when `crash` (the process
    /// dies on the spot, as in a crash), and waits for it to exit. Its
    /// directory stays, so [`restart`](Self::restart) finds its data.
    pub fn stop(&mut self, crash: bool) {
        if let Ok(None) = self.child.try_wait() {
            let signal = if crash { libc::SIGKILL } else { libc::SIGTERM };
            if let Ok(pid) = i32::try_from(self.child.id()) {
                // SAFETY: `kill` is a plain system call; the pid is our own
                // child's, not yet reaped (try_wait said it runs), so it
                // cannot name another process.
                unsafe {
                    libc::kill(pid, signal);
                }
            }
            let _ = self.child.wait();
        }
    }

    /// Starts it again on the same port and directory (after
    /// [`stop`](Self::stop)), with the same settings, and waits until it
    /// answers `PING`.
    pub fn restart(&mut self) -> Result<(), StartError> {
        self.stop(false);
        self.child = spawn_server(self.port, &self.dir, self.persistence, self.cluster)?;
        self.wait_ready()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(false);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects to `url` and sends `PING` (one second to connect, one to
/// answer).
pub fn ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("{url}: {e}"))?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .map_err(|e| format!("{url}: {e}"))?;
    con.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| format!("{url}: {e}"))?;
    redis::cmd("PING")
        .query::<String>(&mut con)
        .map(|_| ())
        .map_err(|e| format!("{url}: {e}"))
}

/// A local Redis Cluster the lab started: masters only, every slot
/// assigned.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Server>,
}

impl Cluster {
    /// Starts `masters` servers (at least 3, as `redis-cli --cluster
    /// create` requires) and joins them; waits until every node says
    /// `cluster_state:ok` (30 seconds at most).
    pub fn start(masters: usize, persistence: Persistence) -> Result<Cluster, StartError> {
        if !on_path("redis-cli") {
            return Err(StartError::Missing("redis-cli"));
        }
        let masters = masters.max(3);
        let mut nodes = Vec::with_capacity(masters);
        for _ in 0..masters {
            nodes.push(Server::start_with(persistence, true)?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| StartError::Failed(format!("redis-cli could not run: {e}")))?;
        if !out.status.success() {
            return Err(StartError::Failed(format!(
                "redis-cli --cluster create failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .chain(String::from_utf8_lossy(&out.stderr).lines())
                    .filter(|l| l.contains("ERR") || l.contains("rror"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let cluster = Cluster { nodes };
        cluster.wait_ok()?;
        Ok(cluster)
    }

    fn wait_ok(&self) -> Result<(), StartError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &self.nodes {
            loop {
                if cluster_ok(&node.url()) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(StartError::Failed(format!(
                        "the cluster node on port {} did not reach cluster_state:ok within 30 s",
                        node.port
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The URLs of its nodes (every one a master).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Server::url).collect()
    }

    /// Its nodes.
    pub fn nodes(&self) -> &[Server] {
        &self.nodes
    }
}

fn cluster_ok(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut con) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
        return false;
    };
    redis::cmd("CLUSTER")
        .arg("INFO")
        .query::<String>(&mut con)
        .is_ok_and(|info| info.contains("cluster_state:ok"))
}
