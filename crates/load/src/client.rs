//! The client: a few threads (`--client-threads`, default 1), each driving
//! its share of the connections (connection `c` on thread `c % T`) from
//! one `epoll` set, non-blocking, one request in flight per keep-alive
//! connection (no pipelining: a server's answer time per request stays
//! what a browser or wrk sees). Connection `c` talks to the plan's server
//! `c % n` ([`LoadPlan::addr_of`]), reopened or not.
//!
//! Per request the client makes a `write`, its share of an `epoll_wait`,
//! and a `read`; in open loop, when it has to wait for a due time, a
//! `timerfd_settime` and the timer's `read` (see [`crate::schedule`]).
//! Threads do not share anything while loading: each keeps its own
//! histograms, merged at the end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use workload::{OpKind, Stream};

use crate::schedule::{SPIN_AHEAD, Wait, due_offset, lateness, wait_for};
use crate::seen::Seen;
use crate::wire::{Response, parse_response, request_for, write_request};
use crate::{LoadError, LoadPlan, idempotent};

/// The timer's key in the epoll set (connections use their slot index).
const TIMER: u64 = u64::MAX;
/// A request unanswered this long fails (as the blocking client's read
/// timeout did); an idempotent one is sent once more.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the client looks for requests past [`REQUEST_TIMEOUT`].
const CHECK_EVERY: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Every connection opens before the clock starts; 200 ms is ample on
/// loopback, and a connection that is later still is charged for it.
const OPEN_AHEAD: Duration = Duration::from_millis(200);

