//! A live key space: the ids worth asking for in a mix that creates or
//! deletes.
//!
//! In a mix that creates or deletes, the ids worth asking for change as the
//! run goes, and the store, not the harness, assigns them. Keeping one
//! shared set of live ids would put a contended structure inside the timed
//! loop that could cost more than the operations it steers. Instead each
//! thread works a [`Lane`], kept with the store across passes:
//! - a lane *owns* ids, oldest first: after the prefill, lane `l` of `L`
//!   owns the prefilled ids `l+1, l+1+L, ...`, and every id its creates
//!   return. A delete takes the lane's oldest id (first in, first out, as
//!   bustle does), so no two threads ever delete the same task and a delete
//!   never misses unless the lane is empty;
//! - a read, update or read-modify-write carries an offset `o` drawn from
//!   its distribution (the workload crate) and asks for `top - o`, where
//!   `top` is the lowest newest id that the lanes running now have published:
//!   every id up to it is fully created (a lane's own newest id may sit
//!   above another thread's create in flight, as YCSB's latest distribution
//!   counts from acknowledged inserts). Ids only grow, so the hot end
//!   follows the creates of every thread, and hot tasks are shared between
//!   threads as in the fixed key space;
//! - once per batch (at most 1,024 operations) a lane publishes its oldest
//!   and newest ids in its own cache-padded slot and reads the others'
//!   ([`LiveKeys`]): offsets that would reach below the highest oldest (ids
//!   below it may be deleted), plus a guard band of two batches per lane
//!   (what owners may have deleted since they published), wrap into the
//!   live window. That is the only shared state, touched once per batch,
//!   never per operation.
//!
//! A keyed operation then misses only when its thread's view of the others'
//! deletes is older than the guard band covers: a thread that stalled inside
//! a batch resumes and reads a task deleted meanwhile, as a client holding a
//! stale id would. Misses are counted per cell and shown.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crossbeam_utils::CachePadded;
use task_model::TaskId;

/// One thread's share of a live key space (module doc).
#[derive(Debug)]
pub struct Lane {
    /// The ids this lane owns, oldest (lowest) first.
    own: VecDeque<u32>,
    /// The newest id this lane created (the last prefilled one at first).
    newest: u32,
    /// The top of the window: the lowest newest id that any lane running
    /// now has published. Every id at or below it is fully created: each
    /// running lane's creates up to its published newest have returned, and
    /// a lane that is not running creates nothing. (A lane's own newest may
    /// sit above another lane's create in flight, whose id the counter gave
    /// out earlier but whose insert has not happened yet; YCSB's latest
    /// distribution counts from the acknowledged inserts for the same
    /// reason.)
    top: u32,
    /// The lowest id that every lane's published oldest says is alive.
    bottom: u32,
    /// The last id this lane deleted (0: none yet).
    last_deleted: u32,
}

impl Lane {
    /// The id `offset` below the newest, wrapped into the live window
    /// `bottom..=newest`. When every lane has deleted everything it owned
    /// the window is empty, and the newest id is asked for (and misses).
    #[inline(always)]
    pub(crate) fn target(&self, offset: u32) -> u32 {
        let bottom = self.bottom.max(1);
        if self.top < bottom {
            return self.top.max(1);
        }
        let span = self.top - bottom + 1;
        let offset = if offset < span { offset } else { offset % span };
        self.top - offset
    }

    #[inline(always)]
    pub(crate) fn created(&mut self, id: TaskId) {
        if let Ok(id) = u32::try_from(id.get()) {
            self.own.push_back(id);
            self.newest = self.newest.max(id);
        }
    }

    /// Takes the oldest id this lane owns, if any, and keeps the window
    /// above it (this lane's own frontier is always fresh).
    #[inline(always)]
    pub(crate) fn take_oldest(&mut self) -> Option<u32> {
        let id = self.own.pop_front()?;
        self.last_deleted = id;
        self.bottom = self.bottom.max(self.frontier());
        Some(id)
    }

    /// Every id this lane owned below this one is deleted: its oldest, or
    /// past its last delete when it owns nothing (0: it never owned any).
    fn frontier(&self) -> u32 {
        match self.own.front() {
            Some(&oldest) => oldest,
            None if self.last_deleted > 0 => self.last_deleted + 1,
            None => 0,
        }
    }

