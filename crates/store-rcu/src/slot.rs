//! One slot of the rcu store: an atomic pointer to the contents of an
//! `Arc<T>`, or null. The whole read/reclaim protocol lives here, so the loom
//! model at the bottom checks the very code the store runs.
//!
//! The protocol:
//! - **Publish.** A writer builds the new version completely, then installs
//!   its pointer with a Release compare-exchange (or swap). A reader's
//!   Acquire load of that pointer therefore sees the finished value.
//! - **Read.** A reader holds an epoch [`Guard`] and loads the pointer. It
//!   writes nothing shared: crossbeam-epoch's pin writes only the calling
//!   thread's own participant record (and, once every 128 pins, tries to
//!   advance the global epoch). A clone (`get`) adds one to the version's
//!   reference count, which is a shared write, and the reason the store's
//!   clone-mode reads of a hot task do not scale.
//! - **Retire.** The slot owns one strong reference to its version. A writer
//!   that unlinks a version (update, delete) hands that reference to the
//!   guard's deferred-drop list instead of dropping it. crossbeam-epoch runs
//!   the drop only after every thread pinned at the time of the unlink has
//!   unpinned, so a reader's `&T` (bounded by its guard) never dangles, and a
//!   reader about to increment the count never finds it at zero.
//!
//! Under `--cfg storelab_weaken="install"` (or `"observe"`) that ordering
//! below becomes Relaxed: the loom model must then fail, and
//! scripts/loom-rcu checks that it does, once for each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_epoch::Guard;

#[cfg(crossbeam_loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(crossbeam_loom))]
use std::sync::atomic::AtomicPtr;

/// Ordering of the compare-exchange or swap that installs a new version:
/// Release publishes its construction; Acquire (the read half) lets an
/// update that read the old version through this pointer see it complete.
const INSTALL: Ordering = if cfg!(storelab_weaken = "install") {
    Ordering::Relaxed
} else {
    Ordering::AcqRel
};
/// Ordering of a reader's load: Acquire pairs with [`INSTALL`]'s Release.
const OBSERVE: Ordering = if cfg!(storelab_weaken = "observe") {
    Ordering::Relaxed
} else {
    Ordering::Acquire
};

/// How many versions have been retired and not yet dropped: a store waits
/// for this to reach zero when it is dropped, so that a dropped store holds
/// no task. Shared by the slots of one chunk; only writers touch it.
#[derive(Clone, Default)]
pub struct Pending(Arc<AtomicUsize>);

impl Pending {
    /// Versions retired and not yet dropped.
    pub fn count(&self) -> usize {
        // Acquire pairs with the Release decrement in `retire`, so a caller
        // that sees zero also sees the drops done.
        self.0.load(Ordering::Acquire)
    }
}

/// A pointer to an `Arc<T>`'s contents (from [`Arc::into_raw`]), or null.
/// `T: Send + Sync` because readers on any thread see it and the last
/// reference may be dropped on any thread.
pub struct Slot<T: Send + Sync> {
    ptr: AtomicPtr<T>,
}

impl<T: Send + Sync> Default for Slot<T> {
    fn default() -> Self {
        Slot::empty()
    }
}

