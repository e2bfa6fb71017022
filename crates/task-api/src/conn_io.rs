//! A connection's stream as the server sees it: the timeouts hyper lacks
//! (idle keep-alive, blocked writes), the activity the connection cap ranks
//! connections by, and JSON bodies for the error responses hyper writes
//! itself.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::limits::MAX_HEADERS;

/// What the accept loop knows of one connection: when a byte last moved
/// on it, whether a request of it is in a handler, and how to close it.
pub struct Watch {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the last byte received or sent.
    last_progress: AtomicU64,
    /// Requests of this connection in a handler (0 or 1 on HTTP/1).
    busy: AtomicU32,
    evicted: tokio::sync::Notify,
}

/// How long a new connection that has not yet sent a byte is not given
/// way: a server busy enough to be at its cap may take a while to read a
/// new connection's first request, and that is not the client's fault.
pub const NEWBORN_GRACE: Duration = Duration::from_secs(1);

impl Watch {
    /// A connection accepted now; `epoch` is shared by every connection of
    /// one server so that their times compare. Until its first byte
    /// arrives it counts as active for [`NEWBORN_GRACE`].
    pub fn new(epoch: Instant) -> Watch {
        let w = Watch {
            epoch,
            last_progress: AtomicU64::new(0),
            busy: AtomicU32::new(0),
            evicted: tokio::sync::Notify::new(),
        };
        let grace = u64::try_from(NEWBORN_GRACE.as_nanos()).unwrap_or(u64::MAX);
        w.touch_at(w.now().saturating_add(grace));
        w
    }

    /// Nanoseconds from the epoch to now.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A byte moved at `at` (from [`now`](Self::now)).
    fn touch_at(&self, at: u64) {
        self.last_progress.store(at, Ordering::Relaxed);
    }

    /// A byte moved.
    pub(crate) fn touch(&self) {
        self.touch_at(self.now());
    }

    /// When a byte last moved (nanoseconds from the epoch), if that is
    /// before `now` and no request of this connection is in a handler;
    /// else `None`: it is working, or new, not waiting on its client.
    pub fn quiet_since(&self, now: u64) -> Option<u64> {
        let last = self.last_progress.load(Ordering::Relaxed);
        (self.busy.load(Ordering::Relaxed) == 0 && last <= now).then_some(last)
    }

    /// Nanoseconds from the epoch to now, as [`quiet_since`](Self::quiet_since) takes it.
    pub fn clock(&self) -> u64 {
        self.now()
    }

    /// Marks a request in a handler until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Asks the connection to close (its place is given to another).
    pub fn evict(&self) {
        self.evicted.notify_one();
    }