    /// Publishes this lane's oldest and newest ids and reads every lane's:
    /// the bottom is the highest oldest of all lanes, the top the lowest
    /// newest of the lanes running now.
    #[inline]
    pub(crate) fn refresh(&mut self, keys: &LiveKeys, me: usize) {
        // Relaxed: the slots steer which ids are asked for, nothing more; a
        // stale value can only cost a counted miss, never a wrong result,
        // so no ordering with the store's own writes is needed. Each slot
        // packs (oldest << 32 | newest), so one store publishes both.
        let packed = (u64::from(self.frontier()) << 32) | u64::from(self.newest);
        keys.slots[me].packed.store(packed, Ordering::Relaxed);
        let (mut top, mut oldest) = (self.newest, 0);
        for slot in keys.slots.iter() {
            let v = slot.packed.load(Ordering::Relaxed);
            oldest = oldest.max((v >> 32) as u32);
            if slot.running.load(Ordering::Relaxed) {
                top = top.min(v as u32);
            }
        }
        self.bottom = self.bottom.max(oldest.saturating_add(keys.guard));
        self.top = top;
    }
}

/// What a lane publishes, in a cache line of its own.
struct Slot {
    /// (oldest << 32 | newest) ids, as the lane last published them.
    packed: AtomicU64,
    /// Whether a thread is running the lane now (between its pass's start
    /// and end).
    running: AtomicBool,
}

/// The lanes of one store's live key space, kept across its passes.
pub struct LiveKeys {
    pub(crate) lanes: Box<[CachePadded<Mutex<Lane>>]>,
    slots: Box<[CachePadded<Slot>]>,
    /// Ids above the highest published oldest that reads leave alone: the
    /// oldest tasks, which their owners may have deleted since they last
    /// published (at most a batch of deletes each). Zero where the mix does
    /// not delete.
    guard: u32,
}

impl LiveKeys {
    /// `lanes` lanes over the prefilled ids `1..=keys`, dealt round robin;
    /// `deletes`: whether the mix deletes (then reads keep a guard band
    /// above the published oldest ids, see the `guard` field).
    pub fn new(keys: u32, lanes: usize, deletes: bool) -> LiveKeys {
        let lanes = lanes.max(1);
        let mut own: Vec<VecDeque<u32>> = (0..lanes)
            .map(|_| VecDeque::with_capacity(keys as usize / lanes + 1))
            .collect();
        for id in 1..=keys {
            own[(id as usize - 1) % lanes].push_back(id);
        }
        let lanes: Vec<Lane> = own
            .into_iter()
            .map(|own| Lane {
                own,
                newest: keys,
                top: keys,
                bottom: 0,
                last_deleted: 0,
            })
            .collect();
        let guard = if deletes {
            // A lane deletes at most one batch (1,024 operations) past what
            // it published; its ids are about one in `lanes` of the ids.
            2 * 1024 * lanes.len() as u32
        } else {
            0
        };
        LiveKeys {
            guard,
            slots: lanes
                .iter()
                .map(|l| {
                    let packed = (u64::from(l.frontier()) << 32) | u64::from(l.newest);
                    CachePadded::new(Slot {
                        packed: AtomicU64::new(packed),
                        running: AtomicBool::new(false),
                    })
                })
                .collect(),
            lanes: lanes
                .into_iter()
                .map(|l| CachePadded::new(Mutex::new(l)))
                .collect(),
        }
    }

    /// Up to `n` of the ids the lanes hold, spread over every lane: tasks
    /// the harness created (or prefilled) and never deleted.
    pub fn sample(&self, n: usize) -> Vec<u32> {
        let total = self.len().max(1);
        let step = total.div_ceil(n.max(1)).max(1);
        let mut out = Vec::with_capacity(n);
        for lane in self.lanes.iter() {
            let lane = lane.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend(lane.own.iter().step_by(step).copied());
        }
        out
    }

