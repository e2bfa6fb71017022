//! What the server refuses to trust a client with: how long it may take to
//! send a request, how large its head may be, how many connections and
//! requests it may hold open. Each limit is a `storelab serve` option; the
//! defaults are what a production Task API would ship.
//!
//! Where the pieces come from (write only what the ecosystem lacks):
//! - **Header timeout and header size**: hyper's HTTP/1 connection builder
//!   (`header_read_timeout`, `max_buf_size`; an oversized head is answered
//!   431 by hyper itself).
//! - **In-flight requests**: tower's `ConcurrencyLimit` behind `LoadShed`,
//!   so a request over the limit is refused at once (503 with `Retry-After`)
//!   instead of queueing without bound.
//! - **Body timeout**: a small axum middleware around the handler (which is
//!   where the body is read). tower-http's `TimeoutLayer` does the same, but
//!   answers with an empty body, and every error of this API is JSON.
//! - **Idle keep-alive timeout**: hyper has none of its own (its header timer
//!   starts when it begins waiting for the next request, so it bounds idle
//!   time too, but at the header timeout's length), so [`IdleIo`] closes a
//!   connection on which no byte of a next request arrived in time.
//! - **Connections**: a semaphore in the accept loop; a connection over the
//!   cap gets a 503 with `Retry-After` and is closed, so slow clients cannot
//!   exhaust file descriptors.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The server's limits. [`Limits::default`] holds the shipped defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From when the server starts waiting for a request's head until the
    /// head is complete; past it the connection is closed. (hyper's timer
    /// starts when the previous response is done, so on a keep-alive
    /// connection it also bounds the idle time.) Default 10 s.
    pub header_timeout: Duration,
    /// From when a handler starts (the head is in) until it has read the
    /// body and answered; past it, 408 and the connection is closed.
    /// Default 10 s.
    pub body_timeout: Duration,
    /// A connection on which no byte arrives for this long after the last
    /// response (or after it opened) is closed. Default 5 s.
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger is
    /// answered 431. At least 8192 (hyper's minimum buffer). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Connections held at once; one more is answered 503 with
    /// `Retry-After` and closed. Default 4096.
    pub max_connections: usize,
    /// Requests in handlers at once; one more is answered 503 with
    /// `Retry-After`. Default 512.
    pub max_in_flight: usize,
}

/// Seconds a shed client is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_connections: 4096,
            max_in_flight: 512,
        }
    }
}

/// hyper's smallest read buffer: heads up to this size are always read.
pub const MIN_HEADER_BYTES: usize = 8192;

impl Limits {
    /// Checks the limits are usable; the error says which is not.
    pub fn validate(&self) -> Result<(), String> {
        for (name, d) in [
            ("header timeout", self.header_timeout),
            ("body timeout", self.body_timeout),
            ("idle timeout", self.idle_timeout),
        ] {
            if d.is_zero() {
                return Err(format!("the {name} must be more than zero"));
            }
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!(
                "the header size limit must be at least {MIN_HEADER_BYTES} bytes (hyper's smallest buffer), got {}",
                self.max_header_bytes
            ));
        }
        if self.max_connections == 0 || self.max_in_flight == 0 {
            return Err("the connection and in-flight limits must be at least 1".into());
        }
        Ok(())
    }
}

/// A connection's stream that fails a read with `TimedOut` when no byte
/// has arrived for `idle` since the last response byte was written (or
/// since the connection opened). Once a byte of a request arrives the timer
/// is off until the next write: a slow head is the header timeout's, a slow
/// body the body timeout's.
pub struct IdleIo<T> {
    inner: T,
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    /// Waiting for the first byte of a request.
    armed: bool,
}

impl<T> IdleIo<T> {
    /// Wraps a freshly accepted stream; the idle timer starts now.
    pub fn new(inner: T, idle: Duration) -> IdleIo<T> {
        IdleIo {
            inner,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            armed: true,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
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
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.armed && self.sleep.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle keep-alive timeout",
                )))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let out = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = out
            && n > 0
        {
            self.rearm();
        }
        out
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let out = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = out
            && n > 0
        {
            self.rearm();
        }
        out
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T> IdleIo<T> {
    /// A response byte went out: the next request has `idle` to start.
    fn rearm(&mut self) {
        self.armed = true;
        let deadline = Instant::now() + self.idle;
        self.sleep.as_mut().reset(deadline);
    }
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
            l.validate().expect_err("refused")
        };
        assert!(bad(|l| l.header_timeout = Duration::ZERO).contains("header timeout"));
        assert!(bad(|l| l.idle_timeout = Duration::ZERO).contains("idle timeout"));
        assert!(bad(|l| l.max_header_bytes = 100).contains("at least 8192"));
        assert!(bad(|l| l.max_connections = 0).contains("at least 1"));
        assert!(bad(|l| l.max_in_flight = 0).contains("at least 1"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_times_out_and_a_busy_one_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, server) = tokio::io::duplex(64);
        let mut io = IdleIo::new(server, Duration::from_secs(5));
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
}
