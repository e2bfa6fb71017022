//! The slot protocol under loom. Run with `RUSTFLAGS="--cfg storelab_loom"
//! cargo test -p store-hyaline --release --lib -- slot::model`
//! (scripts/loom-hyaline does, and also shows the model fail with each
//! ordering weakened).
//!
//! seize does not run under loom, so the guards here come from [`Domain`],
//! a stand-in with seize's contract and seize's pairing:
//! - a reader marks itself active (a Relaxed store to its own flag) and
//!   then issues a SeqCst fence: seize's light store and light barrier;
//! - a retired version goes to the retiring participant's limbo list (a
//!   push, as into seize's thread-local batch);
//! - [`Domain::collect`] (a writer, after dropping its guard) issues a SeqCst
//!   fence, seize's heavy barrier, then reads every other participant's
//!   flag; if none is active it frees its limbo at once, which is the
//!   earliest seize could (a batch retired while no thread is active is
//!   freed by the retirer). Otherwise the versions wait for the domain's
//!   drop, once every thread has been joined.
//!
//! Either the writer's fence comes first, and the reader's loads after its
//! own fence see the unlink (so it cannot load the retired version), or the
//! reader's does, and the writer sees the reader active (or its Release
//! leave, which orders the reader's reads before the free). A version freed
//! while a reader still looks at it is reported by loom: the version's
//! `Drop` writes the memory the reader reads.

use super::{Reclaim, Slot};
use loom::cell::UnsafeCell;
use loom::sync::Arc as LoomArc;
use loom::sync::atomic::{AtomicBool, AtomicPtr, Ordering, fence};
use std::sync::Arc;

/// A version whose number loom tracks as plain memory: a read that is not
/// ordered after the write that made it, or that overlaps the version's
/// drop, is reported.
struct Version(UnsafeCell<u64>);
// SAFETY: the number is written only while the version is built and when
// it is dropped, and read only in between (loom checks the claim).
unsafe impl Sync for Version {}

impl Version {
    fn new(n: u64) -> Version {
        Version(UnsafeCell::new(n))
    }
    fn number(&self) -> u64 {
        // SAFETY: read-only after publication (loom checks the claim).
        self.0.with(|p| unsafe { *p })
    }
}

impl Drop for Version {
    fn drop(&mut self) {
        // A write when the version is freed: a reader still looking at it
        // would race with this, and loom reports that.
        // SAFETY: `&mut self`; loom checks that no read overlaps.
        self.0.with_mut(|p| unsafe { *p = u64::MAX });
    }
}

/// A version's slot reference, retired and not yet dropped.
struct Retired {
    ptr: *mut (),
    drop: unsafe fn(*mut ()),
}

// SAFETY: the pointer is an `Arc<T>` reference with `T: Send + Sync`
// (`Reclaim::retire`'s bound), which may be dropped on any thread.
unsafe impl Send for Retired {}

/// Drops the reference `ptr` stands for.
///
/// # Safety
/// `ptr` came from `Arc::<T>::into_raw`, and the reference is the caller's.
unsafe fn drop_arc<T>(ptr: *mut ()) {
    // SAFETY: the caller's promise.
    drop(unsafe { Arc::from_raw(ptr.cast_const().cast::<T>()) });
}

/// seize's contract on loom's atomics, for a fixed set of participants
/// (participant `i` is the model's thread `i`).
struct Domain {
    active: Vec<AtomicBool>,
    /// What each participant retired and has not freed: touched only by
    /// that participant (seize's thread-local batch), and by the drop.
    limbo: Vec<UnsafeCell<Vec<Retired>>>,
}

// SAFETY: `limbo[i]` is used by participant `i` alone while the domain is
// shared (one thread per participant; loom checks the claim), and the flags
// are atomics.
unsafe impl Sync for Domain {}

/// A participant's guard: active from [`Domain::enter`] to its drop.
struct Guard<'a> {
    domain: &'a Domain,
    me: usize,
}

impl Domain {
    fn new(participants: usize) -> Domain {
        Domain {
            active: (0..participants).map(|_| AtomicBool::new(false)).collect(),
            limbo: (0..participants)
                .map(|_| UnsafeCell::new(Vec::new()))
                .collect(),
        }
    }

    /// Marks `me` active. Relaxed store, then a SeqCst fence: the fence
    /// orders the store before every load under the guard (seize: a light
    /// store and a light barrier, paired with its heavy barrier).
    fn enter(&self, me: usize) -> Guard<'_> {
        self.active[me].store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Guard { domain: self, me }
    }

    /// Frees what `me` retired, if no other participant is active now.
    /// Called by `me` holding no guard. The SeqCst fence pairs with the one
    /// in `enter` (seize's heavy barrier); Acquire pairs with the Release
    /// in a guard's drop, so a reader's reads happen before the free.
    fn collect(&self, me: usize) {
        fence(Ordering::SeqCst);
        let others_active = (0..self.active.len())
            .filter(|&i| i != me)
            .any(|i| self.active[i].load(Ordering::Acquire));
        if others_active {
            return;
        }
        // SAFETY: `limbo[me]` is `me`'s alone (see `Sync` above).
        let retired = self.limbo[me].with_mut(|l| std::mem::take(unsafe { &mut *l }));
        for r in retired {
            // SAFETY: retired by `me` after the unlink; every reader is out
            // (see the module docs), and each entry is freed once.
            unsafe { (r.drop)(r.ptr) };
        }
    }
}

