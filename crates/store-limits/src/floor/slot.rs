//! One slot of the floor store, and the list its unlinked versions retire
//! to. The whole protocol lives here, so the loom model at the bottom checks
//! the very code the store runs.
//!
//! The protocol:
//! - **Publish.** A writer builds the new version completely, then installs
//!   its pointer (from [`Arc::into_raw`]) with a Release store (create) or a
//!   Release compare-exchange (update). A reader's Acquire load of that
//!   pointer therefore sees the finished value.
//! - **Read.** A reader loads the pointer with Acquire and looks at the
//!   version, or adds one to its reference count (`get`). It writes nothing
//!   else.
//! - **Retire, never free.** The slot owns one strong reference to its
//!   version. A writer that unlinks a version (update, delete) moves that
//!   reference into a [`Retired`] list, which keeps it until the list is
//!   dropped. A reader that loaded the pointer just before the unlink may
//!   still look at the version or add to its count: both stay sound, since
//!   the count cannot reach zero before the list goes. The store drops the
//!   list only with itself, when no reader can be left (`&mut`).
//!
//! Because nothing a slot ever held is freed while the list lives, an
//! address cannot come back into a slot: a compare-exchange on the pointer
//! sees no ABA, with no tag and no epoch.
//!
//! Under `--cfg storelab_loom` the slot runs on loom's atomics and mutex,
//! and the environment variable `STORELAB_WEAKEN` (`publish` or `observe`)
//! turns that ordering into Relaxed: the loom model must then fail, and
//! scripts/loom-floor checks that it does, once for each. Outside that cfg
//! the orderings are constants and nothing reads the environment.

use std::sync::Arc;
use std::sync::atomic::Ordering;

#[cfg(storelab_loom)]
use loom::sync::Mutex;
#[cfg(storelab_loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(storelab_loom))]
use std::sync::Mutex;
#[cfg(not(storelab_loom))]
use std::sync::atomic::AtomicPtr;

// The ordering switch below (the constants, and their loom twins that
// `STORELAB_WEAKEN` weakens) is the same as in `store-hyaline/src/slot.rs`, on
// purpose for now: each is compiled under its own crate's
// `--cfg storelab_loom` build, and a shared home would be a crate of its
// own for 40 lines. Moving it there is listed as open in issue 25's note.
/// Ordering of the store or compare-exchange that installs a version:
/// Release publishes its construction to whoever Acquire-loads the pointer.
#[cfg(not(storelab_loom))]
#[inline(always)]
const fn publish() -> Ordering {
    Ordering::Release
}

/// Ordering of every load or swap whose result is looked at (a read, the
/// version an update patches, the version a delete returns): Acquire pairs
/// with [`publish`]'s Release.
#[cfg(not(storelab_loom))]
#[inline(always)]
const fn observe() -> Ordering {
    Ordering::Acquire
}

/// Under loom: Release, or Relaxed when `STORELAB_WEAKEN=publish`.
#[cfg(storelab_loom)]
fn publish() -> Ordering {
    weakened("publish", Ordering::Release)
}

/// Under loom: Acquire, or Relaxed when `STORELAB_WEAKEN=observe`.
#[cfg(storelab_loom)]
fn observe() -> Ordering {
    weakened("observe", Ordering::Acquire)
}

/// `strong`, or Relaxed if the environment asks to weaken `which`.
#[cfg(storelab_loom)]
fn weakened(which: &str, strong: Ordering) -> Ordering {
    static WEAKEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let weaken = WEAKEN.get_or_init(|| std::env::var("STORELAB_WEAKEN").ok());
    if weaken.as_deref() == Some(which) {
        Ordering::Relaxed
    } else {
        strong
    }
}

/// A pointer to an `Arc<T>`'s contents (from [`Arc::into_raw`]), or null.
/// The slot owns one strong reference to what it points at. `T: Send +
/// Sync` because readers on any thread see it, and the retired list may be
/// dropped on any thread.
pub struct Slot<T: Send + Sync> {
    ptr: AtomicPtr<T>,
}