    /// Completes once [`evict`](Self::evict) was called.
    pub async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

/// A request in a handler; see [`Watch::busy`].
pub struct Busy(Arc<Watch>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A connection's stream under two timeouts, reporting its activity to a
/// [`Watch`]:
/// - a read fails with `TimedOut` when no byte has arrived for `idle`
///   since the last response byte was written (or since the connection
///   opened). Once a byte of a request arrives the timer is off until the
///   next write: a slow head is the header timeout's, a slow body the body
///   timeout's;
/// - a write fails with `TimedOut` when the client has not taken what was
///   offered within `write_timeout` of the first write that could not
///   proceed (a client that sends requests and never reads).
///
/// It also gives hyper's own error responses a JSON body (see
/// [`json_error`]).
pub struct ConnIo<T> {
    inner: T,
    watch: Arc<Watch>,
    idle: Duration,
    idle_sleep: Pin<Box<Sleep>>,
    /// Waiting for the first byte of a request.
    armed: bool,
    write_timeout: Duration,
    write_sleep: Pin<Box<Sleep>>,
    /// A write could not proceed, and nothing since took all it was offered.
    write_stalled: bool,
    /// A rewritten response still to be written, and how much of it was.
    pending: Vec<u8>,
    pending_at: usize,
}

impl<T> ConnIo<T> {
    /// Wraps a freshly accepted stream; the idle timer starts now.
    pub fn new(inner: T, idle: Duration, write_timeout: Duration, watch: Arc<Watch>) -> ConnIo<T> {
        ConnIo {
            inner,
            watch,
            idle,
            idle_sleep: Box::pin(tokio::time::sleep(idle)),
            armed: true,
            write_timeout,
            write_sleep: Box::pin(tokio::time::sleep(write_timeout)),
            write_stalled: false,
            pending: Vec::new(),
            pending_at: 0,
        }
    }

    /// A response byte went out: the next request has `idle` to start.
    fn rearm(&mut self) {
        self.armed = true;
        let deadline = Instant::now() + self.idle;
        self.idle_sleep.as_mut().reset(deadline);
    }

    /// Times a write that was offered `offered` bytes and got `out`; it
    /// started at `started` (taken before the write, so that the progress
    /// is recorded before the client can have seen it).
    fn track_write(
        &mut self,
        cx: &mut Context<'_>,
        out: Poll<io::Result<usize>>,
        offered: usize,
        started: u64,
    ) -> Poll<io::Result<usize>> {
        match out {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.watch.touch_at(started);
                    self.rearm();
                }
                if n == offered {
                    self.write_stalled = false;
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => {
                if !self.write_stalled {
                    self.write_stalled = true;
                    let deadline = Instant::now() + self.write_timeout;
                    self.write_sleep.as_mut().reset(deadline);
                }
                if self.write_sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "write timeout: the client does not read its responses",
                    )));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> ConnIo<T> {
    /// Writes what is left of a rewritten response.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_at < self.pending.len() {
            let rest = self.pending.len() - self.pending_at;
            let started = self.watch.now();
            let out = Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.pending_at..]);
            let n = ready!(self.track_write(cx, out, rest, started))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_at += n;
        }
        self.pending.clear();
        self.pending_at = 0;
        Poll::Ready(Ok(()))
    }

    /// If `data` starts with one of hyper's own error responses, takes its
    /// JSON version instead and says how many bytes of `data` it replaces.
    fn substitute(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Option<io::Result<usize>> {
        let (consumed, replacement) = json_error(data)?;
        self.pending = replacement;
        self.pending_at = 0;
        // Written now if it can be; else by the next flush or shutdown.
        if let Poll::Ready(Err(e)) = self.poll_drain(cx) {
            return Some(Err(e));
        }
        Some(Ok(consumed))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ConnIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.armed = false;
                    self.watch.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.armed && self.idle_sleep.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle keep-alive timeout",
                )))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ConnIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        if let Some(done) = this.substitute(cx, data) {
            return Poll::Ready(done);
        }
        let started = this.watch.now();
        let out = Pin::new(&mut this.inner).poll_write(cx, data);
        this.track_write(cx, out, data.len(), started)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(done) = this.substitute(cx, first)
        {
            return Poll::Ready(done);
        }
        let offered = bufs.iter().map(|b| b.len()).sum();
        let started = this.watch.now();
        let out = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.track_write(cx, out, offered, started)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper answers a request it cannot parse itself, before the router sees