/// Runs the plan's connections on its client threads, all starting
/// together; what each thread saw.
pub(crate) fn drive(plan: &LoadPlan, streams: &[Stream]) -> Result<Vec<Seen>, LoadError> {
    let threads = plan.client_threads.clamp(1, plan.connections.max(1));
    let start = Instant::now() + OPEN_AHEAD;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::Builder::new()
                    .name(format!("sl-load-{t}"))
                    .spawn_scoped(s, move || {
                        let mine = (t..streams.len()).step_by(threads);
                        Client::open(plan, mine.map(|c| (c, &streams[c])), start)?.run()
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.map_err(LoadError::Thread)?
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

/// A request on the wire.
struct Flight {
    due: Instant,
    sent: Instant,
    kind: OpKind,
    idempotent: bool,
    retried: bool,
}

/// One keep-alive connection and its request stream.
struct Slot<'a> {
    /// Its number among all the plan's connections.
    c: usize,
    ops: &'a Stream,
    /// `None` after a failure or a `Connection: close`: reopened before
    /// the next request.
    stream: Option<TcpStream>,
    /// Requests sent: the next one's index in the stream and schedule.
    sent: usize,
    flight: Option<Flight>,
    out: Vec<u8>,
    written: usize,
    /// The rest of `out` waits for the socket: EPOLLOUT is registered.
    want_out: bool,
    input: Vec<u8>,
    /// When its last answer was read (when it became free).
    free_at: Instant,
    /// No more requests to send.
    done: bool,
}

impl Slot<'_> {
    /// Writes what is left of the request; `Ok(false)` if the socket is
    /// full.
    fn flush(&mut self) -> std::io::Result<bool> {
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| std::io::Error::from(ErrorKind::NotConnected))?;
        while self.written < self.out.len() {
            match stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// One client thread.
struct Client<'a> {
    plan: &'a LoadPlan,
    epoll: OwnedFd,
    timer: OwnedFd,
    /// When the timer is armed to fire, if it is.
    timer_at: Option<Instant>,
    slots: Vec<Slot<'a>>,
    /// Open loop: free connections by their next due time.
    waiting: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Connections freed by a failure, to schedule.
    freed: Vec<usize>,
    /// Connections not done.
    active: usize,
    seen: Seen,
    start: Instant,
    deadline: Instant,
    next_check: Instant,
    events: Vec<epoll::Event>,
    scratch: Box<[u8]>,
}

fn io(e: rustix::io::Errno) -> LoadError {
    LoadError::EventLoop(e.into())
}

fn connect(addr: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    let _ = stream.set_nodelay(true);
    stream.set_nonblocking(true)?;
    Ok(stream)
}

impl<'a> Client<'a> {
    /// Opens this thread's connections and its epoll set.
    fn open(
        plan: &'a LoadPlan,
        mine: impl Iterator<Item = (usize, &'a Stream)>,
        start: Instant,
    ) -> Result<Client<'a>, LoadError> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(io)?;
        let timer = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )
        .map_err(io)?;
        let (key, flags) = (epoll::EventData::new_u64(TIMER), epoll::EventFlags::IN);
        epoll::add(&epoll, &timer, key, flags).map_err(io)?;
        let mut slots = Vec::new();
        for (c, ops) in mine {
            let addr = plan.addr_of(c);
            let stream = connect(addr).map_err(|source| LoadError::Connect { addr, source })?;
            let key = epoll::EventData::new_u64(slots.len() as u64);
            epoll::add(&epoll, &stream, key, epoll::EventFlags::IN).map_err(io)?;
            slots.push(Slot {
                c,
                ops,
                stream: Some(stream),
                sent: 0,
                flight: None,
                out: Vec::with_capacity(256),
                written: 0,
                want_out: false,
                input: Vec::with_capacity(1024),
                free_at: start,
                done: false,
            });
        }
        Ok(Client {
            plan,
            epoll,
            timer,
            timer_at: None,
            active: slots.len(),
            freed: (0..slots.len()).rev().collect(),
            slots,
            waiting: BinaryHeap::new(),
            seen: Seen::new(),
            start,
            deadline: start + plan.duration,
            next_check: start + CHECK_EVERY,
            events: Vec::with_capacity(256),
            scratch: vec![0; 64 * 1024].into_boxed_slice(),
        })
    }

    /// Loads until every connection is done: its schedule (open loop) or
    /// the duration (closed loop) is over, and its last answer is in.
    fn run(mut self) -> Result<Seen, LoadError> {
        spin_until(self.start);
        loop {
            while let Some(i) = self.freed.pop() {
                self.schedule(i)?;
            }
            while let Some(&Reverse((due, i))) = self.waiting.peek() {
                if due > Instant::now() {
                    break;
                }
                self.waiting.pop();
                self.send(i, due)?;
            }
            if self.active == 0 {
                return Ok(self.seen);
            }
            let now = Instant::now();
            if now >= self.next_check {
                self.check_stuck(now)?;
                self.next_check = now + CHECK_EVERY;
                continue;
            }
            let next = self.waiting.peek().map(|r| r.0.0);
            match next.map(|due| wait_for(due, now)) {
                Some(Wait::Now) => {}
                Some(Wait::Spin) => self.poll(Some(Timespec::default()))?,
                _ => {
                    let wake = next.map_or(self.next_check, |due| {
                        (due - SPIN_AHEAD).min(self.next_check)
                    });
                    self.arm(wake, now)?;
                    self.poll(None)?;
                }
            }
        }
    }

    /// Connection `i` is free: its next request goes now, waits for its
    /// due time, or there is none (the connection is done).
    fn schedule(&mut self, i: usize) -> Result<(), LoadError> {
        let now = Instant::now();
        let slot = &mut self.slots[i];
        let due = match self.plan.rate {
            // Closed loop: due when the connection became free, so that
            // lateness is the client's turnaround from the last answer.
            None => (now < self.deadline).then_some(slot.free_at.min(now)),
            Some(rate) => {
                Some(self.start + due_offset(slot.c, slot.sent, self.plan.connections, rate))
                    .filter(|due| *due < self.deadline)
            }
        };
        match due {
            None => {
                slot.done = true;
                self.active -= 1;
                Ok(())
            }
            Some(due) if due <= now => self.send(i, due),
            Some(due) => {
                self.waiting.push(Reverse((due, i)));
                Ok(())
            }
        }
    }

    /// Sends connection `i`'s next request, due at `due`.
    fn send(&mut self, i: usize, due: Instant) -> Result<(), LoadError> {
        let slot = &mut self.slots[i];
        let k = slot.sent;
        slot.sent += 1;
        let op = slot.ops.op(k);
        // A live mix's keyed ops carry offsets below the newest id (the
        // workload crate); over HTTP the window stays on the prefilled ids,
        // counting down from the last one, since the client does not track
        // the ids its creates get.
        let id = if self.plan.workload.mix.live() {
            self.plan.workload.keys.saturating_sub(op.id).max(1)
        } else {
            op.id
        };
        let (method, target, body) = request_for(op.kind, id, k);
        slot.out.clear();
        slot.written = 0;
        write_request(&mut slot.out, method, target, body).map_err(LoadError::EventLoop)?;
        let sent = Instant::now();
        self.seen.late(lateness(sent, due, slot.free_at));
        slot.flight = Some(Flight {
            due,
            sent,
            kind: op.kind,
            idempotent: idempotent(method),
            retried: false,
        });
        self.transmit(i)
    }

    /// Writes connection `i`'s request, opening the connection first if
    /// it is closed.
    fn transmit(&mut self, i: usize) -> Result<(), LoadError> {
        if self.slots[i].stream.is_none() {
            // Back to the connection's own server.
            match connect(self.plan.addr_of(self.slots[i].c)) {
                Ok(stream) => {
                    let key = epoll::EventData::new_u64(i as u64);
                    epoll::add(&self.epoll, &stream, key, epoll::EventFlags::IN).map_err(io)?;
                    self.slots[i].stream = Some(stream);
                    self.slots[i].want_out = false;
                }
                Err(e) => return self.failed(i, e),
            }
        }
        let slot = &mut self.slots[i];
        match slot.flush() {
            Ok(complete) if complete != slot.want_out => Ok(()),
            Ok(complete) => {
                slot.want_out = !complete;
                let mut flags = epoll::EventFlags::IN;
                if slot.want_out {
                    flags |= epoll::EventFlags::OUT;
                }
                let (Some(stream), key) = (&slot.stream, epoll::EventData::new_u64(i as u64))
                else {
                    return Ok(());
                };
                epoll::modify(&self.epoll, stream, key, flags).map_err(io)
            }
            Err(e) => self.failed(i, e),
        }
    }

    /// Connection `i` failed below HTTP. The connection is dropped; its
    /// request, if idempotent and not yet retried, is sent once more on a
    /// fresh one; else it counts as a transport error (a POST or PATCH is
    /// never sent twice: the server may have applied it).
    fn failed(&mut self, i: usize, _why: std::io::Error) -> Result<(), LoadError> {
        let slot = &mut self.slots[i];
        slot.stream = None;
        slot.want_out = false;
        slot.input.clear();
        let Some(flight) = slot.flight.as_mut() else {
            return Ok(());
        };
        if flight.idempotent && !flight.retried {
            flight.retried = true;
            slot.written = 0;
            return self.transmit(i);
        }
        let now = Instant::now();
        if let Some(f) = slot.flight.take() {
            self.seen.transport_errors += 1;
            self.seen.finished(f.kind, f.due, f.sent, now, self.start);
        }
        slot.free_at = now;
        self.freed.push(i);
        Ok(())
    }

    /// Reads what connection `i` has; schedules its next request once a
    /// whole answer is in.
    fn readable(&mut self, i: usize) -> Result<(), LoadError> {
        let slot = &mut self.slots[i];
        let Some(stream) = slot.stream.as_mut() else {
            return Ok(());
        };
        let n = loop {
            match stream.read(&mut self.scratch) {
                Ok(0) => return self.failed(i, ErrorKind::UnexpectedEof.into()),
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return self.failed(i, e),
            }
        };
        if slot.flight.is_none() {
            // Bytes nobody asked for: not an answer to anything.
            return Ok(());
        }
        slot.input.extend_from_slice(&self.scratch[..n]);
        match parse_response(&slot.input) {
            Ok(None) => Ok(()),
            Ok(Some(response)) => self.answered(i, response),
            Err(e) => self.failed(i, e.into()),
        }
    }

    fn answered(&mut self, i: usize, response: Response) -> Result<(), LoadError> {
        let now = Instant::now();
        let slot = &mut self.slots[i];
        // Anything after the answer was not asked for.
        slot.input.clear();
        if response.close {
            slot.stream = None;
        }
        if let Some(f) = slot.flight.take() {
            self.seen.status(response.status);
            self.seen.finished(f.kind, f.due, f.sent, now, self.start);
        }
        slot.free_at = now;
        self.schedule(i)
    }

    /// Fails every request unanswered for [`REQUEST_TIMEOUT`].
    fn check_stuck(&mut self, now: Instant) -> Result<(), LoadError> {
        for i in 0..self.slots.len() {
            let stuck = self.slots[i]
                .flight
                .as_ref()
                .is_some_and(|f| now.saturating_duration_since(f.sent) > REQUEST_TIMEOUT);
            if stuck {
                self.failed(i, ErrorKind::TimedOut.into())?;
            }
        }
        Ok(())
    }

    /// Arms the timer to fire at `at` (unless it already is).
    fn arm(&mut self, at: Instant, now: Instant) -> Result<(), LoadError> {
        if self.timer_at == Some(at) {
            return Ok(());
        }
        let d = at
            .saturating_duration_since(now)
            .max(Duration::from_nanos(1));
        let it_value = Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        };
        let spec = Itimerspec {
            it_interval: Timespec::default(),
            it_value,
        };
        timerfd_settime(&self.timer, TimerfdTimerFlags::empty(), &spec).map_err(io)?;
        self.timer_at = Some(at);
        Ok(())
    }

    /// Waits for answers, the socket or the timer (`None`: block; a zero
    /// timeout: just look), and handles what came.
    fn poll(&mut self, timeout: Option<Timespec>) -> Result<(), LoadError> {
        self.events.clear();
        match epoll::wait(
            &self.epoll,
            spare_capacity(&mut self.events),
            timeout.as_ref(),
        ) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(io(e)),
        }
        for e in 0..self.events.len() {
            // Copied out: the kernel's struct is packed.
            let (flags, data) = (self.events[e].flags, self.events[e].data);
            let key = data.u64();
            if key == TIMER {
                let _ = rustix::io::read(&self.timer, &mut [0u8; 8]);
                self.timer_at = None;
                continue;
            }
            let i = usize::try_from(key).unwrap_or(usize::MAX);
            if i >= self.slots.len() {
                continue;
            }
            if flags.contains(epoll::EventFlags::OUT) && self.slots[i].want_out {
                self.transmit(i)?;
            }
            if flags
                .intersects(epoll::EventFlags::IN | epoll::EventFlags::HUP | epoll::EventFlags::ERR)
            {
                self.readable(i)?;
            }
        }
        Ok(())
    }
}

/// Sleeps until shortly before `at`, then spins on the clock to it.
fn spin_until(at: Instant) {
    let now = Instant::now();
    if let Some(d) = at.saturating_duration_since(now).checked_sub(SPIN_AHEAD) {
        std::thread::sleep(d);
    }
    while Instant::now() < at {}
}
