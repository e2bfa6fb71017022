//! "The log's claims, replayed": each claim of the decision log that this
//! machine can test, as one block (the claim and its figure, this lab's
//! figures, the command, a verdict by a stated rule).

use std::fmt::Write as _;

use crate::DecisionsError;
use crate::rules::{self, Outcome};
use crate::{Results, across_threads, block, command, judge, on_home, threads_of};

pub(crate) fn section_sharding(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shard", "memory")?;
    let (_, each) = judge(&vs, rules::faster);
    let top = vs.last().map(|(_, v)| v);
    let (direction, size) = top
        .map(|v| &v.paired)
        .map(|p| {
            rules::direction_only(
                p,
                "the log's 10.28 ns/op is RunParallel's wall time over about 14 goroutines, \
                 about 144 ns per goroutine, close to this lab's per-thread figures; its 15.2x \
                 needs a 14-core machine to test",
            )
        })
        .unwrap_or((
            Outcome::Untestable("no paired data".into()),
            Outcome::Untestable("no paired data".into()),
        ));
    let verdict = format!(
        "direction (faster at the most threads measured): {}; size (15.2x): {}. Per thread count, \
         \"shard is faster\": {each}. The claim is about reads; this is the 80/20 mix, and \
         the reads-only replay follows.",
        direction.label(),
        size.label()
    );
    Ok(block(
        "Sharding (ShardStore) made reads 15.2x faster than one RwLock (MemoryStore).",
        "(155.9 → 10.28 ns/op reads; 207.5 → 60.36 ns/op writes)",
        &lines,
        &command(file),
        &verdict,
    ))
}

/// The log's read-only and write-only figures, replayed on read=100 and
/// update=100 runs.
pub(crate) fn section_reads_writes(r: &mut Results) -> Result<String, DecisionsError> {
    let mut out = String::new();
    let claims: [(&str, &str, &str, f64, &str, &str); 6] = [
        (
            "reads.json",
            "shard",
            "memory",
            15.2,
            "Reads: ShardStore 15.2x faster than MemoryStore.",
            "(155.9 → 10.28 ns/op)",
        ),
        (
            "writes.json",
            "shard",
            "memory",
            207.5 / 60.36,
            "Writes: ShardStore 207.5 → 60.36 ns/op against MemoryStore (3.4x, computed from the log's table).",
            "(207.5 → 60.36 ns/op; elsewhere 210 → 61.3, \"71% improvement\")",
        ),
        (
            "reads.json",
            "memory",
            "channel",
            4.2,
            "Reads: ChannelStore 4.2x slower than even MemoryStore.",
            "(666.1 vs 155.9 ns/op)",
        ),
        (
            "writes.json",
            "memory",
            "channel",
            3.0,
            "Writes: ChannelStore 3x slower than even MemoryStore.",
            "(603.1 vs 207.5 ns/op)",
        ),
        (
            "reads.json",
            "shard",
            "channel",
            57.0,
            "Reads: ChannelStore 57x slower than ShardStore.",
            "(666.1 vs 10.28 ns/op, which is 64.8x; 57x matches ShardStoreGopool's 11.57)",
        ),
        (
            "writes.json",
            "shard",
            "channel",
            603.1 / 60.36,
            "Writes: ChannelStore \"58x\" slower than ShardStore; its own figures give 10.0x.",
            "(603.1 vs 60.36 ns/op)",
        ),
    ];
    for (f, fast, slow, factor, claim, figure) in claims {
        let file = r.get(f)?;
        let (lines, vs) = across_threads(file, fast, slow)?;
        let (dir, dir_each) = judge(&vs, rules::faster);
        let (_, each) = judge(&vs, |p| rules::at_least(p, factor));
        let size = Outcome::Untestable(
            "the log's figures are RunParallel ns/op over about 14 goroutines on 14 cores".into(),
        );
        let verdict = format!(
            "`{fast}` faster: {} ({dir_each}); the size ({factor:.1}x): {} (for reference, \
             at least {factor:.1}x here: {each}).",
            dir.label(),
            size.label()
        );
        let _ = writeln!(
            out,
            "{}",
            block(claim, figure, &lines, &command(file), &verdict)
        );
    }
    Ok(out)
}