impl Drop for Domain {
    /// Frees every version still retired: every thread is joined (seize's
    /// `Collector` does the same when dropped).
    fn drop(&mut self) {
        for list in &self.limbo {
            // SAFETY: `&mut self`: no participant is left.
            for r in list.with_mut(|l| std::mem::take(unsafe { &mut *l })) {
                // SAFETY: no guard is left, and each entry is freed once.
                unsafe { (r.drop)(r.ptr) };
            }
        }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // Release: this participant's reads under the guard happen before
        // a `collect` that reads the flag false.
        self.domain.active[self.me].store(false, Ordering::Release);
    }
}

impl Reclaim for Guard<'_> {
    fn protect<T>(&self, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T {
        ptr.load(order)
    }

    fn compare_exchange<T>(
        &self,
        ptr: &AtomicPtr<T>,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T> {
        ptr.compare_exchange(current, new, success, failure)
    }

    fn swap<T>(&self, ptr: &AtomicPtr<T>, new: *mut T, order: Ordering) -> *mut T {
        ptr.swap(new, order)
    }

    unsafe fn retire<T: Send + Sync>(&self, ptr: *mut T) {
        let retired = Retired {
            ptr: ptr.cast(),
            drop: drop_arc::<T>,
        };
        // SAFETY: `limbo[me]` is this participant's alone (see `Domain`).
        self.domain.limbo[self.me].with_mut(|l| unsafe { (*l).push(retired) });
    }
}

/// Slot and domain shared by the model's threads.
struct Store {
    slot: Slot<Version>,
    domain: Domain,
}

impl Store {
    fn new(participants: usize) -> LoomArc<Store> {
        LoomArc::new(Store {
            slot: Slot::empty(),
            domain: Domain::new(participants),
        })
    }

    /// A visit in place, then a clone read while still guarded (loom does
    /// not see std's reference counts, only the guard).
    fn read(&self, me: usize) -> (Option<u64>, Option<u64>) {
        let guard = self.domain.enter(me);
        let seen = self.slot.load(&guard).map(Version::number);
        let cloned = self.slot.get(&guard);
        let n = cloned.as_ref().map(|v| v.number());
        drop(cloned);
        (seen, n)
    }

    /// An update building `n + 1`, then a collection.
    fn bump(&self, me: usize) -> Option<u64> {
        let next = {
            let guard = self.domain.enter(me);
            let next = self.slot.update(&guard, |v| Version::new(v.number() + 1));
            next.map(|v| v.number())
        };
        self.domain.collect(me);
        next
    }

    /// A delete, then a collection.
    fn delete(&self, me: usize) -> Option<u64> {
        let took = {
            let guard = self.domain.enter(me);
            self.slot.take(&guard).map(|v| v.number())
        };
        self.domain.collect(me);
        took
    }
}

/// Every interleaving, with no preemption bound.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = None;
    builder.check(f);
}

/// A creator publishes a freshly built version while a reader visits in
/// place and then clones: each read sees nothing or the complete version.
#[test]
fn publish_races_reads() {
    model(|| {
        let store = Store::new(2);
        let creator = {
            let store = store.clone();
            loom::thread::spawn(move || store.slot.publish(Arc::new(Version::new(7))))
        };
        let reader = {
            let store = store.clone();
            loom::thread::spawn(move || store.read(1))
        };
        creator.join().expect("creator");
        let (seen, cloned) = reader.join().expect("reader");
        assert!(matches!(seen, None | Some(7)), "read {seen:?}");
        assert!(matches!(cloned, None | Some(7)), "cloned {cloned:?}");
        assert_eq!(store.read(0).0, Some(7));
    });
}

/// A writer updates (retiring the old version, freed as soon as no reader
/// is active) while a reader visits and clones: every read sees a complete
/// version, 1 or 2, never a freed one.
#[test]
fn update_races_reads_and_reclamation() {
    model(|| {
        let store = Store::new(2);
        store.slot.publish(Arc::new(Version::new(1)));
        let writer = {
            let store = store.clone();
            loom::thread::spawn(move || store.bump(0))
        };
        let reader = {
            let store = store.clone();
            loom::thread::spawn(move || store.read(1))
        };
        assert_eq!(writer.join().expect("writer"), Some(2));
        let (seen, cloned) = reader.join().expect("reader");
        assert!(matches!(seen, Some(1 | 2)), "read {seen:?}");
        assert!(matches!(cloned, Some(1 | 2)), "cloned {cloned:?}");
        assert_eq!(store.read(0).0, Some(2));
    });
}

/// Two writers patch the same version at once (each builds `n + 1` from
/// what it read): neither update is lost, and each returns its own version.
#[test]
fn concurrent_updates_are_not_lost() {
    model(|| {
        let store = Store::new(2);
        store.slot.publish(Arc::new(Version::new(1)));
        let writers: Vec<_> = (0..2)
            .map(|me| {
                let store = store.clone();
                loom::thread::spawn(move || store.bump(me))
            })
            .collect();
        let mut got: Vec<_> = writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .collect();
        got.sort_unstable();
        assert_eq!(got, [Some(2), Some(3)], "each update saw the other's");
        assert_eq!(store.read(0).0, Some(3));
    });
}

/// An update races a delete: the delete gets the version exactly once, the
/// update either lands before it or finds nothing (no resurrection).
#[test]
fn an_update_races_a_delete() {
    model(|| {
        let store = Store::new(2);
        store.slot.publish(Arc::new(Version::new(1)));
        let updater = {
            let store = store.clone();
            loom::thread::spawn(move || store.bump(0))
        };
        let deleter = {
            let store = store.clone();
            loom::thread::spawn(move || store.delete(1))
        };
        let updated = updater.join().expect("updater");
        let took = deleter.join().expect("deleter");
        assert!(
            matches!((updated, took), (Some(2), Some(2)) | (None, Some(1))),
            "update and delete returned {:?}",
            (updated, took)
        );
        assert_eq!(store.read(0).0, None, "deleted for good");
    });
}
