//! The counting allocator, installed for real in a test binary of its own
//! (no other test may allocate while these run, so there is only one test).

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};

use bench_harness::measure::alloc::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn counts_are_exact_on_this_thread_and_on_others() {
    // Warm up: register this thread's block and let the test harness settle.
    drop(black_box(Box::new(0u8)));
    assert!(alloc::is_installed());

    // Counting off: nothing is counted.
    let before = alloc::totals();
    drop(black_box(vec![0u8; 100]));
    assert_eq!(alloc::totals().since(before), alloc::Totals::default());

    // This thread: three boxes of 16 bytes and one 100-byte vector.
    let ((), counts) = alloc::counted(|| {
        let a = black_box(Box::new([0u64; 2]));
        let b = black_box(Box::new([0u64; 2]));
        let c = black_box(Box::new([0u64; 2]));
        let v = black_box(Vec::<u8>::with_capacity(100));
        drop((a, b, c, v));
    });
    assert_eq!(counts.allocs, 4);
    assert_eq!(counts.alloc_bytes, 3 * 16 + 100);
    assert_eq!(counts.frees, 4);
    assert_eq!(counts.live_bytes(), 0);

    // Another thread, started before counting, allocating while counting:
    // its allocations count too, and only them.
    let ready = Barrier::new(2);
    let go = Barrier::new(2);
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Register this thread's block before counting starts.
            drop(black_box(Box::new(1u8)));
            ready.wait();
            go.wait();
            let kept: Vec<Box<[u8; 40]>> = Vec::with_capacity(5);
            let mut kept = black_box(kept);
            for _ in 0..5 {
                kept.push(black_box(Box::new([0u8; 40])));
            }
            std::mem::forget(kept);
            finished.store(true, Ordering::Release);
            // Wait here so the thread's exit is outside the window.
            go.wait();
        });
        ready.wait();
        alloc::set_counting(true);
        let before = alloc::totals();
        go.wait();
        while !finished.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let counts = alloc::totals().since(before);
        alloc::set_counting(false);
        go.wait();
        // One Vec buffer of 5 pointers, five 40-byte boxes, nothing freed.
        assert_eq!(counts.allocs, 6);
        assert_eq!(counts.alloc_bytes, 5 * 8 + 5 * 40);
        assert_eq!(counts.frees, 0);
    });

    // Realloc counts as a new allocation plus a free of the old one.
    let mut v: Vec<u8> = Vec::with_capacity(8);
    let ((), counts) = alloc::counted(|| {
        v.reserve_exact(64);
    });
    assert_eq!((counts.allocs, counts.frees), (1, 1));
    assert_eq!((counts.alloc_bytes, counts.free_bytes), (64, 8));
    drop(v);
}
