//! Open-loop timing: when each request is due, how the client waits for
//! it, and how late it was.
//!
//! Connection `c` of `C` sends requests `c, c + C, c + 2C, ...` of one
//! global schedule, request `n` due at `start + n / rate`: the schedule of
//! the blocking client this one replaced, so a seed sends the same requests
//! at the same times.
//!
//! Waiting: an `epoll_wait` timeout is in whole milliseconds and a sleep
//! carries the kernel's timer slack (50 µs by default), which a client
//! that sleeps to each due time adds to every latency it reports. This one
//! arms a `timerfd` (nanosecond resolution, no slack) for [`SPIN_AHEAD`]
//! before the due time, blocks in `epoll_wait` (where answers still wake
//! it), and from there spins: polls without blocking and reads the clock
//! again, until the due time. No `pause` instruction in the spin: on this
//! lab's VM it traps to the hypervisor.

use std::time::{Duration, Instant};

/// How long before a due time the client stops sleeping and spins. On
/// this lab's 2-core VM, with a server loaded beside it, a `timerfd`
/// wake-up took about 50 µs at the median: with 20 µs of spin the client
/// was 34 µs late at p50, with 60 µs 7 µs late, with 150 µs under 1 µs
/// (at 2,000 req/s). 100 µs keeps it within microseconds at the median
/// while spinning at most a fifth of a core at 2,000 req/s; above 10,000
/// req/s per client thread it spins all the time anyway. The p99 is set by
/// preemption (the client thread shares the cores with the server), not by
/// this margin: 100-200 µs at 2,000 req/s whatever the spin, tens of µs
/// above 8,000 req/s, where the client never sleeps.
pub const SPIN_AHEAD: Duration = Duration::from_micros(100);

/// When connection `c` (of `connections`) sends its `k`-th request, from
/// the start: request `c + k * connections` of the schedule at `rate`.
pub fn due_offset(c: usize, k: usize, connections: usize, rate: f64) -> Duration {
    let n = c as f64 + k as f64 * connections as f64;
    Duration::from_secs_f64(n / rate)
}

/// What the client does until a due time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Due: send now.
    Now,
    /// Due within [`SPIN_AHEAD`]: poll without blocking, read the clock
    /// again.
    Spin,
    /// Block on answers or the timer for this long, waking
    /// [`SPIN_AHEAD`] before the due time.
    Sleep(Duration),
}

/// How to wait from `now` for `due`.
pub fn wait_for(due: Instant, now: Instant) -> Wait {
    if due <= now {
        Wait::Now
    } else {
        match (due - now).checked_sub(SPIN_AHEAD) {
            Some(d) if !d.is_zero() => Wait::Sleep(d),
            _ => Wait::Spin,
        }
    }
}

/// How late the client sent a request: from when it could first have
/// been sent (its due time, and its connection free of the previous
/// answer) to when it was. A request due while its connection still
/// waits for an answer waits for the server, not for the client: that
/// wait is in its latency (measured from the due time), not here. At
/// least 1 ns (histograms start there).
pub fn lateness(sent: Instant, due: Instant, free: Instant) -> Duration {
    sent.saturating_duration_since(due.max(free))
        .max(Duration::from_nanos(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_take_turns_in_one_schedule() {
        // 4 connections at 1000 req/s: request n is due at n ms.
        let at = |c, k| due_offset(c, k, 4, 1000.0);
        assert_eq!(at(0, 0), Duration::ZERO);
        assert_eq!(at(1, 0), Duration::from_millis(1));
        assert_eq!(at(3, 0), Duration::from_millis(3));
        assert_eq!(at(0, 1), Duration::from_millis(4));
        assert_eq!(at(2, 5), Duration::from_millis(22));
        // Every request of the schedule, once: 8 connections, 1 s at
        // 400 req/s is 400 distinct due times, n / 400 s each.
        let mut all: Vec<Duration> = (0..8)
            .flat_map(|c| (0..50).map(move |k| due_offset(c, k, 8, 400.0)))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 400);
        for (n, d) in all.iter().enumerate() {
            let want = n as f64 / 400.0;
            assert!((d.as_secs_f64() - want).abs() < 1e-9, "{n}: {d:?}");
        }
        // A large schedule keeps nanosecond precision: request 10^9 at
        // 10^6 req/s is due at 1000 s.
        assert_eq!(
            due_offset(0, 1_000_000_000, 1, 1e6),
            Duration::from_secs(1000)
        );
    }

    #[test]
    fn the_client_sleeps_when_far_spins_when_close_and_sends_when_due() {
        let now = Instant::now();
        assert_eq!(wait_for(now, now), Wait::Now);
        assert_eq!(wait_for(now, now + Duration::from_micros(5)), Wait::Now);
        assert_eq!(wait_for(now + Duration::from_micros(10), now), Wait::Spin);
        assert_eq!(wait_for(now + SPIN_AHEAD, now), Wait::Spin);
        let far = now + Duration::from_millis(2);
        assert_eq!(
            wait_for(far, now),
            Wait::Sleep(Duration::from_millis(2) - SPIN_AHEAD),
            "wakes SPIN_AHEAD before the due time"
        );
        assert_eq!(
            wait_for(now + SPIN_AHEAD + Duration::from_nanos(1), now),
            Wait::Sleep(Duration::from_nanos(1))
        );
    }

    #[test]
    fn lateness_counts_from_when_a_request_could_be_sent() {
        let t = Instant::now();
        let us = Duration::from_micros;
        // Free connection, due at t, sent 3 µs later.
        assert_eq!(lateness(t + us(3), t, t - us(100)), us(3));
        // The connection was busy until t + 50 µs: the 50 µs are the
        // server's (in the latency), the 2 µs after it the client's.
        assert_eq!(lateness(t + us(52), t, t + us(50)), us(2));
        // Sent on time: 1 ns, the histograms' floor.
        assert_eq!(lateness(t, t, t), Duration::from_nanos(1));
        assert_eq!(lateness(t, t + us(1), t), Duration::from_nanos(1));
    }
}