impl<T: Send + Sync> Slot<T> {
    /// A slot holding nothing.
    pub fn empty() -> Slot<T> {
        Slot {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Installs `value` in a slot that nobody else writes yet (the slot of a
    /// freshly issued id). A plain store, not a compare-exchange: no other
    /// writer can be there. Were the slot not empty, its old reference would
    /// leak (never freed, so still sound).
    #[inline]
    pub fn publish(&self, value: Arc<T>) {
        let raw = Arc::into_raw(value).cast_mut();
        debug_assert!(
            // Relaxed: a debug check of this thread's own expectation.
            self.ptr.load(Ordering::Relaxed).is_null(),
            "published into a slot twice"
        );
        self.ptr.store(raw, publish());
    }

    /// The current version, in place.
    ///
    /// # Safety
    /// Every version unlinked from this slot (by [`Slot::update`] or
    /// [`Slot::take`]) is retired into a [`Retired`] that outlives the
    /// returned reference.
    #[inline]
    pub unsafe fn load(&self) -> Option<&T> {
        let p = self.ptr.load(observe());
        // SAFETY: a non-null pointer came from `Arc::into_raw` of a value
        // built before the Release of `publish`, which this Acquire load
        // synchronizes with. Its strong reference is either still the
        // slot's (dropped only by `Drop`, which needs `&mut self`,
        // impossible while the returned reference borrows the slot) or in a
        // `Retired` that outlives that reference (the caller's promise): it
        // is not freed while the reference lives.
        unsafe { p.as_ref() }
    }

    /// The current version, as a new strong reference.
    ///
    /// # Safety
    /// As for [`Slot::load`].
    #[inline]
    pub unsafe fn get(&self) -> Option<Arc<T>> {
        // SAFETY: the caller's promise is `load`'s.
        let value = unsafe { self.load() }?;
        let p: *const T = value;
        // SAFETY: `p` came from `Arc::into_raw` and its count is at least
        // one for as long as `value` lives (see `load`), so adding a
        // reference and adopting it is sound.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    }

    /// Replaces the current version with `f(current)`, atomically: a
    /// compare-exchange loop against the version patched, so two concurrent
    /// updates never lose one another and an update never resurrects a
    /// deleted value (its exchange fails against null). The unlinked
    /// version goes to `retired`. Returns the new version, or `None` if the
    /// slot is empty.
    ///
    /// # Safety
    /// As for [`Slot::load`], with `retired` among the lists it names.
    pub unsafe fn update(&self, retired: &Retired<T>, f: impl Fn(&T) -> T) -> Option<Arc<T>> {
        let mut current = self.ptr.load(observe());
        loop {
            // SAFETY: as in `load`: published (Acquire, here or in the
            // failed exchange below), and never freed while `retired` lives.
            let old = unsafe { current.as_ref() }?;
            let next = Arc::new(f(old));
            // The slot's reference exists before the pointer is shared: a
            // writer may unlink and retire it the moment it is installed.
            let raw = Arc::into_raw(next.clone()).cast_mut();
            // Success: Release publishes `next`'s construction. Failure:
            // Acquire, since the next round patches the version it read.
            match self
                .ptr
                .compare_exchange(current, raw, publish(), observe())
            {
                Ok(unlinked) => {
                    // SAFETY: the exchange unlinked `unlinked` (non-null: it
                    // is `current`), and only this thread's exchange did, so
                    // this thread now owns the slot's reference to it.
                    retired.keep(unsafe { Arc::from_raw(unlinked) });
                    return Some(next);
                }
                Err(now) => {
                    // SAFETY: the exchange failed, so `raw` was never
                    // shared; take back the reference `into_raw` gave away.
                    drop(unsafe { Arc::from_raw(raw) });
                    current = now;
                }
            }
        }
    }

    /// Empties the slot; returns what it held, whose slot reference goes to
    /// `retired`.
    pub fn take(&self, retired: &Retired<T>) -> Option<Arc<T>> {
        // Relaxed: only decides whether to write at all; a miss leaves the
        // slot's cache line unwritten. An empty slot of a live id is empty
        // at this load's point, which lies inside the call.
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: the caller gets the version, and looks at it.
        let unlinked = self.ptr.swap(std::ptr::null_mut(), observe());
        if unlinked.is_null() {
            return None;
        }
        // SAFETY: the swap unlinked it, and only this thread's swap did, so
        // this thread owns the slot's reference to it.
        let gone = unsafe { Arc::from_raw(unlinked) };
        retired.keep(gone.clone());
        Some(gone)
    }

    /// Whether the slot holds a version now (for walks that count).
    #[inline]
    pub fn is_occupied(&self) -> bool {
        // Relaxed: only the pointer's nullness is used, never what it
        // points to.
        !self.ptr.load(Ordering::Relaxed).is_null()
    }
}

impl<T: Send + Sync> Drop for Slot<T> {
    fn drop(&mut self) {
        // `&mut self`: no reader can hold a reference into this slot (see
        // `load`), so the slot's reference is dropped at once. Relaxed: the
        // owner of `&mut` already synchronized with every writer.
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::Relaxed);
        if !p.is_null() {
            // SAFETY: the slot owned this reference, and nothing can reach it
            // through the slot any more.
            drop(unsafe { Arc::from_raw(p.cast_const()) });
        }
    }
}

/// A value alone on its cache line(s): stripes written by different
/// threads share no line.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// The versions slots unlinked, kept (one strong reference each) until the
/// list is dropped. Striped: a thread pushes to the stripe it was given at
/// its first push, so writers on different threads take different locks,
/// each uncontended and on a line that stays in its own core's cache.
pub struct Retired<T> {
    stripes: Box<[Stripe<T>]>,
}

/// One stripe of a [`Retired`] list.
type Stripe<T> = Padded<Mutex<Vec<Arc<T>>>>;

/// Hands each thread its stripe number, round-robin.
static NEXT_STRIPE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    // Relaxed: only distinctness matters (and not even that for
    // soundness: two threads on one stripe only share its lock).
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed);
}

impl<T> Retired<T> {
    /// An empty list with `stripes` stripes (at least one).
    pub fn new(stripes: usize) -> Retired<T> {
        Retired {
            stripes: (0..stripes.max(1))
                .map(|_| Padded(Mutex::new(Vec::new())))
                .collect(),
        }
    }

