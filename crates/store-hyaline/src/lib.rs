//! `hyaline`: `rcu`'s slots, reclaimed so that a read writes no shared
//! cache line, and counted so that creates and deletes share no count. The
//! layout is `dense`'s and `rcu`'s (task `id` lives in slot `(id - 1) %
//! 4096` of chunk `(id - 1) / 4096`, one atomic pointer per id, in
//! `chunk-dir`'s directory); what changes is who pays for reclamation, and
//! where the tasks are counted.
//!
//! - **A read writes only its own thread's line.** An `rcu` read pins a
//!   crossbeam-epoch guard: a write to its thread's own record, but also a
//!   load of the global epoch on every pin and, every 128th pin, an attempt
//!   to advance it (a SeqCst fence, a walk over every participant, a
//!   compare-exchange of the global epoch), whether or not anything waits
//!   to be freed (crossbeam-epoch issues #1001 and #852). On 16 cores that
//!   is the likely reason `rcu`'s hot reads stop scaling (`xeon-16c`, visit
//!   mode, 16 threads: about 4.1 ns/op against papaya's 1.01, 3.5x its
//!   1-thread throughput against papaya's 13x). Here a read enters a guard
//!   of `seize` (0.5.1, the collector papaya 0.2 uses, after the Hyaline
//!   paper): a Relaxed store to the thread's own reservation word; one load
//!   of the slot; on leaving, a swap of that word back to "inactive". Both are writes to the thread's own padded
//!   line in the store's collector. There is no global epoch and no
//!   periodic collection on the read side.
//! - **Writers pay for reclamation.** An update builds the patched version
//!   and installs it with a compare-exchange against the version it
//!   patched, retrying if another writer got there first; a delete swaps in
//!   null (as in `rcu`: linearizable read-modify-writes, no lost update, no
//!   resurrection). The unlinked version goes to the writing thread's local
//!   batch: a push, nothing shared. Every 128th retirement on a thread
//!   ([`BATCH`]) retires the batch: a process-wide heavy barrier (Linux
//!   `membarrier`: an interrupt to each CPU running one of the process's
//!   threads), a walk over every thread's reservation in this store, and a
//!   compare-exchange pushing the batch onto the list of each thread active
//!   at that moment (the writer included), each of which takes one
//!   reference. The last of them to leave its call frees the batch; with no
//!   other thread active, that is the writer, as its own call returns. So a
//!   reader pays only while writers retire: one decrement per batch retired
//!   during its call, never a scan.
//! - **Creates and deletes share no count.** `rcu` keeps a count per chunk,
//!   and every create lands in the newest chunk: every concurrent creator
//!   adds to one word. Here `len` is a count striped by thread
//!   ([`stripes`]): a create adds one to its thread's padded stripe, a delete
//!   subtracts one from its own, and `len` sums the stripes. Nor do they
//!   share an id counter: a thread takes its ids from a block of 64 it
//!   claimed (see *Ids* below).
//! - **Updates of hot tasks take no lock**: a compare-exchange on the
//!   task's slot, as in `rcu`. The protocol and its loom model are in
//!   [`slot`] (`scripts/loom-hyaline` also runs the model with each
//!   ordering weakened to Relaxed, and requires it to fail).
//!
//! What each operation writes, shared or its own:
//!
//! | operation | its thread's own lines | shared lines |
//! |---|---|---|
//! | `get_with` (visit) | its reservation word (enter and leave) | none, unless a writer retired a batch during the call: then one decrement per such batch, and the free if last |
//! | `get` (clone) | as `get_with` | and the task's reference count (the `Arc` the API returns) |
//! | `update` | reservation; its local batch | the slot (compare-exchange); every 128th: the heavy barrier, one push per active thread's list |
//! | `delete` | reservation; its local batch; its `len` stripe | the slot (swap; a miss writes nothing); every 128th: as `update` |
//! | `create` | its `len` stripe; its entry in its table of id blocks | the new id's slot (neighbouring ids share a line, as in every id-indexed store); one create in 64 on a thread: the id counter (a block claimed) |
//! | `len`, `get_all` | one guard (`get_all`) | reads only, plus a clone per task (`get_all`) |
//!
//! **Why seize, and a guard per call.** Epoch-based reclamation makes the
//! reader announce itself against a global clock, and someone must move the
//! clock: crossbeam makes every 128th reader try. Hyaline inverts that: a
//! reader announces only itself (its own word), and the retiring writer
//! does the bookkeeping for a whole batch, handing each active reader a
//! reference to decrement when it leaves. That is the split the hot-read
//! workload wants: reads dominate, and their cost stays on their own core.
//! seize is papaya's reclaimer (so `hyaline` against `papaya` compares a
//! slot array with a hash table, not two reclaimers), and its reader side
//! is what papaya's 13x scaling runs on. The alternatives cost the reader
//! more: hazard pointers need a store, a fence and a re-check per read (or
//! the same `membarrier` pairing seize already uses); arc-swap keeps a debt
//! list per read and serves only the clone path; a scheme of our own would
//! be Hyaline again, with none of seize's use. seize has no loom support,
//! so the loom model runs our slot protocol against a stand-in with seize's
//! contract (see [`slot`]); seize's own algorithm is the paper's, checked by
//! its authors, not by this lab. A benchmark such as bustle holds one guard
//! per thread across a batch of operations; the `TaskStore` API is one
//! call per operation and has nowhere to keep a guard between calls (and a
//! guard held across calls would keep every batch retired meanwhile), so
//! each call enters and leaves its own: the honest per-operation cost, a
//! thread-local read, a store and a swap on the thread's own line (the swap
//! is an `xchg` on x86, a full barrier of about 20 cycles).
//!
//! **Ids: per-thread blocks, not one counter.** `dense` and `rcu` take
//! each id from `chunk-dir`'s counter: one `fetch_add` on one padded line
//! that every creator writes, the last shared write of a create here once
//! the count was striped. Here a thread claims a block of [`ID_BLOCK`] = 64
//! consecutive ids at once (`ChunkDir::claim`, one `fetch_add` of 64) and
//! hands them out itself, from an entry in its own thread-local table
//! ([`ids`]): 63 creates in 64 write nothing shared but the new task's
//! slot. The store declares [`IdPolicy::Blocks`](task_model::IdPolicy)
//! (`TaskStore::IDS`), and the conformance suite holds it to that contract
//! instead of a counter's:
//! - **The contract.** Ids start at 1, are unique and never reused, and
//!   increase within one thread; they are not ordered across threads (a
//!   create that starts after another returned gets a lower id when its
//!   thread still draws on an older block), and they have gaps.
//! - **The gaps.** A thread gives its block up when it stops creating on
//!   the store (it ends, or creates no more there), or when it creates on
//!   another hyaline store whose number takes the same entry of its table
//!   (8 entries, by store number: stores built one after another have
//!   entries of their own). The rest of that block, at most 63 ids, is
//!   never handed out. A thread that creates alone on a store gets 1, 2,
//!   3, ... as from a counter (so a single-threaded prefill gets the ids it
//!   expects); concurrent creators get interleaved blocks, e.g. 1..=64 to
//!   one thread and 65..=128 to another.
//! - **What `len` and `get_all` see.** A gap is an id no task ever had. `len`
//!   sums the stripes, which count tasks (+1 per create, -1 per delete),
//!   not ids: gaps do not show. `get_all` (and `walk`, `for_each_task`)
//!   walks the slots in id order up to the highest id claimed, skipping
//!   empty slots; a gap's slot is empty for ever (only its block's owner
//!   could fill it, and it has moved on), so it never appears, and costs
//!   one slot load per walk. `get`, `update` and `delete` of a gap find
//!   nothing. One thread's tasks come out in its creation order; two
//!   threads' tasks interleave by block.
//! - **Memory.** The chunks touched are those up to the highest id
//!   claimed, as in `dense`: the ids created, plus the gaps, plus the
//!   unused part of each block held now, at most 64 per creating thread.
//!   A block never straddles two chunks (64 divides 4,096), so a thread's
//!   creates touch one chunk at a time; gaps cost their 8-byte slots, at
//!   most 504 bytes per block given up. The table costs 128 bytes per
//!   thread (8 entries of two words), for every hyaline store together.
//! - **Why 64.** With blocks of B the counter's line is written once per
//!   B creates of a thread, instead of once per create. If a contended
//!   transfer of the line costs a few hundred ns (an estimate for 16
//!   contending cores, not a measurement of this lab), 64 spreads it to a
//!   few ns per create at worst, when every claim misses. A larger block
//!   would cut a cost already small, and make every gap larger: up to
//!   B - 1 ids per thread that stops, which the harness's reads of the
//!   live key space hit as misses and `get_all` walks. Smaller blocks
//!   bring the counter back: at 8 it is written every 8th create.
//! - **Soundness.** A thread's table is its own (`Cell`s in a
//!   `thread_local`); the only shared state is the block counter and the
//!   counter that numbers stores, both Relaxed `fetch_add`s whose one
//!   property is atomicity, and whose program order on one thread keeps a
//!   thread's blocks increasing (see [`ids`]). No new ordering for loom to
//!   check.
//!
//! The linearizability checker models this: a create may return any id of
//! at least 1 not handed out before, where a counter's may not return one
//! below the highest handed out; and one thread's creates must return
//! increasing ids.
//!
//! What it costs:
//! - **Retired versions wait in batches.** Each thread that writes holds up
//!   to [`BATCH`] - 1 unlinked versions in its local batch (a version is
//!   about 100 bytes: the `Arc<Task>` block and any strings the patch
//!   replaced), plus the batch's 32-byte entry per version: about 17 KB per
//!   writing thread, 270 KB for 16 threads, a third of a byte per task of a
//!   million-task store. A partial batch is freed only when its thread (or a
//!   later thread reusing its seize thread id) fills it, or when the store
//!   is dropped, so those versions stay after deletes stop: the harness's
//!   memory phase reports them as heap held after the churn ends.
//! - **A stalled reader holds what is retired during its call.** A thread
//!   descheduled inside a call (or a long `get_all`) keeps every batch
//!   retired meanwhile until it leaves: the worst case of every epoch-like
//!   scheme, the retirement rate times the stall.
//! - **A batch of [`BATCH`] = 128, not seize's 32** (papaya's documentation
//!   suggests 128 too): a heavy barrier per 128 retirements instead of per
//!   32, since each one interrupts every CPU running the process's threads.
//!   The price is a longer free (128 versions) on the thread that frees a
//!   batch, which may be a reader: that read's latency, not its throughput.
//!   Where `membarrier` is missing seize falls back to an `mprotect` trick
//!   (x86) or to SeqCst fences on both sides.
//! - **Clone-mode reads of a hot task still do not scale**: `get` returns
//!   an `Arc<Task>` and so writes the task's reference count, as in `rcu`.
//!   `get_with` (visit) writes nothing shared.
//! - **`len` is a sum of per-thread counts**: exact when no write runs,
//!   and under concurrent writes a sum read one stripe after another, like
//!   a sharded store's (see [`stripes`]).
//! - **Ids have gaps, and are ordered per thread only** (see *Ids*): a
//!   client cannot infer the number of tasks from the ids, nor the order
//!   of two threads' creates.
//! - **Fixed memory per store**: 8 KiB of stripes, the collector's
//!   per-thread tables (a padded reservation and batch pointer per thread,
//!   allocated 32 threads at a time: 16 KiB), and `chunk-dir`'s 1 MiB
//!   directory. A deleted task's slot stays allocated (8 bytes), and chunks
//!   live as long as the store, as in `dense` and `rcu`.
//! - **Every write allocates** a new version, and snapshots are per task
//!   (`get_all` loads one slot after another), as in `rcu`.
//!
//! The loom model leaves the directory, the stripes and the id blocks out
//! (the store is compiled out under `--cfg storelab_loom`): the directory's
//! protocol is `OnceLock`'s, the stripes and the block counter are Relaxed
//! counters whose one property is atomicity, and a thread's block lives in
//! its own thread-local table, which no other thread reads.

#[cfg(not(storelab_loom))]
pub mod ids;
pub mod slot;
#[cfg(not(storelab_loom))]
mod store;
#[cfg(not(storelab_loom))]
pub mod stripes;

#[cfg(not(storelab_loom))]
pub use store::*;
