//! `cargo bench -p store-limits`: the `unsync` floor's single-thread
//! benches. (Its parallel benches are skipped: it is single-threaded by
//! contract, so they would be undefined behaviour.)

fn main() {
    let mut c = criterion::Criterion::default().configure_from_args();
    criterion_kit::single_thread_benches(&mut c, "unsync", |capacity| {
        // SAFETY: single_thread_benches calls the store from one thread only.
        unsafe { store_limits::UnsyncStore::with_capacity(capacity) }
    });
    c.final_summary();
}
