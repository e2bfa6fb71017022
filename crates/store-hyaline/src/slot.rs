//! One slot of the hyaline store: an atomic pointer to the contents of an
//! `Arc<T>`, or null, and [`Reclaim`], what the slot asks of its reclamation
//! scheme. The whole read/write protocol lives here, so the loom model at
//! the bottom checks the very code the store runs.
//!
//! The protocol (`rcu`'s and `floor`'s, with seize as the reclaimer):
//! - **Publish.** A writer builds the new version completely, then installs
//!   its pointer (from [`Arc::into_raw`]) with a Release store (create: the
//!   slot of a fresh id is empty and nobody else writes it) or a Release
//!   compare-exchange (update). A reader's Acquire load of that pointer
//!   therefore sees the finished value.
//! - **Read.** A reader holds a guard and loads the pointer through it
//!   ([`Reclaim::protect`]); it looks at the version, or adds one to its
//!   reference count (`get`). With seize the guard is a write to the calling
//!   thread's own reservation word and nothing else (see the crate docs).
//! - **Retire.** The slot owns one strong reference to its version. A writer
//!   that unlinks a version (update, delete) hands that reference to the
//!   guard's [`Reclaim::retire`] instead of dropping it. The reclaimer drops
//!   it only after every guard that was active when it was retired has been
//!   dropped, so a reader's `&T` (bounded by its guard) never dangles, and a
//!   reader about to add to the count never finds it at zero. A
//!   compare-exchange sees no ABA: the version it compares against was
//!   loaded under the guard, so its address cannot be freed and reused
//!   before the exchange.
//!
//! seize has no loom support, so the model runs the slot against a stand-in
//! (`model`'s `Domain`) with seize's contract: loads under a guard stay
//! valid until it drops; a retired version is freed only once every guard
//! active at its retirement has dropped. Its pairing (a SeqCst fence after
//! the reader marks itself active, one before the writer scans for active
//! readers) stands in for seize's light store and `membarrier` heavy
//! barrier.
//!
//! Under `--cfg storelab_loom` the slot runs on loom's atomics, and the
//! environment variable `STORELAB_WEAKEN` (`publish` or `observe`) turns
//! that ordering into Relaxed: the loom model must then fail, and
//! scripts/loom-hyaline checks that it does, once for each. Outside that
//! cfg the orderings are constants and nothing reads the environment.

use std::sync::Arc;
use std::sync::atomic::Ordering;

#[cfg(storelab_loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(storelab_loom))]
use std::sync::atomic::AtomicPtr;

// The ordering switch below (the constants, and their loom twins that
// `STORELAB_WEAKEN` weakens) is the same as in `store-limits/src/floor/slot.rs`, on
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

/// Ordering of every load, failed exchange or swap whose result is looked
/// at (a read, the version an update patches, the version a delete
/// returns): Acquire pairs with [`publish`]'s Release. (seize strengthens
/// its loads to SeqCst for its own barrier pairing, which on x86-64 and
/// AArch64 is the same instruction as Acquire; the protocol needs Acquire.)
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