/// it: a 4xx head with `content-length: 0` and no body (400 for a bad
/// request line, header or framing; 431 for a head over the size limit or
/// with more than [`MAX_HEADERS`] headers; 414 for an over-long target).
/// Every response of the router carries a JSON body, so a 4xx head with an
/// empty body can only be hyper's. If `data` starts with one, returns its
/// length and the same response with a JSON error body (and
/// `connection: close`, as hyper closes the connection after it).
pub fn json_error(data: &[u8]) -> Option<(usize, Vec<u8>)> {
    if !(data.starts_with(b"HTTP/1.1 4") || data.starts_with(b"HTTP/1.0 4")) {
        return None;
    }
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&data[..end]).ok()?;
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let status_line = lines.next()?;
    let code: u16 = status_line.get(9..12)?.parse().ok()?;
    let (mut empty, mut kept) = (false, String::new());
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let is = |h: &str| name.trim().eq_ignore_ascii_case(h);
        if is("content-length") {
            empty = value.trim() == "0";
        } else if is("transfer-encoding") {
            return None;
        } else if !is("connection") && !is("content-type") {
            kept.push_str(line);
            kept.push_str("\r\n");
        }
    }
    if !empty {
        return None;
    }
    let (error, message) = match code {
        431 => (
            "header_too_large",
            format!(
                "the request head is too large: over the server's size limit, or more than {MAX_HEADERS} headers"
            ),
        ),
        414 => ("uri_too_long", "the request target is too long".to_owned()),
        _ => (
            "bad_request",
            "the request is not valid HTTP/1.1: a malformed request line or header, or invalid or conflicting framing (Content-Length, Transfer-Encoding)".to_owned(),
        ),
    };
    let body = serde_json::json!({"error": error, "message": message}).to_string();
    let response = format!(
        "{status_line}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n{kept}\r\n{body}",
        body.len()
    );
    Some((end, response.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched<T>(inner: T, idle: Duration, write: Duration) -> ConnIo<T> {
        ConnIo::new(inner, idle, write, Arc::new(Watch::new(Instant::now())))
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_times_out_and_a_busy_one_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, server) = tokio::io::duplex(64);
        let mut io = watched(server, Duration::from_secs(5), Duration::from_secs(5));
        let mut client = client;
        // A byte arrives in time: the read succeeds, and the timer is off
        // until the server writes.
        client.write_all(b"G").await.expect("write");
        let mut buf = [0u8; 8];
        assert_eq!(io.read(&mut buf).await.expect("read"), 1);
        let slow = tokio::time::timeout(Duration::from_secs(60), io.read(&mut buf)).await;
        assert!(
            slow.is_err(),
            "mid-request, idleness is not this timer's business"
        );
        // The server answers; nothing more arrives: TimedOut after 5 s.
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n")
            .await
            .expect("write");
        let err = io.read(&mut buf).await.expect_err("idle");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_takes_times_out() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(16);
        let mut io = watched(server, Duration::from_secs(60), Duration::from_secs(2));
        // The client reads: a write larger than the pipe goes through.
        let reader = tokio::spawn(async move {
            let mut sink = vec![0u8; 64];
            client.read_exact(&mut sink).await.map(|_| client)
        });
        io.write_all(&[b'x'; 64]).await.expect("a reading client");
        let client = reader.await.expect("join").expect("read");
        // Now it stops reading: the write blocks, then fails with TimedOut.
        let err = io.write_all(&[b'y'; 64]).await.expect_err("blocked");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(client);
    }

    #[test]
    fn hypers_empty_error_responses_become_json_and_others_pass() {
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n";
        let (consumed, out) = json_error(head).expect("rewritten");
        assert_eq!(consumed, head.len());
        let text = String::from_utf8(out).expect("utf-8");
        let (new_head, body) = text.split_once("\r\n\r\n").expect("a head");
        assert!(
            new_head.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{text}"
        );
        assert!(new_head.contains("content-type: application/json"));
        assert!(new_head.contains("connection: close"));
        assert!(new_head.contains("date: Thu"));
        assert!(new_head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(v["error"], "bad_request");
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let (_, out) = json_error(big).expect("rewritten");
        assert!(String::from_utf8_lossy(&out).contains("header_too_large"));
        // The router's own errors have bodies; successes are never touched.
        for kept in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-length: 40\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(json_error(kept), None, "{}", String::from_utf8_lossy(kept));
        }
    }

    #[tokio::test]
    async fn a_rewritten_response_reaches_the_client_whole() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A pipe smaller than the JSON response: the rest is written on
        // flush and shutdown.
        let (mut client, server) = tokio::io::duplex(32);
        let mut io = watched(server, Duration::from_secs(60), Duration::from_secs(60));
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            client.read_to_end(&mut all).await.map(|_| all)
        });
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let n = io.write(head).await.expect("write");
        assert_eq!(n, head.len(), "the whole head is taken");
        io.shutdown().await.expect("shutdown drains");
        drop(io);
        let all = reader.await.expect("join").expect("read");
        let text = String::from_utf8(all).expect("utf-8");
        let body = text.split_once("\r\n\r\n").expect("head").1;
        let v: serde_json::Value = serde_json::from_str(body).expect("a whole JSON body");
        assert_eq!(v["error"], "bad_request");
    }
}
