//! Small run files for the tests of the crates that read them.

use crate::{Cell, Family, Machine, RunFile, SCHEMA, Sample, StoreInfo};
use workload::{HotKeys, KeyDist, Mix, ReadMode, Workload};

pub fn cell(store: &str, ns: &[f64]) -> Cell {
    Cell {
        store: store.into(),
        threads: 1,
        ops_per_thread: 1,
        samples: ns
            .iter()
            .enumerate()
            .map(|(rep, ns)| Sample {
                rep,
                wall_ns: *ns as u64,
                total_ops: 1,
                ns_per_op: *ns,
                ops_per_sec: 1e9 / ns,
                per_thread_ns_per_op: vec![*ns],
                per_thread_ops: vec![1],
                http: None,
            })
            .collect(),
        bytes_per_op: 0.0,
        allocs_per_op: 0.0,
        alloc_ops: 1,
        latency: vec![],
        latency_every: 1,
        misses: 0,
        too_short: false,
    }
}

pub fn file(cells: Vec<Cell>) -> RunFile {
    RunFile {
        schema: SCHEMA.into(),
        machine: Machine {
            cpu_model: "test".into(),
            cores: 2,
            os: "test".into(),
            kernel: "test".into(),
            rustc: "test".into(),
            git_commit: "0".into(),
            git_dirty: false,
            date: "2026-11-25".into(),
            command: "test".into(),
            ..Machine::default()
        },
        preset: None,
        workload: Workload {
            capacity: None,
            keys: 10,
            dist: KeyDist::SEED,
            hot_keys: HotKeys::Scrambled,
            mix: Mix::SEED,
            seed: 1,
            stream_len: 16,
        },
        read_mode: ReadMode::Clone,
        zipf_s: None,
        hot20_share: 0.8,
        reps: 6,
        rep_seconds: None,
        warmup_pct: 10,
        order: "shuffled".into(),
        timer_cost_ns: 20.0,
        stores: cells
            .iter()
            .map(|c| StoreInfo {
                name: c.store.clone(),
                about: String::new(),
                family: Family::Log,
                heap_bytes_per_task: None,
                memory: None,
                shard_imbalance: None,
                walk_ns: None,
            })
            .collect(),
        cells,
    }
}