/// What a slot needs from a reclamation scheme, through a guard that is
/// active while it lives: seize's `Guard` in the store, a stand-in in the
/// loom model.
pub trait Reclaim {
    /// Loads `ptr` so that a version it points to stays allocated while
    /// this guard lives (unless this guard's thread retires it).
    fn protect<T>(&self, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T;

    /// [`AtomicPtr::compare_exchange`], whose previous value is protected
    /// as by [`Reclaim::protect`].
    fn compare_exchange<T>(
        &self,
        ptr: &AtomicPtr<T>,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T>;

    /// [`AtomicPtr::swap`], whose previous value is protected as by
    /// [`Reclaim::protect`].
    fn swap<T>(&self, ptr: &AtomicPtr<T>, new: *mut T, order: Ordering) -> *mut T;

    /// Drops one strong reference to `ptr`'s `Arc` once no guard active now
    /// (this one included) is left.
    ///
    /// # Safety
    /// `ptr` came from [`Arc::into_raw`], the caller owns the reference
    /// being retired, and no slot can hand `ptr` out any more (it was
    /// unlinked before this call). `T: Send + Sync`: the reference may be
    /// dropped on any thread.
    unsafe fn retire<T: Send + Sync>(&self, ptr: *mut T);
}

/// seize's guards: the loads and exchanges go through seize's own methods,
/// which strengthen the orderings as its barrier pairing requires.
#[cfg(not(storelab_loom))]
impl<G: seize::Guard> Reclaim for G {
    #[inline]
    fn protect<T>(&self, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T {
        seize::Guard::protect(self, ptr, order)
    }

    #[inline]
    fn compare_exchange<T>(
        &self,
        ptr: &AtomicPtr<T>,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T> {
        seize::Guard::compare_exchange(self, ptr, current, new, success, failure)
    }

    #[inline]
    fn swap<T>(&self, ptr: &AtomicPtr<T>, new: *mut T, order: Ordering) -> *mut T {
        seize::Guard::swap(self, ptr, new, order)
    }

    #[inline]
    unsafe fn retire<T: Send + Sync>(&self, ptr: *mut T) {
        // SAFETY: the caller's promise is `defer_retire`'s: `ptr` is
        // unreachable for a guard entered from now on, and `drop_arc` is
        // the right reclaimer for a pointer from `Arc::into_raw`. Deferred,
        // not `Collector::retire`: seize then also waits for this guard.
        unsafe { seize::Guard::defer_retire(self, ptr, drop_arc::<T>) }
    }
}

/// seize's reclaimer for a retired slot reference.
///
/// # Safety
/// `ptr` came from [`Arc::into_raw`] and the reference is the caller's.
#[cfg(not(storelab_loom))]
unsafe fn drop_arc<T>(ptr: *mut T, _collector: &seize::Collector) {
    // SAFETY: the caller's promise; seize calls this once per retirement,
    // after every guard that could see `ptr` has dropped.
    drop(unsafe { Arc::from_raw(ptr.cast_const()) });
}

/// A pointer to an `Arc<T>`'s contents (from [`Arc::into_raw`]), or null.
/// The slot owns one strong reference to what it points at. `T: Send +
/// Sync` because readers on any thread see it, and the reclaimer may drop
/// it on any thread.
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

    /// Installs `value` in a slot that nobody else writes yet (the slot of
    /// a freshly issued id): a plain Release store, no compare-exchange and
    /// no guard, since no other writer can be there and nothing is loaded.
    /// Were the slot not empty, its old reference would leak (sound).
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

    /// The current version, in place. The reference cannot outlive the
    /// guard (so its version is not reclaimed) nor the slot (so `Drop` does
    /// not free it).
    #[inline]
    pub fn load<'a, G: Reclaim>(&'a self, guard: &'a G) -> Option<&'a T> {
        let p = guard.protect(&self.ptr, observe());
        // SAFETY: a non-null pointer came from `Arc::into_raw` of a value
        // built before the Release of `publish`, which this Acquire load
        // synchronizes with. The slot's strong reference to it is dropped
        // either by `retire` (not before `guard`, active at this load, is
        // dropped) or by `Drop` (which needs `&mut self`, impossible while
        // `'a` borrows the slot).
        unsafe { p.as_ref() }
    }

    /// The current version, as a new strong reference.
    #[inline]
    pub fn get<G: Reclaim>(&self, guard: &G) -> Option<Arc<T>> {
        let value = self.load(guard)?;
        let p: *const T = value;
        // SAFETY: `p` came from `Arc::into_raw` and its count is at least
        // one while `guard` lives (see `load`), so adding a reference and
        // adopting it is sound.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    }

    /// Replaces the current version with `f(current)`, atomically: a
    /// compare-exchange loop against the version patched, so two concurrent
    /// updates never lose one another and an update never resurrects a
    /// deleted value (its exchange fails against null). The unlinked
    /// version is retired through `guard`. Returns the new version, or
    /// `None` if the slot is empty.
    pub fn update<G: Reclaim>(&self, guard: &G, f: impl Fn(&T) -> T) -> Option<Arc<T>> {
        let mut current = guard.protect(&self.ptr, observe());
        loop {
            // SAFETY: as in `load`: published (Acquire, here or in the
            // failed exchange below), and not reclaimed while `guard` lives.
            let old = unsafe { current.as_ref() }?;
            let next = Arc::new(f(old));
            // The slot's reference exists before the pointer is shared: a
            // writer may unlink and retire it the moment it is installed.
            let raw = Arc::into_raw(next.clone()).cast_mut();
            // Success: Release publishes `next`'s construction. Failure:
            // Acquire, since the next round patches the version it read.
            match guard.compare_exchange(&self.ptr, current, raw, publish(), observe()) {
                Ok(unlinked) => {
                    // SAFETY: the exchange unlinked `unlinked` (non-null: it
                    // is `current`), and only this thread's exchange did, so
                    // this thread now owns the slot's reference to it.
                    unsafe { guard.retire(unlinked) };
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

    /// Empties the slot; returns what it held, whose slot reference is
    /// retired through `guard`.
    pub fn take<G: Reclaim>(&self, guard: &G) -> Option<Arc<T>> {
        // Relaxed: only decides whether to write at all, so a miss leaves
        // the slot's cache line unwritten. A create that returned before
        // this delete began happened before this load, which sees it.
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: the caller gets the version, and looks at it.
        let unlinked = guard.swap(&self.ptr, std::ptr::null_mut(), observe());
        if unlinked.is_null() {
            return None;
        }
        // SAFETY: the swap unlinked it and gave this thread the slot's
        // reference. Readers that loaded it before the swap may still look
        // or clone, so the caller gets a reference of its own (the count is
        // at least one: the slot's, not yet retired) and the slot's is
        // retired, not dropped.
        unsafe {
            Arc::increment_strong_count(unlinked);
            let gone = Arc::from_raw(unlinked);
            guard.retire(unlinked);
            Some(gone)
        }
    }
}

impl<T: Send + Sync> Drop for Slot<T> {
    fn drop(&mut self) {
        // `&mut self`: no reader can hold a reference into this slot (see
        // `load`), so the slot's reference is dropped at once. Relaxed: the
        // owner of `&mut` already synchronized with every writer.
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::Relaxed);
        if !p.is_null() {
            // SAFETY: the slot owned this reference, and nothing can reach
            // it through the slot any more.
            drop(unsafe { Arc::from_raw(p.cast_const()) });
        }
    }
}

#[cfg(all(test, storelab_loom))]
mod model;