/// "32x reduction in lock contention": what the busiest shard's share says.
pub(crate) fn section_contention(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    let info = file
        .store("shard")
        .and_then(|s| s.shard_imbalance.as_ref())
        .ok_or_else(|| DecisionsError::Missing {
            file: "seed.json".into(),
            what: "shard imbalance for shard".into(),
        })?;
    let reduction = info.shards as f64 / info.max_over_mean;
    let (_, ok) = rules::arithmetic(info.shards as f64, info.max_over_mean, 32.0);
    Ok(block(
        "32 shards gave a \"32x reduction in lock contention\".",
        "(no measurement)",
        &[format!(
            "under the seed workload (Zipf 80/20, scrambled), the busiest of `shard`'s {} locks takes {:.2}x its fair share of operations, so the hottest lock sees 1/{:.1} of the single lock's traffic",
            info.shards, info.max_over_mean, reduction
        )],
        &command(file),
        &format!(
            "{}: the busiest lock's traffic falls {reduction:.1}x, not 32x: skewed keys do not spread evenly over shards. (A count over the generated key streams, not a timing: exact for this seed, so no interval. It measures traffic per lock, the cause of contention, not contention itself.)",
            if ok { "**holds**" } else { "**does not hold**" }
        ),
    ))
}

/// The log's own arithmetic, recomputed from its own figures.
pub(crate) fn section_log_arithmetic(_r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from("| the log says | from its own figures | verdict |\n|---|---|---|\n");
    let rows: [(&str, f64, f64, f64, &str); 5] = [
        (
            "ChannelStore writes \"58x slower\" than ShardStore",
            603.1,
            60.36,
            58.0,
            "x",
        ),
        (
            "ChannelStore reads \"57x slower\" than ShardStore (10.28 ns)",
            666.1,
            10.28,
            57.0,
            "x",
        ),
        (
            "ChannelStore reads \"4.3x slower\" than MemoryStore",
            666.1,
            155.9,
            4.3,
            "x",
        ),
        (
            "\"91% total improvement\" (130 → 11.54 ns)",
            130.0,
            11.54,
            1.0 / (1.0 - 0.91),
            "x (as a speedup)",
        ),
        (
            "ShardStoreGopool (11.57 ns) \"12% additional improvement\" over ShardStore (10.28 ns)",
            10.28,
            11.57,
            1.12,
            "x (ShardStore over Gopool: above 1 is an improvement)",
        ),
    ];
    for (claim, num, den, stated, unit) in rows {
        let (actual, ok) = rules::arithmetic(num, den, stated);
        let _ = writeln!(
            s,
            "| {claim} | {num} / {den} = {actual:.2}{unit} | {} |",
            if ok { "consistent" } else { "**wrong**" }
        );
    }
    // 192-247 KB/s for a year is terabytes, not gigabytes.
    let year_s = 365.25 * 24.0 * 3600.0;
    let (lo, hi) = (192e3 * year_s / 1e12, 247e3 * year_s / 1e12);
    let _ = writeln!(
        s,
        "| \"192-247 KB/second\" at 1000 RPS is \"6-8 GB\" a year | 192-247 KB/s x {year_s:.0} s = {lo:.1}-{hi:.1} TB | **wrong** (TB, not GB) |"
    );
    let _ = writeln!(
        s,
        "\nEach row is `rules::arithmetic` (a ratio within 10% of the stated one is consistent), unit-tested in `crates/decisions/src/rules.rs`."
    );
    Ok(s)
}

pub(crate) fn section_shardunit(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shardunit", "shard")?;
    let (saved_24, each) = judge(&vs, |p| rules::at_least(p, 1.0 / (1.0 - 0.243)));
    let (same, same_each) = judge(&vs, |p| rules::within(p, 0.05));
    let verdict = format!(
        "\"24% saved\" (shard/shardunit at least 1.32x): {} ({each}). \"No difference within \
         5%\": {} ({same_each}).",
        saved_24.label(),
        same.label()
    );
    Ok(block(
        "ShardUnit (map + lock) instead of whole MemoryStores as shards saved 24%.",
        "(16.4 → 12.42 ns/op)",
        &lines,
        &command(file),
        &verdict,
    ))
}

