//! What the server refuses to trust a client with: how long it may take to
//! send a request or to take its response, how large its head may be, how
//! many connections and requests it may hold open. Each limit is a
//! `storelab serve` option; the defaults are what a production Task API
//! would ship.
//!
//! Where the pieces come from (write only what the ecosystem lacks):
//! - **Header timeout, header size, header count**: hyper's HTTP/1
//!   connection builder (`header_read_timeout`, `max_buf_size`, and its
//!   default of [`MAX_HEADERS`] headers). hyper answers a bad or oversized
//!   head itself, with an empty body; [`crate::conn_io::ConnIo`] turns those
//!   answers into JSON.
//! - **Body timeout and minimum body rate**: the body is received in full
//!   before the request takes an in-flight slot (`crate::body`), so a slow
//!   upload holds a connection but never a handler; a body must keep up
//!   [`Limits::min_body_rate`] after [`BODY_GRACE`], and arrive within
//!   [`Limits::body_timeout`] in all. A declared `Content-Length` over the
//!   body limit is answered 413 before any of the body is read (and so
//!   without `100 Continue`).
//! - **In-flight requests**: tower's `ConcurrencyLimit` behind `LoadShed`,
//!   so a request over the limit is refused at once (503 with `Retry-After`)
//!   instead of queueing without bound.
//! - **Idle keep-alive timeout and write timeout**: hyper has neither, so
//!   [`crate::conn_io::ConnIo`] closes a connection on which no byte of a
//!   next request arrived in time, or whose client has not taken a blocked
//!   response in time.
//! - **Connections**: a registry in the accept loop. At the cap, a new
//!   connection takes the place of the connection that has been quiet the
//!   longest (no byte received or sent, no request in a handler): slow
//!   readers, slow uploads and idle keep-alives cannot lock well-behaved
//!   clients out. If every connection is in a handler, the new one gets a
//!   503 with `Retry-After` and is closed.
//! - **Open files**: [`fit_open_files`] checks the connection cap against
//!   the process's file-descriptor limit before serving.

use std::fmt;
use std::time::Duration;

/// The server's limits. [`Limits::default`] holds the shipped defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From when the server starts waiting for a request's head until the
    /// head is complete; past it the connection is closed. (hyper's timer
    /// starts when the previous response is done, so on a keep-alive
    /// connection it also bounds the idle time.) Default 10 s.
    pub header_timeout: Duration,
    /// From when the head is in until the whole body is; past it, 408 and
    /// the connection is closed. Default 10 s.
    pub body_timeout: Duration,
    /// After [`BODY_GRACE`], a body must have arrived at this many bytes per
    /// second on average (counted from the head); a slower upload gets 408
    /// and the connection is closed. Default 1000.
    pub min_body_rate: u32,
    /// From when the server first cannot write a response (the client is
    /// not reading) until the client has taken what was offered; past it
    /// the connection is closed. Default 10 s.
    pub write_timeout: Duration,
    /// A connection on which no byte arrives for this long after the last
    /// response (or after it opened) is closed. Default 5 s.
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger is
    /// answered 431. At least 8192 (hyper's minimum buffer). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Connections held at once. One more takes the place of the quietest
    /// connection not in a handler, or, if there is none, is answered 503
    /// with `Retry-After` and closed. Default 4096.
    pub max_connections: usize,
    /// Requests in handlers at once (a request waiting for its body is not
    /// in a handler); one more is answered 503 with `Retry-After`.
    /// Default 512.
    pub max_in_flight: usize,
}

/// Seconds a shed client is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

/// Headers a request may carry; more is answered 431. hyper's default,
/// kept because a larger array moves hyper's header parsing to the heap.
pub const MAX_HEADERS: usize = 100;

/// How long a body may take before [`Limits::min_body_rate`] applies (or
/// the body timeout, if that is shorter).
pub const BODY_GRACE: Duration = Duration::from_secs(1);

/// hyper's smallest read buffer: heads up to this size are always read.
pub const MIN_HEADER_BYTES: usize = 8192;
/// The largest head size limit accepted.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// The shortest timeout accepted: below it, loopback scheduling alone
/// would close connections before their first request.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// The longest timeout accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most connections or in-flight requests accepted.
pub const MAX_COUNT: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            min_body_rate: 1000,
            write_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_connections: 4096,
            max_in_flight: 512,
        }
    }
}