    /// Keeps `version` until the list is dropped.
    #[inline]
    pub fn keep(&self, version: Arc<T>) {
        let stripe = STRIPE.with(|s| *s) % self.stripes.len();
        // A poisoned stripe only means a panic elsewhere while it was held;
        // a push cannot leave the vector half-written, so keep using it.
        let mut kept = self.stripes[stripe]
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.push(version);
    }

    /// How many versions are kept.
    pub fn count(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| {
                s.0.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }
}

#[cfg(all(test, storelab_loom))]
mod model {
    //! Run with `RUSTFLAGS="--cfg storelab_loom" cargo test -p store-limits
    //! --release --lib -- floor::slot::model` (scripts/loom-floor does, and
    //! also shows the model fail with each ordering weakened).
    use super::{Retired, Slot};
    use loom::cell::UnsafeCell;
    use loom::sync::Arc as LoomArc;
    use std::sync::Arc;

    /// A version whose number loom tracks as plain memory: a read that is
    /// not ordered after the write that made it is reported.
    struct Version(UnsafeCell<u64>);
    // SAFETY: the number is written only while the version is built, and
    // read only after it is published (loom checks the claim).
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
            // A write when the version is freed: a reader still looking at
            // it would race with this, and loom reports that.
            // SAFETY: `&mut self`; loom checks that no read overlaps.
            self.0.with_mut(|p| unsafe { *p = u64::MAX });
        }
    }

