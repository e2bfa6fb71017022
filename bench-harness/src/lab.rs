//! A whole run, as a pipeline of phases in the order the data flows. Each
//! phase is a module that owns its state and hands a value to the next:
//!
//! | phase | module | takes | hands on |
//! |---|---|---|---|
//! | 0. plan | [`crate::plan`] | the options | a checked [`Plan`] |
//! | 1. cells' stores | `cells` | entries | stores built, prefilled, live key spaces made |
//! | 2-3. timed rounds | `rounds` | the stores | each cell's operation count and samples |
//! | 4-5. passes, audit | `passes`, `audit` | the timed cells | the run file's cells (allocations, latency; each store audited) |
//! | 6. memory | `memory` | the stores | heap per task over a fresh store's life |
//!
//! Every phase drives stores through [`Bench`](crate::Bench)
//! (`bench`), whose loops live in `drive` (the timed loop,
//! monomorphized per store) and `live` (the live key space).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use storelab_results::{Machine, RunFile, SCHEMA};

use crate::drive::timer_cost_ns;
use crate::{EngineError, Entry, Plan, cells, memory, passes, rounds};

/// Runs the plan over `entries`: each phase takes what the one before it
/// handed over, and the last hands back the run file. A plan no run can
/// honour is refused before anything is built ([`EngineError::Plan`]); a
/// store that breaks its contract stops the run ([`EngineError::Store`]).
pub fn run(plan: &Plan, entries: Vec<Entry>) -> Result<RunFile, EngineError> {
    plan.validate(&entries).map_err(EngineError::Plan)?;
    let generated = plan.workload.generate(plan.max_threads());
    let streams = &generated.streams;
    let timer_ns = timer_cost_ns();
    let bar = progress_bar(plan.progress, plan.steps(&entries));

    // Past the plan, every error is a store's (its prefill, a repetition's
    // check, the audit, the memory phase's churn).
    let mut stores = cells::prepare(plan, entries, streams, &bar).map_err(EngineError::Store)?;
    let timed = rounds::run(plan, &stores, streams, &bar).map_err(EngineError::Store)?;
    let cells = passes::run(plan, &mut stores, timed, streams, &bar).map_err(EngineError::Store)?;
    memory::run(plan, &mut stores, &bar).map_err(EngineError::Store)?;
    bar.finish_and_clear();

    Ok(RunFile {
        schema: SCHEMA.into(),
        machine: Machine::current(),
        preset: plan.preset.clone(),
        workload: plan.workload.clone(),
        read_mode: plan.read_mode,
        zipf_s: generated.zipf_s,
        hot20_share: generated.hot20_share,
        reps: plan.reps,
        rep_seconds: plan.ops.is_none().then_some(plan.rep_time.as_secs_f64()),
        warmup_pct: plan.warmup_pct,
        order: plan.order.name().into(),
        timer_cost_ns: timer_ns,
        cells,
        stores: stores.into_iter().map(|s| s.info).collect(),
    })
}