/// A limit out of its accepted range; the message names the
/// `storelab serve` option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    #[error(
        "--{option} must be from {MIN_TIMEOUT:?} to {MAX_TIMEOUT:?}, got {got:?} (a shorter timeout would close connections before their first request)"
    )]
    Timeout { option: &'static str, got: Duration },
    #[error(
        "--max-header-bytes must be at least {MIN_HEADER_BYTES} bytes (hyper's smallest buffer) and at most {MAX_HEADER_BYTES}, got {0}"
    )]
    HeaderBytes(usize),
    #[error("--{option} must be at least 1 and at most {MAX_COUNT}, got {got}")]
    Count { option: &'static str, got: usize },
    #[error("--min-body-rate must be at least 1 byte per second")]
    BodyRate,
}

impl Limits {
    /// Checks every limit is in its accepted range; the error says which is
    /// not.
    pub fn validate(&self) -> Result<(), LimitsError> {
        for (option, got) in [
            ("header-timeout", self.header_timeout),
            ("body-timeout", self.body_timeout),
            ("write-timeout", self.write_timeout),
            ("idle-timeout", self.idle_timeout),
        ] {
            if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&got) {
                return Err(LimitsError::Timeout { option, got });
            }
        }
        if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&self.max_header_bytes) {
            return Err(LimitsError::HeaderBytes(self.max_header_bytes));
        }
        for (option, got) in [
            ("max-connections", self.max_connections),
            ("max-in-flight", self.max_in_flight),
        ] {
            if !(1..=MAX_COUNT).contains(&got) {
                return Err(LimitsError::Count { option, got });
            }
        }
        if self.min_body_rate == 0 {
            return Err(LimitsError::BodyRate);
        }
        Ok(())
    }
}

/// File descriptors the server needs beside its connections: the
/// listener, the runtime's, the standard streams, and the sockets of shed
/// connections being closed ([`SHED_LINGER_MAX`]).
pub const FD_RESERVE: u64 = 64 + SHED_LINGER_MAX as u64;

/// Shed connections (answered 503) closed slowly at once, so that the
/// client reads its 503; past this many, one is closed at once.
pub const SHED_LINGER_MAX: usize = 64;

/// What [`fit_open_files`] did to fit the connection cap into the
/// process's open-file limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdFit {
    /// The soft limit already allowed the cap.
    Fits,
    /// The soft limit was raised (towards the hard limit) to fit the cap.
    Raised { from: u64, to: u64 },
    /// The limit (after raising it as far as allowed) does not fit the
    /// cap, so the cap was lowered.
    Lowered { limit: u64, from: usize, to: usize },
}

impl fmt::Display for FdFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FdFit::Fits => write!(f, "the open-file limit fits the connection cap"),
            FdFit::Raised { from, to } => write!(
                f,
                "raised the open-file limit (RLIMIT_NOFILE) from {from} to {to} to fit the connection cap"
            ),
            FdFit::Lowered { limit, from, to } => write!(
                f,
                "the open-file limit (RLIMIT_NOFILE) is {limit} and cannot be raised further: --max-connections lowered from {from} to {to} ({FD_RESERVE} files kept for the server itself)"
            ),
        }
    }
}

/// The open-file limit cannot hold even one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the open-file limit (RLIMIT_NOFILE) is {0}: too low to serve (the server keeps {FD_RESERVE} files for itself); raise it with ulimit -n"
)]
pub struct TooFewFiles(pub u64);

/// Makes room for `limits.max_connections` connections under the
/// process's open-file limit (RLIMIT_NOFILE): raises the soft limit where
/// the hard limit allows it, else lowers the cap. A connection past the
/// file limit would be accepted by the kernel and never answered.
pub fn fit_open_files(limits: &mut Limits) -> Result<FdFit, TooFewFiles> {
    let (soft, hard) = open_file_limit();
    let need = limits.max_connections as u64 + FD_RESERVE;
    let fit = fit(soft, hard, need, raise_open_file_limit);
    if let Ok(FdFit::Lowered { to, .. }) = fit {
        limits.max_connections = to;
    }
    fit
}