    /// Slot and retired list shared by the model's threads.
    struct Store {
        slot: Slot<Version>,
        retired: Retired<Version>,
    }

    impl Store {
        fn new() -> LoomArc<Store> {
            LoomArc::new(Store {
                slot: Slot::empty(),
                retired: Retired::new(1),
            })
        }
        fn read(&self) -> Option<u64> {
            // SAFETY: the slot retires into `self.retired`, which lives as
            // long as `self`.
            unsafe { self.slot.load() }.map(Version::number)
        }
        fn read_clone(&self) -> Option<u64> {
            // SAFETY: as in `read`.
            unsafe { self.slot.get() }.map(|v| v.number())
        }
        fn bump(&self) -> Option<u64> {
            // SAFETY: as in `read`.
            let next = unsafe {
                self.slot
                    .update(&self.retired, |v| Version::new(v.number() + 1))
            };
            next.map(|v| v.number())
        }
    }

    /// Every interleaving, with no preemption bound: the three models
    /// together take about 15 s in release.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = None;
        builder.check(f);
    }

    /// A creator publishes a freshly built version while a reader visits
    /// in place and then clones: each read sees nothing or the complete
    /// version.
    #[test]
    fn publish_races_reads() {
        model(|| {
            let store = Store::new();
            let creator = {
                let store = store.clone();
                loom::thread::spawn(move || store.slot.publish(Arc::new(Version::new(7))))
            };
            let reader = {
                let store = store.clone();
                loom::thread::spawn(move || {
                    let seen = store.read();
                    assert!(matches!(seen, None | Some(7)), "read {seen:?}");
                    let cloned = store.read_clone();
                    assert!(matches!(cloned, None | Some(7)), "cloned {cloned:?}");
                })
            };
            creator.join().expect("creator");
            reader.join().expect("reader");
            assert_eq!(store.read(), Some(7));
        });
    }

    /// Two writers patch the same version at once (each builds `n + 1`
    /// from what it read) while a reader visits: neither update is lost,
    /// each returns its own version, and the one replaced twice is kept.
    #[test]
    fn concurrent_updates_are_not_lost() {
        model(|| {
            let store = Store::new();
            store.slot.publish(Arc::new(Version::new(1)));
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    let store = store.clone();
                    loom::thread::spawn(move || store.bump())
                })
                .collect();
            let reader = {
                let store = store.clone();
                loom::thread::spawn(move || {
                    let seen = store.read();
                    assert!(matches!(seen, Some(1..=3)), "read {seen:?}");
                })
            };
            let mut got: Vec<_> = writers
                .into_iter()
                .map(|w| w.join().expect("writer"))
                .collect();
            reader.join().expect("reader");
            got.sort_unstable();
            assert_eq!(got, [Some(2), Some(3)], "each update saw the other's");
            assert_eq!(store.read(), Some(3));
            assert_eq!(store.retired.count(), 2, "both replaced versions kept");
        });
    }

    /// An update races a delete: the delete gets the version exactly once,
    /// the update either lands before it or finds nothing (no
    /// resurrection), and every unlinked version is kept.
    #[test]
    fn an_update_races_a_delete() {
        model(|| {
            let store = Store::new();
            store.slot.publish(Arc::new(Version::new(1)));
            let updater = {
                let store = store.clone();
                loom::thread::spawn(move || store.bump())
            };
            let deleter = {
                let store = store.clone();
                loom::thread::spawn(move || store.slot.take(&store.retired).map(|v| v.number()))
            };
            let updated = updater.join().expect("updater");
            let took = deleter.join().expect("deleter");
            match (updated, took) {
                (Some(2), Some(2)) => assert_eq!(store.retired.count(), 2),
                (None, Some(1)) => assert_eq!(store.retired.count(), 1),
                other => panic!("update and delete returned {other:?}"),
            }
            assert_eq!(store.read(), None, "deleted for good");
        });
    }
}