impl<T: Send + Sync> Slot<T> {
    /// A slot holding nothing.
    pub fn empty() -> Slot<T> {
        Slot {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The current version, in place. The reference cannot outlive the
    /// guard (so its version is not reclaimed) nor the slot (so `Drop` does
    /// not free it).
    #[inline]
    pub fn load<'a>(&'a self, _guard: &'a Guard) -> Option<&'a T> {
        let p = self.ptr.load(OBSERVE);
        // SAFETY: a non-null pointer came from `Arc::into_raw` of a value
        // built before the Release half of `INSTALL`, which this Acquire load
        // synchronizes with. The slot's strong reference to it is dropped
        // either by `retire` (deferred until every guard pinned before the
        // unlink, `_guard` included, is dropped) or by `Drop` (which needs
        // `&mut self`, impossible while `'a` borrows the slot).
        unsafe { p.as_ref() }
    }

    /// The current version, as a new strong reference.
    #[inline]
    pub fn get(&self, guard: &Guard) -> Option<Arc<T>> {
        let value = self.load(guard)?;
        let p: *const T = value;
        // SAFETY: `p` came from `Arc::into_raw` and its count is at least one
        // (the slot's reference, retired no sooner than `guard` unpins), so
        // adding a reference and adopting it is sound.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    }

    /// Installs `value` in an empty slot; hands it back if the slot is not
    /// empty.
    pub fn publish(&self, value: Arc<T>) -> Result<(), Arc<T>> {
        let raw = Arc::into_raw(value).cast_mut();
        match self
            .ptr
            .compare_exchange(std::ptr::null_mut(), raw, INSTALL, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            // SAFETY: the exchange failed, so `raw` was never shared; take
            // back the reference `into_raw` gave away.
            Err(_) => Err(unsafe { Arc::from_raw(raw) }),
        }
    }

    /// Replaces the current version with `f(current)`, atomically: a
    /// compare-exchange loop, so two concurrent updates never lose one
    /// another and an update never resurrects a deleted value. Returns the
    /// new version, or `None` if the slot is empty.
    pub fn update(&self, guard: &Guard, pending: &Pending, f: impl Fn(&T) -> T) -> Option<Arc<T>> {
        let mut current = self.ptr.load(OBSERVE);
        loop {
            // SAFETY: as in `load`: published, and not reclaimed while
            // `guard` is pinned.
            let old = unsafe { current.as_ref() }?;
            let next = Arc::new(f(old));
            let raw = Arc::into_raw(next.clone()).cast_mut();
            match self.ptr.compare_exchange(current, raw, INSTALL, OBSERVE) {
                Ok(unlinked) => {
                    // SAFETY: `unlinked` is no longer reachable from the slot,
                    // and this thread took over the slot's reference to it.
                    unsafe { retire(unlinked, guard, pending) };
                    return Some(next);
                }
                Err(now) => {
                    // SAFETY: the exchange failed, so `raw` was never shared.
                    drop(unsafe { Arc::from_raw(raw) });
                    current = now;
                }
            }
        }
    }

    /// Empties the slot; returns what it held.
    pub fn take(&self, guard: &Guard, pending: &Pending) -> Option<Arc<T>> {
        let unlinked = self.ptr.swap(std::ptr::null_mut(), INSTALL);
        if unlinked.is_null() {
            return None;
        }
        // SAFETY: the swap gave this thread the slot's reference; readers
        // pinned before it may still clone, so the caller gets a new
        // reference and the slot's is retired, not dropped.
        unsafe {
            Arc::increment_strong_count(unlinked);
            let out = Arc::from_raw(unlinked);
            retire(unlinked, guard, pending);
            Some(out)
        }
    }
}

/// Drops the slot's reference to `p` once every thread pinned now unpins.
///
/// # Safety
/// `p` came from `Arc::into_raw`, is unreachable from any slot, and the
/// caller owns the reference being retired.
unsafe fn retire<T>(p: *mut T, guard: &Guard, pending: &Pending) {
    let p = p.cast_const();
    // Relaxed: the count only has to reach zero eventually; `count` orders
    // the drops through the decrement below.
    pending.0.fetch_add(1, Ordering::Relaxed);
    let pending = pending.clone();
    // SAFETY: the closure drops one reference the caller owns, after the
    // grace period; `T: Send + Sync` at every call site, so running it on
    // another thread is sound.
    unsafe {
        guard.defer_unchecked(move || {
            drop(Arc::from_raw(p));
            pending.0.fetch_sub(1, Ordering::Release);
        })
    };
}

impl<T: Send + Sync> Drop for Slot<T> {
    fn drop(&mut self) {
        // `&mut self`: no reader can hold a reference into this slot (see
        // `load`), so the slot's reference is dropped at once. Relaxed: the
        // owner of `&mut` already synchronized with every writer.
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::Relaxed);
        if !p.is_null() {
            // SAFETY: the slot owned this reference, and nothing else can
            // reach it through the slot any more.
            drop(unsafe { Arc::from_raw(p.cast_const()) });
        }
    }
}

#[cfg(all(test, crossbeam_loom))]
mod model {
    //! Run with `RUSTFLAGS="--cfg crossbeam_loom" cargo test -p store-rcu
    //! --release --lib` (scripts/loom-rcu does, and also shows the model
    //! fail with each ordering weakened).
    use super::{Pending, Slot};
    use crossbeam_epoch::Collector;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc as LoomArc;
    use std::sync::Arc;

    /// A version whose number loom tracks as plain memory: a read that is
    /// not ordered after the write that made it is reported.
    struct Version(UnsafeCell<u64>);
    // SAFETY: the number is written only while the version is built, and
    // read only after it is published.
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
            // A write at reclamation: a reader still looking at this version
            // would race with it, and loom reports that.
            self.0.with_mut(|p| unsafe { *p = u64::MAX });
        }
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(f);
    }

