//! Phase 1, the cells' stores: every store built pre-sized, prefilled with
//! tasks `1..=keys` (the ids checked), and in a mix that creates or deletes
//! given its live key space (`crate::live`). Hands the next phases one
//! [`Prepared`] store per entry, all alive at once so that repetitions can
//! interleave across them, with what the prefill measured: heap bytes per
//! task and, for sharded stores, the busiest shard's share.
//!
//! Fresh-store runs (`Plan::fresh`) come back here for every repetition and
//! pass, through [`build_filled`].

use indicatif::ProgressBar;
use task_model::{NewTask, TaskDraft, TaskId, Timestamp};

use storelab_results::{Imbalance, StoreInfo};
use workload::OpKind;

use crate::bench::Bench;
use crate::measure::alloc;
use crate::{Entry, Plan};

/// A store built and prefilled, kept alive for the whole run.
pub(crate) struct Prepared {
    pub(crate) entry: Entry,
    pub(crate) bench: Box<dyn Bench>,
    /// What the run file says of the store; later phases add the get_all
    /// floor and the memory phase's figures.
    pub(crate) info: StoreInfo,
}

/// Builds and prefills every store, in the plan's order; all stay alive so
/// repetitions can be interleaved across them. Returns them in catalog
/// order.
pub(crate) fn prepare(
    plan: &Plan,
    entries: Vec<Entry>,
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<Prepared>, String> {
    let order = plan
        .order
        .arrange(entries.len(), plan.workload.seed, usize::MAX);
    let mut slots: Vec<Option<Prepared>> = entries.iter().map(|_| None).collect();
    let mut entries: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    for i in order {
        let entry = entries[i].take().ok_or("a store listed twice")?;
        bar.set_message(format!("prefill {}", entry.name));
        slots[i] = Some(prefill_one(plan, entry, streams)?);
        bar.inc(1);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// A store built with the workload's capacity and prefilled; in a live mix
/// its lanes are made for the most threads of the plan.
pub(crate) fn build_filled(plan: &Plan, entry: &Entry) -> Result<Box<dyn Bench>, String> {
    let mut bench = build_prefilled(plan, entry)?;
    make_live(plan, bench.as_mut());
    Ok(bench)
}

/// A store built with the workload's capacity and prefilled.
fn build_prefilled(plan: &Plan, entry: &Entry) -> Result<Box<dyn Bench>, String> {
    let w = &plan.workload;
    let bench = (entry.build)(w.capacity.unwrap_or(w.keys) as usize);
    if !entry.stores_nothing {
        bench
            .prefill(w.keys)
            .map_err(|e| format!("{}: {e}", entry.name))?;
    }
    Ok(bench)
}

/// In a live mix, the store's lanes, for the most threads of the plan.
fn make_live(plan: &Plan, bench: &mut dyn Bench) {
    let w = &plan.workload;
    if w.mix.live() {
        let lanes = *plan.threads.iter().max().unwrap_or(&1);
        bench.go_live(w.keys, lanes, &w.mix);
    }
}

fn prefill_one(
    plan: &Plan,
    entry: Entry,
    streams: &[workload::Stream],
) -> Result<Prepared, String> {
    // Heap per task counts the store's construction (pre-sized maps,
    // chunks) and the prefill together: everything the tasks cost.
    // The lanes of a live mix are the harness's, made after counting.
    let (bench, counts) = alloc::counted(|| build_prefilled(plan, &entry));
    let mut bench = bench?;
    make_live(plan, bench.as_mut());
    let keys = plan.workload.keys;
    let heap = (alloc::is_installed() && !entry.stores_nothing && keys > 0)
        .then(|| counts.live_bytes() as f64 / f64::from(keys));
    let live = plan.workload.mix.live();
    let shard_imbalance = imbalance(
        bench.as_ref(),
        streams
            .iter()
            .flat_map(|s| s.ops())
            .filter(|o| o.kind.keyed() && !(live && o.kind == OpKind::Delete))
            // A live mix's offsets, on the window at the start.
            .map(|o| {
                if live {
                    keys.saturating_sub(o.id)
                } else {
                    o.id
                }
            }),
    );
    let info = StoreInfo {
        name: entry.name.into(),
        about: entry.about.into(),
        family: entry.family,
        heap_bytes_per_task: heap,
        memory: None,
        shard_imbalance,
        walk_ns: None,
    };
    Ok(Prepared { entry, bench, info })
}

/// Busiest shard's share of keyed operations over the mean share.
fn imbalance(bench: &dyn Bench, ids: impl Iterator<Item = u32>) -> Option<Imbalance> {
    let (_, shards) = bench.shard_of(TaskId(1))?;
    let mut counts = vec![0u64; shards];
    let mut total = 0u64;
    for id in ids {
        let (shard, _) = bench.shard_of(TaskId(u64::from(id)))?;
        counts[shard] += 1;
        total += 1;
    }
    let max = *counts.iter().max()?;
    (total > 0).then(|| Imbalance {
        shards,
        max_over_mean: max as f64 / (total as f64 / shards as f64),
    })
}

/// The description every prefilled task carries.
pub const PREFILL_DESCRIPTION: &str = "prefilled by storelab";

/// What the prefill sends for the task that will get id `id`: its own title
/// ("task {id}", which the audit checks) and the prefill's description.
pub(crate) fn prefill_draft(id: TaskId) -> TaskDraft {
    NewTask {
        title: format!("task {id}"),
        description: Some(PREFILL_DESCRIPTION.into()),
        completed: None,
    }
    .validate_at(Timestamp(1))
    .expect("a valid generated title")
}
