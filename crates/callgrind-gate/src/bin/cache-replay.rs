//! `cache-replay STORE TASKS OPS`: builds the catalog's STORE, creates TASKS
//! tasks, then runs OPS gets of scattered existing ids on this one thread,
//! and prints a checksum.
//!
//! Meant to run under valgrind's cachegrind (`scripts/cache-replay`), which
//! counts the program's simulated D1 and last-level cache misses. The
//! valgrind 3.19 that Debian 12 ships cannot switch counting on and off from
//! inside the program (that came in 3.22, and gungraun's cachegrind mode
//! needs it), so the script runs this twice, with OPS and with 0, and takes
//! the difference: the gets' own misses. The prefill is the same in both
//! runs, so it cancels.
//!
//! Any catalog line works (the lines come from `for_each_store!`), threads
//! included: valgrind runs one thread at a time, so for a store that hands
//! each get to another thread (`channel`, `actor`) the counts include that
//! thread's work in the same simulated cache, which is what the log's claim
//! is about (the extra memory each hop touches), not the cost of moving a
//! line between cores, which a one-cache simulator cannot show.

use std::hint::black_box;
use std::process::ExitCode;

use task_model::{TaskId, TaskStore};

/// Prefills `store` with `tasks` tasks and reads `ops` scattered ones.
fn replay<S: TaskStore>(store: S, tasks: u64, ops: u64) -> u64 {
    for i in 1..=tasks {
        store.create(callgrind_gate::draft(i));
    }
    let mut sum = 0u64;
    for k in 0..ops {
        // A multiplicative walk over the ids: each get lands far from the
        // last, as the seed workload's scrambled keys do.
        let id = TaskId(1 + k.wrapping_mul(7_919) % tasks);
        sum = sum.wrapping_add(store.get(black_box(id)).map_or(0, |t| t.id.get()));
    }
    sum
}

macro_rules! dispatch {
    ($( $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; )*) => {
        /// Runs the replay on the store named `name`, if the catalog has it.
        fn run(name: &str, tasks: u64, ops: u64) -> Option<u64> {
            match name {
                $( $name => {
                    let make: fn(usize) -> $ty = $ctor;
                    Some(replay(make(tasks as usize), tasks, ops))
                } )*
                _ => None,
            }
        }

        /// Every name `run` knows.
        const NAMES: &[&str] = &[$($name),*];
    };
}

store_catalog::for_each_store!(dispatch);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cache-replay STORE TASKS OPS";
    let [store, tasks, ops] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let (Ok(tasks), Ok(ops)) = (tasks.parse::<u64>(), ops.parse::<u64>()) else {
        eprintln!("cache-replay: TASKS and OPS are whole numbers; {usage}");
        return ExitCode::from(2);
    };
    if tasks == 0 {
        eprintln!("cache-replay: TASKS must be at least 1");
        return ExitCode::from(2);
    }
    match run(store, tasks, ops) {
        Some(sum) => {
            println!("{sum}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "cache-replay: no store '{store}'; the catalog has: {}",
                NAMES.join(", ")
            );
            ExitCode::from(2)
        }
    }
}
