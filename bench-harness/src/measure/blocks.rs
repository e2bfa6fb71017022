//! The counting allocator's registry of per-thread counter blocks: a
//! push-only, lock-free list (a Treiber stack that never pops).
//!
//! The list is written once, as a macro over an atomics module, and
//! instantiated twice: with `std` atomics for the allocator, and, in tests,
//! with loom's, so the model checker explores every interleaving of the very
//! code the allocator runs.
//!
//! The protocol: a new block is fully initialized (its `next` included)
//! before a Release compare-exchange publishes it as the head; a reader's
//! Acquire load of the head therefore sees the block's initialization, and,
//! because every push is a read-modify-write that continues the release
//! sequence, the initialization of every block behind it too. Blocks are
//! never removed or freed while the list lives, so a reader never follows a
//! dangling pointer. Counters are written only by their owning thread;
//! readers load them Relaxed, as a sum of independent counters needs.

macro_rules! block_list {
    ($($atomic:ident)::+ $(, $konst:ident)?) => {
        use crossbeam_utils::CachePadded;
        use $($atomic)::+::{AtomicPtr, AtomicU64, Ordering};

        /// Counts kept per thread. Only the owning thread writes.
        pub struct Block {
            pub allocs: AtomicU64,
            pub alloc_bytes: AtomicU64,
            pub frees: AtomicU64,
            pub free_bytes: AtomicU64,
            /// The most this thread's own allocations minus its own frees
            /// ever reached (bytes): the peak heap of work done on one thread.
            pub peak_live: AtomicU64,
            next: AtomicPtr<CachePadded<Block>>,
        }

        impl Block {
            /// A block with every count at zero.
            pub fn new() -> Block {
                Block {
                    allocs: AtomicU64::new(0),
                    alloc_bytes: AtomicU64::new(0),
                    frees: AtomicU64::new(0),
                    free_bytes: AtomicU64::new(0),
                    peak_live: AtomicU64::new(0),
                    next: AtomicPtr::new(std::ptr::null_mut()),
                }
            }

            /// Adds to one counter pair; call only from the block's owner.
            #[inline]
            pub fn add(n: &AtomicU64, bytes: &AtomicU64, size: u64) {
                // Only the owner writes, so a load and a store suffice (no
                // read-modify-write); Relaxed, since readers only need each
                // counter's own value, and a reader's later sum is ordered
                // by whatever told it the work was done (a join, a barrier).
                n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                bytes.store(bytes.load(Ordering::Relaxed) + size, Ordering::Relaxed);
            }

            /// After an allocation: raises the peak if this thread's own
            /// live bytes are at a new high. Owner only, as [`Block::add`].
            #[inline]
            pub fn raise_peak(&self) {
                let live = self
                    .alloc_bytes
                    .load(Ordering::Relaxed)
                    .saturating_sub(self.free_bytes.load(Ordering::Relaxed));
                if live > self.peak_live.load(Ordering::Relaxed) {
                    self.peak_live.store(live, Ordering::Relaxed);
                }
            }
        }

        impl Default for Block {
            fn default() -> Block {
                Block::new()
            }
        }

        impl Default for List {
            fn default() -> List {
                List::new()
            }
        }

        /// The list of every block ever registered.
        pub struct List {
            head: AtomicPtr<CachePadded<Block>>,
        }

        impl List {
            /// An empty list.
            pub $($konst)? fn new() -> List {
                List {
                    head: AtomicPtr::new(std::ptr::null_mut()),
                }
            }

            /// Publishes `block` at the head.
            ///
            /// # Safety
            /// `block` points to an initialized block that no other thread
            /// can see yet and that stays allocated for as long as the list
            /// is read.
            pub unsafe fn push(&self, block: *mut CachePadded<Block>) {
                let mut head = self.head.load(Ordering::Relaxed);
                loop {
                    // SAFETY: the caller guarantees the block is valid and not
                    // yet shared; its `next` is an atomic, so this store
                    // races with nothing.
                    unsafe { &*block }.next.store(head, Ordering::Relaxed);
                    // Release publishes the block (and its `next`) to readers
                    // that load the head with Acquire.
                    match self.head.compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed) {
                        Ok(_) => return,
                        Err(now) => head = now,
                    }
                }
            }

            /// Calls `f` on every block, newest first.
            pub fn for_each(&self, mut f: impl FnMut(&Block)) {
                // Acquire pairs with the Release in `push`.
                let mut at = self.head.load(Ordering::Acquire);
                while !at.is_null() {
                    // SAFETY: published blocks are initialized (see `push`)
                    // and never freed while the list is read.
                    let block = unsafe { &*at };
                    f(block);
                    at = block.next.load(Ordering::Relaxed);
                }
            }
        }
    };
}

/// The list the allocator uses.
pub mod real {
    block_list!(std::sync::atomic, const);
}

#[cfg(test)]
mod model {
    block_list!(loom::sync::atomic);

    /// Two threads register a block and count into it while a third walks
    /// the list: every interleaving must show only initialized blocks and
    /// counts that some owner wrote, and the final walk must see both.
    /// (Interleavings with up to 3 preemptions: the exhaustive space takes
    /// minutes; bugs of this size show within 2-3 preemptions.)
    #[test]
    fn concurrent_registration_and_walks_are_sound() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let list = loom::sync::Arc::new(List::new());
            let pushers: Vec<_> = (0..2)
                .map(|_| {
                    let list = list.clone();
                    loom::thread::spawn(move || {
                        let block = Box::into_raw(Box::new(CachePadded::new(Block::new())));
                        // SAFETY: fresh, unshared, freed only after every
                        // thread of the model has joined.
                        unsafe { list.push(block) };
                        // SAFETY: the block outlives this thread (see above).
                        let mine = unsafe { &*block };
                        Block::add(&mine.allocs, &mine.alloc_bytes, 16);
                        mine.raise_peak();
                        block as usize
                    })
                })
                .collect();
            let walker = {
                let list = list.clone();
                loom::thread::spawn(move || {
                    let mut seen = 0;
                    list.for_each(|b| {
                        seen += 1;
                        let allocs = b.allocs.load(Ordering::Relaxed);
                        let bytes = b.alloc_bytes.load(Ordering::Relaxed);
                        assert!(allocs <= 1 && bytes <= 16, "a count no owner wrote");
                        assert_eq!(b.frees.load(Ordering::Relaxed), 0);
                        assert_eq!(b.free_bytes.load(Ordering::Relaxed), 0);
                        assert!(
                            b.peak_live.load(Ordering::Relaxed) <= 16,
                            "a peak no owner wrote"
                        );
                    });
                    assert!(seen <= 2);
                })
            };
            let blocks: Vec<usize> = pushers
                .into_iter()
                .map(|h| h.join().expect("pusher"))
                .collect();
            walker.join().expect("walker");
            let (mut seen, mut allocs) = (0, 0);
            list.for_each(|b| {
                seen += 1;
                allocs += b.allocs.load(Ordering::Relaxed);
            });
            assert_eq!(
                (seen, allocs),
                (2, 2),
                "after the joins the walk sees both blocks and both counts"
            );
            for b in blocks {
                // SAFETY: every thread has joined; nothing reads the list now.
                drop(unsafe { Box::from_raw(b as *mut CachePadded<Block>) });
            }
        });
    }
}