fn progress_bar(show: bool, steps: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(steps),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use store_memory::MemoryStore;
    use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskPatch, TaskStore};

    use super::*;

    /// The message of a run that a store's fault stopped.
    fn store_error(run: Result<RunFile, EngineError>, why: &str) -> String {
        match run {
            Err(EngineError::Store(e)) => e,
            Err(EngineError::Plan(e)) => {
                panic!("{why}: refused as a bad plan, not a store's fault: {e}")
            }
            Ok(_) => panic!("{why}"),
        }
    }

    /// The message of a plan the engine refused.
    fn plan_error(run: Result<RunFile, EngineError>, why: &str) -> String {
        match run {
            Err(EngineError::Plan(e)) => e,
            Err(EngineError::Store(e)) => panic!("{why}: a store's fault, not a bad plan: {e}"),
            Ok(_) => panic!("{why}"),
        }
    }
    use crate::Family;
    use crate::bench::{Bench, bench};
    use crate::plan::{MIN_RAREST_OPS, Order};
    use std::time::Duration;
    use task_model::TaskId;
    use workload::{HotKeys, KeyDist, Mix};
    use workload::{ReadMode, Workload};

    /// A store that answers reads of even ids with the wrong task, or not at all.
    struct Liar {
        inner: MemoryStore,
        lose: bool,
    }

    impl TaskStore for Liar {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.inner.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            match (id.get().is_multiple_of(2), self.lose) {
                (true, true) => None,
                (true, false) => self.inner.get(TaskId(1)),
                _ => self.inner.get(id),
            }
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.inner.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.inner.get_all()
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    fn plan() -> Plan {
        Plan {
            preset: None,
            workload: Workload {
                capacity: None,
                keys: 1_000,
                dist: KeyDist::Uniform,
                hot_keys: HotKeys::Scrambled,
                mix: Mix::SEED,
                seed: 1,
                stream_len: 1 << 10,
            },
            threads: vec![1],
            reps: 2,
            ops: Some(500),
            rep_time: Duration::from_millis(1),
            read_mode: ReadMode::Clone,
            warmup_pct: 10,
            order: Order::Shuffled,
            progress: false,
            fresh: false,
        }
    }

    fn entry(name: &'static str, build: fn(usize) -> Box<dyn Bench>) -> Entry {
        Entry::new(name, Family::Log, "test store", build)
    }

    #[test]
    fn a_store_returning_wrong_tasks_aborts_the_run() {
        let wrong = entry("liar", |c| {
            bench(Liar {
                inner: MemoryStore::with_capacity(c),
                lose: false,
            })
            .boxed()
        });
        let err = store_error(run(&plan(), vec![wrong]), "wrong reads must abort");
        assert!(err.contains("returned the wrong task"), "{err}");
    }

    #[test]
    fn a_store_losing_tasks_aborts_the_run_unless_the_mix_deletes() {
        let lossy = || {
            entry("loser", |c| {
                bench(Liar {
                    inner: MemoryStore::with_capacity(c),
                    lose: true,
                })
                .boxed()
            })
        };
        let err = store_error(run(&plan(), vec![lossy()]), "misses must abort");
        assert!(err.contains("found nothing"), "{err}");
        // Where the mix deletes, misses are expected during the run, but the
        // post-run audit still finds the tasks that nothing deleted missing.
        let mut deleting = plan();
        deleting.workload.mix = "read=90,delete=10".parse().expect("valid mix");
        let err = store_error(run(&deleting, vec![lossy()]), "the audit finds lost tasks");
        assert!(
            err.contains("post-run audit") && err.contains("cannot be read"),
            "{err}"
        );
    }

    #[test]
    fn an_honest_store_runs_with_fixed_ops() {
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&plan(), vec![honest]).expect("runs");
        let cell = &file.cells[0];
        assert_eq!(cell.ops_per_thread, 500);
        assert_eq!(cell.samples.len(), 2);
        assert_eq!(cell.misses, 0);
    }

    /// A store that starves one caller: threads take a ticket on their first
    /// read or update (the harness starts fresh threads for every
    /// repetition, two at a time here), and every operation of a thread with
    /// an even ticket sleeps. So in each repetition one thread is slow.
    struct Starver {
        inner: MemoryStore,
        tickets: std::sync::atomic::AtomicUsize,
    }

    thread_local! {
        static TICKET: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }

    impl Starver {
        fn slow(&self) {
            let ticket = TICKET.with(|t| match t.get() {
                Some(n) => n,
                None => {
                    let n = self
                        .tickets
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    t.set(Some(n));
                    n
                }
            });
            if ticket.is_multiple_of(2) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    impl TaskStore for Starver {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.inner.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            self.slow();
            self.inner.get(id)
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.slow();
            self.inner.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.inner.get_all()
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    #[test]
    fn a_starved_thread_takes_less_work_and_the_cell_is_flagged_unfair() {
        // Prefill only creates, which never sleeps.
        let starved = entry("starver", |c| {
            bench(Starver {
                inner: MemoryStore::with_capacity(c),
                tickets: std::sync::atomic::AtomicUsize::new(0),
            })
            .boxed()
        });
        let mut p = plan();
        p.threads = vec![2];
        p.ops = Some(200);
        let file = run(&p, vec![starved]).expect("runs");
        let cell = &file.cells[0];
        for s in &cell.samples {
            assert_eq!(
                s.total_ops, 400,
                "the shared counter hands out exactly n x threads"
            );
            assert_eq!(s.per_thread_ops.iter().sum::<u64>(), 400);
            let (a, b) = (s.per_thread_ops[0], s.per_thread_ops[1]);
            assert!(a != b, "one thread sleeps per operation, yet both ran {a}");
        }
        assert!(cell.unfair(), "fairness {:?}", cell.fairness());
    }

    #[test]
    fn orders_are_permutations_and_the_shuffle_is_seeded() {
        for order in [Order::Shuffled, Order::Fixed, Order::Reversed] {
            let mut v = order.arrange(23, 7, 3);
            v.sort_unstable();
            assert_eq!(v, (0..23).collect::<Vec<_>>());
        }
        assert_eq!(
            Order::Shuffled.arrange(23, 7, 3),
            Order::Shuffled.arrange(23, 7, 3)
        );
        assert_ne!(
            Order::Shuffled.arrange(23, 7, 3),
            Order::Shuffled.arrange(23, 7, 4)
        );
        assert_eq!(Order::Reversed.arrange(3, 1, 0), [2, 1, 0]);
    }

    #[test]
    fn a_rare_operation_sets_the_length_of_a_repetition() {
        let mut p = plan();
        p.workload.mix = "read=99,get_all=1".parse().expect("valid mix");
        assert_eq!(p.rarest_floor(), MIN_RAREST_OPS * 100);
        p.ops = Some(50);
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("runs");
        assert!(file.cells[0].too_short, "50 ops hold no get_all on average");
        p.ops = None;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("runs");
        assert!(!file.cells[0].too_short && file.cells[0].ops_per_thread >= 1000);
    }

    /// How a store lies after the fact, for the post-run audit.
    #[derive(Clone, Copy)]
    enum Lie {
        /// Serves the first version it ever stored of each task.
        Stale,
        /// Returns the patched task from update but keeps the old one.
        DropsUpdates,
        /// get_all and snapshot leave out the last task.
        TruncatedGetAll,
    }

    struct AfterTheFact {
        inner: MemoryStore,
        first: std::sync::Mutex<std::collections::HashMap<TaskId, Arc<Task>>>,
        lie: Lie,
    }

    impl TaskStore for AfterTheFact {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            let t = self.inner.create(draft);
            if let Ok(mut first) = self.first.lock() {
                first.insert(t.id, Arc::clone(&t));
            }
            t
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            match self.lie {
                Lie::Stale => self.first.lock().ok()?.get(&id).cloned(),
                _ => self.inner.get(id),
            }
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            match self.lie {
                Lie::DropsUpdates => self.inner.get(id).map(|t| Arc::new(t.patched(&patch))),
                _ => self.inner.update(id, patch),
            }
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            let mut all = self.inner.get_all();
            if matches!(self.lie, Lie::TruncatedGetAll) {
                all.pop();
            }
            all
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    fn liar(lie: Lie) -> Entry {
        let build: fn(usize) -> Box<dyn Bench> = match lie {
            Lie::Stale => |c| bench(after_the_fact(c, Lie::Stale)).boxed(),
            Lie::DropsUpdates => |c| bench(after_the_fact(c, Lie::DropsUpdates)).boxed(),
            Lie::TruncatedGetAll => |c| bench(after_the_fact(c, Lie::TruncatedGetAll)).boxed(),
        };
        entry("after-the-fact", build)
    }

    fn after_the_fact(c: usize, lie: Lie) -> AfterTheFact {
        AfterTheFact {
            inner: MemoryStore::with_capacity(c),
            first: std::sync::Mutex::new(std::collections::HashMap::new()),
            lie,
        }
    }

    #[test]
    fn the_post_run_audit_catches_stores_that_lie_after_the_fact() {
        for (lie, needle) in [
            (Lie::Stale, "the update was lost or the read is stale"),
            (
                Lie::DropsUpdates,
                "the update was lost or the read is stale",
            ),
            (Lie::TruncatedGetAll, "get_all lists"),
        ] {
            let err = store_error(run(&plan(), vec![liar(lie)]), "a liar must fail the audit");
            assert!(
                err.contains("failed the post-run audit") && err.contains(needle),
                "{err}"
            );
        }
    }

    #[test]
    fn a_live_key_space_reads_only_live_tasks_and_audits_the_count() {
        // Deletes outrun creates: under a fixed key space reads would drift
        // into misses; in the live one, on one thread, none misses.
        let mut p = plan();
        p.workload.mix = "read=50,update=20,create=10,delete=20"
            .parse()
            .expect("valid mix");
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("an honest store passes");
        assert_eq!(file.cells[0].misses, 0, "every keyed op found a live task");
        // Two threads: the lanes never delete the same task, so deletes
        // never miss; reads may only race (counted, not fatal).
        p.threads = vec![1, 2];
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        run(&p, vec![honest]).expect("an honest store passes on two threads");
    }

    /// Deletes report success but keep the task.
    struct Hoarder(MemoryStore);

    impl TaskStore for Hoarder {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.0.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            self.0.get(id)
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.0.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.0.get(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.0.get_all()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn a_store_that_keeps_deleted_tasks_fails_the_live_audit() {
        let mut p = plan();
        p.workload.mix = "read=80,create=10,delete=10".parse().expect("valid mix");
        let hoarder = entry("hoarder", |c| {
            bench(Hoarder(MemoryStore::with_capacity(c))).boxed()
        });
        let err = store_error(run(&p, vec![hoarder]), "a hoarder must fail");
        assert!(err.contains("were created and not deleted"), "{err}");
    }

    #[test]
    fn a_drained_lane_counts_its_deletes_as_misses() {
        let mut p = plan();
        p.workload.keys = 10;
        p.workload.mix = "delete=100".parse().expect("valid mix");
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("draining is not an error");
        assert!(file.cells[0].misses > 0);
    }

    #[test]
    fn fresh_stores_start_from_the_prefill_every_repetition() {
        // Growth: no prefill, creates only; every repetition creates the
        // same count on a new store, so ids restart and nothing piles up.
        let mut p = plan();
        p.workload.keys = 0;
        p.workload.capacity = Some(0);
        p.workload.mix = "create=100".parse().expect("valid mix");
        p.fresh = true;
        p.ops = Some(300);
        p.threads = vec![1, 2];
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("growth runs");
        for cell in &file.cells {
            assert_eq!(cell.ops_per_thread, 300 / cell.threads as u64);
            for s in &cell.samples {
                assert_eq!(s.total_ops, 300, "the whole repetition, split over threads");
            }
        }
        let mut keyed = p.clone();
        keyed.workload.mix = Mix::SEED;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let err = plan_error(run(&keyed, vec![honest]), "reads need tasks");
        assert!(err.contains("--keys 0"), "{err}");
        p.ops = None;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        plan_error(run(&p, vec![honest]), "fresh stores need --ops");
    }
}
