//! `storelab serve` and `storelab load` as a user runs them: the binary on
//! loopback addresses, with the options the issue found wanting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn storelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storelab"))
        .args(args)
        .output()
        .expect("the storelab binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("storelab-serve-load-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Exits 2 with `needle` in its error, without a panic; returns stderr.
fn refuses(args: &[&str], needle: &str) -> String {
    let out = storelab(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

/// A `storelab serve` child, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    /// Runs `command` (which ends in `storelab serve ...`) and waits for its
    /// "serving on" line.
    fn start(mut command: Command) -> Served {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a line from serve");
        let Some(addr) = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
        else {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("serve did not start: {line:?} {err}");
        };
        Served { child, addr }
    }

    /// Stops the server; what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storelab"));
    command.arg("serve").args(args);
    Served::start(command)
}

#[test]
fn serve_takes_localhost_and_load_prints_a_rate_below_one_per_second() {
    let srv = serve(&["--addr", "localhost:0", "--prefill", "10"]);
    assert!(srv.addr.ip().is_loopback(), "{}", srv.addr);
    let dir = temp_dir("rate");
    let out = dir.join("load.json");
    let url = format!("http://localhost:{}", srv.addr.port());
    let run = storelab(&[
        "load",
        "--url",
        &url,
        "--rate",
        "0.8",
        "--duration",
        "2500ms",
        "--connections",
        "1",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Two requests due in 2.5 s: 0.800 req/s, not "1 req/s".
    let achieved = stdout
        .split("achieved ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no achieved rate: {stdout}"));
    assert_eq!(achieved, "0.800", "{stdout}");
    // The JSON and, as --help says, a CSV of the sample beside it.
    assert!(
        out.exists() && out.with_extension("csv").exists(),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    srv.stop();
}

#[test]
fn serve_reports_a_busy_port_before_any_prefill() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let stderr = refuses(
        &["serve", "--addr", &addr, "--prefill", "2000000"],
        "cannot listen on",
    );
    assert!(
        !stderr.contains("prefilling"),
        "bound after the prefill: {stderr}"
    );
}

#[test]
fn serve_refuses_absurd_limits() {
    refuses(
        &["serve", "--idle-timeout", "0.001ms"],
        "--idle-timeout must be from 10ms",
    );
    refuses(&["serve", "--write-timeout", "5ms"], "--write-timeout");
    refuses(&["serve", "--body-timeout", "7200s"], "at most an hour");
    refuses(&["serve", "--min-body-rate", "0"], "--min-body-rate");
    refuses(&["serve", "--max-header-bytes", "1073741824"], "at most");
    refuses(&["serve", "--addr", "localhost"], "cannot resolve");
}

#[test]
fn load_refuses_a_missing_out_folder_and_an_empty_key_space() {
    let dir = temp_dir("missing");
    let missing = dir.join("no-such-folder");
    let out = missing.join("load.json");
    let base = ["load", "--url", "http://127.0.0.1:1", "--duration", "1s"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let args = with(&["--out", out.to_str().expect("utf-8 path")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuses(&args, "does not exist");
    assert!(!missing.exists(), "the missing folder was created");
    let args = with(&["--keys", "0"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuses(&args, "--keys must be at least 1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_help_explains_the_seed_and_the_csv() {
    let out = storelab(&["load", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("Seed of the generated key and operation streams"),
        "{help}"
    );
    assert!(help.contains(".csv"), "{help}");
}

/// Holds `n` keep-alive connections, each answered once; the statuses.
fn hold_connections(addr: SocketAddr, n: usize) -> (Vec<TcpStream>, Vec<u16>) {
    let mut held = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..n {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let mut buf = [0u8; 512];
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("connection {i} got no answer: {e}"));
        let text = String::from_utf8_lossy(&buf[..n]);
        statuses.push(text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0));
        held.push(s);
    }
    (held, statuses)
}

/// `storelab serve` under a shell's `ulimit` (`ulimit_args`, e.g. `-n 256`).
#[cfg(unix)]
fn serve_under_ulimit(ulimit_args: &str) -> Served {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit {ulimit_args} && exec \"$0\" serve --addr 127.0.0.1:0"
        ))
        .arg(env!("CARGO_BIN_EXE_storelab"));
    Served::start(command)
}

#[cfg(unix)]
#[test]
fn the_connection_cap_is_lowered_to_fit_a_hard_open_file_limit() {
    // 256 files, hard and soft: the default cap of 4096 cannot fit, and
    // the limit cannot be raised. Every connection, past 256 too, is
    // answered.
    let srv = serve_under_ulimit("-n 256");
    let (held, statuses) = hold_connections(srv.addr, 300);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    drop(held);
    let stderr = srv.stop();
    assert!(
        stderr.contains("--max-connections lowered from 4096 to"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn the_soft_open_file_limit_is_raised_to_fit_the_cap() {
    let hard = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    // Only where the hard limit leaves room for the default cap.
    if hard != "unlimited" && hard.parse::<u64>().map_or(true, |h| h < 8192) {
        eprintln!("skipped: the hard open-file limit is {hard}");
        return;
    }
    let srv = serve_under_ulimit("-Sn 256");
    let stderr = srv.stop();
    assert!(
        stderr.contains("raised the open-file limit (RLIMIT_NOFILE) from 256"),
        "{stderr}"
    );
}
