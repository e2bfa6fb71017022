//! The task count, striped by thread: `len` without a counter that every
//! create and delete writes.
//!
//! `rcu` counts each chunk's tasks, and every create lands in the newest
//! chunk, so every concurrent creator adds to one count on one cache line.
//! Here each thread adds to its own stripe: [`STRIPES`] cache-padded
//! `AtomicI64`s, a thread's stripe fixed round-robin at its first use. Up
//! to [`STRIPES`] threads (numbered one after another, as a run's threads
//! are) each write a line nobody else writes; more threads share stripes,
//! which stays correct (the adds are atomic) and only shares lines.
//!
//! A stripe counts what its threads added: creates there, minus deletes
//! there. A task created on one thread and deleted on another leaves +1 on
//! one stripe and -1 on the other, so a stripe can be negative and only the
//! sum means anything. [`Striped::sum`] reads the stripes one after another:
//! - **Quiescent, it is exact.** Every add that happened before the call
//!   (by whatever told the caller the writes were done: a join, a channel)
//!   is seen, by coherence.
//! - **Under concurrent writes, it is a sum of counts read at different
//!   instants,** as a sharded store's `len` is: it may count a create and
//!   miss the delete of the same task, or the reverse. It never exceeds the
//!   number of tasks that existed at some point of the call plus those
//!   created before it (each task adds at most one), and a negative sum
//!   (a delete seen, its create not) reads as 0.
//!
//! Every add is Relaxed: the counts carry no data, only their sum, whose one
//! property is atomicity (no add lost); what a task holds is published by
//! its slot. There is no ordering here for a loom model to check.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Stripes per counter: more than the threads a run uses (the lab's
/// largest machine has 16 cores). 64 stripes of 128 bytes: 8 KiB per store.
pub const STRIPES: usize = 64;

/// Hands each thread its ticket, the next number; its stripe is the ticket
/// modulo [`STRIPES`].
static NEXT_TICKET: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Relaxed: only distinctness of nearby tickets matters (and not even
    // that for correctness: two threads on one stripe only share a line).
    static TICKET: usize = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
}

/// The calling thread's ticket, fixed at its first call.
#[inline]
pub fn ticket() -> usize {
    TICKET.with(|t| *t)
}

/// The stripe of a thread with `ticket`.
#[inline]
pub const fn stripe_of(ticket: usize) -> usize {
    ticket % STRIPES
}

/// A count striped by thread. See the module documentation.
pub struct Striped {
    stripes: Box<[CachePadded<AtomicI64>; STRIPES]>,
}

impl Default for Striped {
    fn default() -> Self {
        Self::new()
    }
}

impl Striped {
    /// A count of zero.
    pub fn new() -> Striped {
        Striped {
            stripes: Box::new(std::array::from_fn(|_| CachePadded::new(AtomicI64::new(0)))),
        }
    }

    /// Adds `n` (negative to subtract) to the calling thread's stripe.
    #[inline]
    pub fn add(&self, n: i64) {
        // Relaxed: see the module documentation (atomicity is the only
        // property the sum needs).
        self.stripes[stripe_of(ticket())].fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of every stripe, 0 if it is negative.
    pub fn sum(&self) -> usize {
        let total: i64 = self
            .stripes
            .iter()
            // Relaxed: see the module documentation.
            .map(|s| s.load(Ordering::Relaxed))
            .sum();
        usize::try_from(total).unwrap_or(0)
    }

    /// Each stripe's count, in stripe order (for tests and diagnostics).
    pub fn stripes(&self) -> Vec<i64> {
        self.stripes
            .iter()
            // Relaxed: see the module documentation.
            .map(|s| s.load(Ordering::Relaxed))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_adds_to_its_own_stripe_only() {
        let count = Striped::new();
        count.add(3);
        count.add(-1);
        let mine = stripe_of(ticket());
        let stripes = count.stripes();
        assert_eq!(stripes[mine], 2);
        assert_eq!(stripes.iter().filter(|&&s| s != 0).count(), 1);
        assert_eq!(count.sum(), 2);
        assert_eq!(ticket(), ticket(), "fixed for the thread");
    }

    #[test]
    fn threads_get_their_own_tickets_and_stripes() {
        let count = Striped::new();
        let tickets: Vec<usize> = (0..4)
            .map(|_| {
                std::thread::scope(|s| {
                    s.spawn(|| {
                        count.add(1);
                        ticket()
                    })
                    .join()
                    .expect("adder")
                })
            })
            .collect();
        let mut distinct = tickets.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "one ticket per thread: {tickets:?}");
        let stripes = count.stripes();
        for t in &tickets {
            assert!(
                stripes[stripe_of(*t)] >= 1,
                "thread {t} added to its stripe"
            );
        }
        assert_eq!(count.sum(), 4);
    }

    #[test]
    fn stripes_wrap_around() {
        assert_eq!(stripe_of(0), 0);
        assert_eq!(stripe_of(STRIPES - 1), STRIPES - 1);
        assert_eq!(stripe_of(STRIPES), 0);
        assert_eq!(stripe_of(STRIPES + 5), 5);
    }

    #[test]
    fn a_create_here_and_a_delete_there_cancel_and_negative_sums_read_zero() {
        let count = Striped::new();
        std::thread::scope(|s| {
            s.spawn(|| count.add(1));
        });
        assert_eq!(count.sum(), 1);
        count.add(-1);
        assert_eq!(count.sum(), 0, "the sum, not any stripe, is the count");
        count.add(-1);
        assert_eq!(
            count.sum(),
            0,
            "negative reads as zero, not a wrapped usize"
        );
        count.add(2);
        assert_eq!(count.sum(), 1);
    }

    #[test]
    fn concurrent_adds_are_all_counted() {
        let count = Striped::new();
        std::thread::scope(|s| {
            for t in 0..4i64 {
                let count = &count;
                s.spawn(move || {
                    for i in 0..1000 {
                        count.add(if (i + t) % 3 == 0 { -1 } else { 2 });
                    }
                });
            }
        });
        let want: i64 = (0..4i64)
            .map(|t| {
                (0..1000)
                    .map(|i| if (i + t) % 3 == 0 { -1 } else { 2 })
                    .sum::<i64>()
            })
            .sum();
        assert_eq!(count.sum() as i64, want);
    }
}