    /// Lane `t`, for one thread's pass, with room for `creates` more ids
    /// (reserved here, outside any timed or counted loop).
    pub(crate) fn lane(&self, t: usize, creates: usize) -> MutexGuard<'_, Lane> {
        // Each lane is locked by one thread per pass, so this never waits;
        // a poisoned lane (a panicked pass) is still a consistent deque.
        let t = t % self.lanes.len();
        let mut lane = self.lanes[t].lock().unwrap_or_else(PoisonError::into_inner);
        lane.own.reserve(creates);
        // Relaxed, as the slots' ids: the flag only decides whose newest
        // bounds the window; the pass's start barrier orders it before any
        // other lane's first refresh.
        self.slots[t].running.store(true, Ordering::Relaxed);
        lane
    }

    /// Lane `t`'s pass is over: it creates nothing until its next one.
    pub(crate) fn release(&self, t: usize) {
        self.slots[t % self.slots.len()]
            .running
            .store(false, Ordering::Relaxed);
    }

    /// Which prefilled ids `1..=keys` no lane holds any more (deleted).
    pub fn deleted_prefill(&self, keys: u32) -> Vec<bool> {
        let mut deleted = vec![true; keys as usize + 1];
        deleted[0] = false;
        for lane in self.lanes.iter() {
            let lane = lane.lock().unwrap_or_else(PoisonError::into_inner);
            for &id in lane.own.iter().take_while(|id| **id <= keys) {
                deleted[id as usize] = false;
            }
        }
        deleted
    }

    /// Ids the lanes hold: every task the harness believes alive.
    pub fn len(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner).own.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_deal_the_prefill_round_robin_and_track_the_newest() {
        let keys = LiveKeys::new(10, 3, false);
        let own: Vec<Vec<u32>> = keys
            .lanes
            .iter()
            .map(|l| l.lock().expect("unpoisoned").own.iter().copied().collect())
            .collect();
        assert_eq!(own, vec![vec![1, 4, 7, 10], vec![2, 5, 8], vec![3, 6, 9]]);
        assert_eq!(keys.len(), 10);
        let mut lane = keys.lane(1, 4);
        assert_eq!(lane.newest, 10);
        lane.created(TaskId(11));
        assert_eq!((lane.newest, lane.own.back().copied()), (11, Some(11)));
        // Offsets count down from the top, which a lane's own create does
        // not move before it publishes.
        assert_eq!(lane.target(0), 10);
        assert_eq!(lane.target(3), 7);
        assert_eq!(lane.take_oldest(), Some(2)); // lane 1 deletes 2
        assert_eq!(lane.bottom, 5, "its own frontier moves at once");
        lane.refresh(&keys, 1);
        drop(lane);
        // Lane 0 learns every lane's oldest (1, 5, 3): ids below 5 may be
        // deleted. Lanes 0 and 1 are running: the top is the lower of their
        // newest (10, 11), so lane 1's create of 11 is read once lane 0 has
        // created past it.
        let mut lane = keys.lane(0, 0);
        lane.refresh(&keys, 0);
        assert_eq!((lane.bottom, lane.top), (5, 10));
        lane.created(TaskId(12));
        lane.refresh(&keys, 0);
        assert_eq!(lane.top, 11);
        // An offset past the window wraps inside it: window 5..=11.
        assert_eq!(lane.target(2), 9);
        assert_eq!(lane.target(8), 10, "8 mod 7 = 1 below the top");
        // Lane 1's pass ends: it creates nothing now, so only lane 0 bounds
        // the top.
        keys.release(1);
        lane.refresh(&keys, 0);
        assert_eq!(lane.top, 12);
        drop(lane);
        let deleted = keys.deleted_prefill(10);
        assert!(deleted[2] && !deleted[1] && !deleted[10] && !deleted[0]);
        assert_eq!(deleted.iter().filter(|d| **d).count(), 1);
        let sample = keys.sample(100);
        assert_eq!(sample.len(), 11, "every held id, when fewer than asked");
        assert!(!sample.contains(&2) && sample.contains(&11) && sample.contains(&12));
    }

    #[test]
    fn a_drained_lane_still_bounds_the_window() {
        let keys = LiveKeys::new(4, 2, false); // lane 0: 1, 3; lane 1: 2, 4
        let mut lane = keys.lane(0, 0);
        assert_eq!(lane.take_oldest(), Some(1));
        assert_eq!(lane.take_oldest(), Some(3));
        assert_eq!(lane.take_oldest(), None);
        // It owns nothing, but everything it owned up to 3 is gone.
        assert_eq!(lane.frontier(), 4);
        lane.refresh(&keys, 0);
        assert_eq!((lane.bottom, lane.top), (4, 4));
        assert_eq!(lane.target(0), 4);
        assert_eq!(lane.target(1), 4, "the window is 4..=4");
    }

    #[test]
    fn where_the_mix_deletes_reads_keep_a_guard_above_the_oldest() {
        let keys = LiveKeys::new(100_000, 2, true);
        assert_eq!(keys.guard, 4096);
        let mut lane = keys.lane(0, 0);
        lane.refresh(&keys, 0);
        // Oldest ids published: 1 and 2; the window starts 4,096 above.
        assert_eq!(lane.bottom, 2 + 4096);
        assert!((0..200_000).all(|o| lane.target(o) >= 4098));
    }

    #[test]
    fn an_empty_key_space_asks_for_an_id_that_misses() {
        let keys = LiveKeys::new(0, 1, false);
        let lane = keys.lane(0, 0);
        assert_eq!(lane.target(0), 1);
        drop(lane); // the lanes' own readers lock every lane
        assert!(keys.is_empty() && keys.sample(10).is_empty());
    }
}