    /// A writer updates (and retires the old version) while a reader
    /// visits in place and another clones: every read sees a complete
    /// version, 1 or 2, never a reclaimed one.
    #[test]
    fn update_races_reads_and_reclamation() {
        model(|| {
            let collector = Collector::new();
            let slot = LoomArc::new(Slot::empty());
            assert!(slot.publish(Arc::new(Version::new(1))).is_ok());
            let writer = {
                let (slot, collector) = (slot.clone(), collector.clone());
                loom::thread::spawn(move || {
                    let handle = collector.register();
                    let guard = handle.pin();
                    let next = slot.update(&guard, &Pending::default(), |v| {
                        Version::new(v.number() + 1)
                    });
                    assert_eq!(next.map(|v| v.number()), Some(2));
                    drop(guard);
                    handle.pin().flush();
                })
            };
            let reader = {
                let (slot, collector) = (slot.clone(), collector.clone());
                loom::thread::spawn(move || {
                    let handle = collector.register();
                    let guard = handle.pin();
                    let seen = slot.load(&guard).map(Version::number);
                    assert!(matches!(seen, Some(1 | 2)), "read {seen:?}");
                    // The clone is read and dropped while pinned: loom does
                    // not see std's reference counts, only the epoch.
                    let cloned = slot.get(&guard);
                    let n = cloned.as_ref().map(|v| v.number());
                    assert!(matches!(n, Some(1 | 2)), "cloned {n:?}");
                    drop(cloned);
                    drop(guard);
                })
            };
            writer.join().expect("writer");
            reader.join().expect("reader");
            let handle = collector.register();
            assert_eq!(slot.load(&handle.pin()).map(Version::number), Some(2));
        });
    }

    /// A new version is published into an empty slot while a reader looks,
    /// and then deleted by a third thread: the reader sees nothing or the
    /// complete version; the deleter gets it exactly once.
    #[test]
    fn publish_races_reads_and_delete() {
        model(|| {
            let collector = Collector::new();
            let slot = LoomArc::new(Slot::empty());
            let creator = {
                let slot = slot.clone();
                loom::thread::spawn(move || {
                    assert!(slot.publish(Arc::new(Version::new(7))).is_ok());
                })
            };
            let reader = {
                let (slot, collector) = (slot.clone(), collector.clone());
                loom::thread::spawn(move || {
                    let handle = collector.register();
                    let guard = handle.pin();
                    let seen = slot.load(&guard).map(Version::number);
                    assert!(matches!(seen, None | Some(7)), "read {seen:?}");
                })
            };
            let deleter = {
                let (slot, collector) = (slot.clone(), collector.clone());
                loom::thread::spawn(move || {
                    let handle = collector.register();
                    let guard = handle.pin();
                    slot.take(&guard, &Pending::default()).map(|v| v.number())
                })
            };
            creator.join().expect("creator");
            reader.join().expect("reader");
            let took = deleter.join().expect("deleter");
            assert!(matches!(took, None | Some(7)));
            let handle = collector.register();
            let left = slot.load(&handle.pin()).map(Version::number);
            assert_eq!(took.is_some(), left.is_none(), "taken exactly once");
        });
    }
}