/// The decision of [`fit_open_files`], given the soft and hard limits
/// (`None`: unlimited), the files needed, and a way to raise the soft
/// limit (which reports whether it could).
pub fn fit(
    soft: Option<u64>,
    hard: Option<u64>,
    need: u64,
    raise: impl FnOnce(u64) -> bool,
) -> Result<FdFit, TooFewFiles> {
    let Some(soft) = soft else {
        return Ok(FdFit::Fits);
    };
    if soft >= need {
        return Ok(FdFit::Fits);
    }
    let target = hard.map_or(need, |h| h.min(need));
    let have = if target > soft && raise(target) {
        target
    } else {
        soft
    };
    if have >= need {
        return Ok(FdFit::Raised {
            from: soft,
            to: have,
        });
    }
    if have <= FD_RESERVE {
        return Err(TooFewFiles(have));
    }
    Ok(FdFit::Lowered {
        limit: have,
        from: (need - FD_RESERVE) as usize,
        to: (have - FD_RESERVE) as usize,
    })
}

#[cfg(unix)]
fn open_file_limit() -> (Option<u64>, Option<u64>) {
    let l = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    (l.current, l.maximum)
}

#[cfg(unix)]
fn raise_open_file_limit(to: u64) -> bool {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let maximum = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(to),
            maximum,
        },
    )
    .is_ok()
}

#[cfg(not(unix))]
fn open_file_limit() -> (Option<u64>, Option<u64>) {
    (None, None)
}

#[cfg(not(unix))]
fn raise_open_file_limit(_: u64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_limits_are_refused() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let bad = |f: fn(&mut Limits)| {
            let mut l = Limits::default();
            f(&mut l);
            l.validate().expect_err("refused").to_string()
        };
        assert!(bad(|l| l.header_timeout = Duration::ZERO).contains("--header-timeout"));
        assert!(bad(|l| l.idle_timeout = Duration::from_micros(1)).contains("--idle-timeout"));
        assert!(bad(|l| l.write_timeout = Duration::from_secs(7200)).contains("--write-timeout"));
        assert!(bad(|l| l.body_timeout = Duration::from_millis(9)).contains("--body-timeout"));
        assert!(bad(|l| l.max_header_bytes = 100).contains("at least 8192"));
        assert!(bad(|l| l.max_header_bytes = 1 << 30).contains("at most"));
        assert!(bad(|l| l.max_connections = 0).contains("at least 1"));
        assert!(bad(|l| l.max_in_flight = 0).contains("--max-in-flight"));
        assert!(bad(|l| l.min_body_rate = 0).contains("--min-body-rate"));
        let edge = Limits {
            idle_timeout: MIN_TIMEOUT,
            header_timeout: MAX_TIMEOUT,
            ..Limits::default()
        };
        assert_eq!(edge.validate(), Ok(()));
    }

    #[test]
    fn the_connection_cap_is_fitted_into_the_open_file_limit() {
        let need = 4096 + FD_RESERVE;
        let never = |_| panic!("no raise needed");
        assert_eq!(fit(None, None, need, never), Ok(FdFit::Fits));
        assert_eq!(fit(Some(need), Some(need), need, never), Ok(FdFit::Fits));
        // A soft limit under a high enough hard one is raised to the need.
        assert_eq!(
            fit(Some(1024), Some(1 << 20), need, |to| to == need),
            Ok(FdFit::Raised {
                from: 1024,
                to: need
            })
        );
        // Raised to the hard limit, which is still short: the cap is lowered.
        assert_eq!(
            fit(Some(256), Some(1024), need, |to| to == 1024),
            Ok(FdFit::Lowered {
                limit: 1024,
                from: 4096,
                to: (1024 - FD_RESERVE) as usize
            })
        );
        // Raising refused: the soft limit is what there is.
        assert_eq!(
            fit(Some(1024), None, need, |_| false),
            Ok(FdFit::Lowered {
                limit: 1024,
                from: 4096,
                to: (1024 - FD_RESERVE) as usize
            })
        );
        assert_eq!(
            fit(Some(100), Some(100), need, |_| false),
            Err(TooFewFiles(100))
        );
    }
}