pub(crate) fn section_pool(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("bulk.json")?;
    let (lines, vs) = across_threads(file, "shard-pool", "shardunit")?;
    let (faster, each) = judge(&vs, rules::faster);
    let (slower, slower_each) = judge(&vs, |p| match rules::faster(p) {
        Outcome::Holds => Outcome::DoesNotHold,
        Outcome::DoesNotHold => Outcome::Holds,
        o => o,
    });
    let short = file.too_short_cells();
    let verdict = format!(
        "\"the pool makes get_all faster\": {} ({each}); \"the pool makes it slower\": {} \
         ({slower_each}). Handing get_all to per-core workers costs two hand-offs and a merge \
         copy; the walk is memory-bound.{}",
        faster.label(),
        slower.label(),
        if short.is_empty() {
            String::new()
        } else {
            format!(" Too short to rank: {}.", short.join(", "))
        }
    );
    Ok(block(
        "Per-core worker pools with a fixed shard-to-core mapping made GetAll 7.4% faster.",
        "(1.625 ms → 1.505 ms)",
        &lines
            .iter()
            .map(|l| l.replace(" ns/op", " ns per get_all"))
            .collect::<Vec<_>>(),
        &command(file),
        &verdict,
    ))
}

pub(crate) fn section_concurrent_maps(r: &mut Results) -> Result<String, DecisionsError> {
    // The log's Phase 3 chooses the lock *inside each ShardUnit*: so the
    // comparator is shardunit (an RwLock per unit), not the single-lock store.
    let file = r.get("seed.json")?;
    let mut lines = Vec::new();
    let mut parts = Vec::new();
    for peer in ["dashmap", "scc", "papaya"] {
        let (l, vs) = across_threads(file, "shardunit", peer)?;
        lines.extend(l);
        let (o, each) = judge(&vs, rules::faster);
        parts.push(format!("against {peer} {} ({each})", o.label()));
    }
    Ok(block(
        "\"sync.RWMutex: Chosen - optimal for 80% reads, 20% writes\" inside each ShardUnit; \"sync.Map: Rejected - higher overhead for our access patterns\".",
        "(no figure)",
        &lines,
        &command(file),
        &format!(
            "\"the RwLock units are faster than a concurrent map\": {}. A Mutex variant was not measured.",
            parts.join("; ")
        ),
    ))
}

pub(crate) fn section_channel(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shard", "channel")?;
    let mut ours = lines;
    for t in threads_of(file) {
        if let Some(c) = file.cell("channel", t) {
            ours.push(format!(
                "{}: `channel` allocates {:.2} times per operation, {:.0} B/op; `shard` {:.2}, {:.0} B/op",
                on_home(t),
                c.allocs_per_op,
                c.bytes_per_op,
                file.cell("shard", t).map_or(f64::NAN, |s| s.allocs_per_op),
                file.cell("shard", t).map_or(f64::NAN, |s| s.bytes_per_op),
            ));
        }
    }
    let slowest = vs
        .iter()
        .map(|(_, v)| v.ratio)
        .fold(f64::INFINITY, f64::min);
    let _ = slowest;
    let (tenfold, ten_each) = judge(&vs, |p| rules::at_least(p, 10.0));
    let size = Outcome::Untestable(
        "a 14-core RunParallel figure; the reads-only replay is under *Reads alone, writes alone*"
            .into(),
    );
    let verdict = format!(
        "\"57-58x slower\": {}; \"a gap of more than 10x\" (the log's own abandonment \
         criterion) on this workload: {} ({ten_each}). Every call wakes another thread and \
         allocates its reply channel, as the log says. Threads claim work from a shared \
         counter, so a caller the actor starves no longer stretches the wall time (see the fair \
         column). The log's \"no path to improvement\" is tested under *Beyond the log*.",
        size.label(),
        tenfold.label()
    );
    Ok(block(
        "ChannelStore is 57-58x slower than ShardStore, with 192-247 B/op and 3-5 allocs/op; abandoned.",
        "(666.1 ns/op reads vs 11 ns/op)",
        &ours,
        &command(file),
        &verdict,
    ))
}

pub(crate) fn section_lockfree(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    let (mut lines, vs) = across_threads(file, "dashmap", "papaya")?;
    let (more, vs2) = across_threads(file, "shardunit", "papaya")?;
    lines.extend(more);
    let (vs_dashmap, each) = judge(&vs, rules::faster);
    let (vs_units, each2) = judge(&vs2, rules::faster);
    let verdict = format!(
        "\"locks beat this lock-free map\": against dashmap {} ({each}); against the RwLock \
         shard units {} ({each2}). papaya pins an epoch per operation and boxes its entries (an \
         extra indirection, an extra allocation per update); its advantage is reported at 4+ \
         threads, which this machine cannot show.",
        vs_dashmap.label(),
        vs_units.label()
    );
    Ok(block(
        "\"Lock-free can be slower than locks\" (said of the channel store).",
        "(no figure; the lab tests it on a real lock-free map)",
        &lines,
        &command(file),
        &verdict,
    ))
}
