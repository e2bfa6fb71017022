//! Workloads: which keys the operations touch, and which operations.
//!
//! Shared by the `storelab` harness and the criterion benches; it knows
//! nothing about stores or timing.
//!
//! Everything here happens before any timing: a [`Workload`] turns into one
//! [`Stream`] of [`Op`]s per thread, generated from a seed, so every store
//! replays exactly the same operations.
//!
//! # Hot keys: scrambled by default
//! A Zipf distribution ranks keys; the question is which ids the hot ranks
//! land on. `low-ids` makes rank r the id r+1, so the hot set is a contiguous
//! block at the start of the id space. `scrambled` (the default, as in YCSB)
//! maps ranks to ids through a seeded random permutation. The default is
//! scrambled because a contiguous hot block flatters every store with memory
//! locality the real workload need not have (the hottest tasks of an API are
//! not the first ones created), and above all flatters stores that index by
//! id, whose hot entries would share cache lines. `low-ids` is there to
//! measure exactly that effect.
//!
//! # A live key space, where tasks are created and deleted
//! In a mix without creates and deletes the key space is the prefilled ids
//! `1..=keys`, and an operation's id is fixed when its stream is generated.
//! A mix that creates or deletes ([`Mix::live`]) cannot work that way: the
//! store assigns ids, deleted ids must not be read again, and new tasks must
//! be readable (the newest tasks of an API are its hottest). There a keyed
//! operation carries an *offset below the newest id* instead, drawn from its
//! distribution over `0..keys` (rank r is offset r under `latest`/`newest`,
//! a seeded permutation under `scrambled`, the far end under `low-ids`), and
//! the harness resolves it at run time, on the running thread, against a
//! window of ids that are alive (see `bench_harness::LiveKeys`, "a live key
//! space"). Deletes carry nothing: each thread deletes the oldest task it
//! owns, first in, first out, as bustle (conc-map-bench's engine) does.

use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

mod error;

pub use error::ParseError;

/// How keys are drawn from `0..keys`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with exponent `s`: rank r has weight 1 / r^s. `None` means
    /// "calibrated": the exponent that sends 80% of operations to the
    /// hottest 20% of keys, for the key count in use.
    Zipf { s: Option<f64> },
    /// A fraction of the keys (the hot set) gets `share` of the operations,
    /// uniformly within each set.
    Hotspot { fraction: f64, share: f64 },
    /// YCSB's "latest": Zipf over recency, the newest id is rank 1.
    /// `None` is calibrated to 80/20 as for [`KeyDist::Zipf`]. Implies the
    /// [`HotKeys::Newest`] placement, whatever `--hot-keys` says.
    Latest { s: Option<f64> },
}

impl KeyDist {
    /// The log's workload: Zipf, calibrated to 80/20.
    pub const SEED: KeyDist = KeyDist::Zipf { s: None };
}

impl fmt::Display for KeyDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDist::Uniform => write!(f, "uniform"),
            KeyDist::Zipf { s: None } => write!(f, "zipf"),
            KeyDist::Zipf { s: Some(s) } => write!(f, "zipf:{s}"),
            KeyDist::Hotspot { fraction, share } => write!(f, "hotspot:{fraction}:{share}"),
            KeyDist::Latest { s: None } => write!(f, "latest"),
            KeyDist::Latest { s: Some(s) } => write!(f, "latest:{s}"),
        }
    }
}

impl FromStr for KeyDist {
    type Err = ParseError;

    /// `uniform`, `zipf`, `zipf:S` (S > 0), `latest`, `latest:S`,
    /// `hotspot:FRACTION:SHARE` (both strictly between 0 and 1).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        let number = |what: &'static str, raw: &str| -> Result<f64, ParseError> {
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ParseError::NotANumber {
                    what,
                    text: text.to_owned(),
                    raw: raw.to_owned(),
                })
        };
        match parts.as_slice() {
            ["uniform"] => Ok(KeyDist::Uniform),
            ["zipf"] => Ok(KeyDist::Zipf { s: None }),
            ["latest"] => Ok(KeyDist::Latest { s: None }),
            [name @ ("zipf" | "latest"), s] => {
                let s = number("the Zipf exponent", s)?;
                if s <= 0.0 || s > 10.0 {
                    return Err(ParseError::ZipfExponent { s });
                }
                Ok(if *name == "zipf" {
                    KeyDist::Zipf { s: Some(s) }
                } else {
                    KeyDist::Latest { s: Some(s) }
                })
            }
            ["hotspot", fraction, share] => {
                let fraction = number("the hot fraction", fraction)?;
                let share = number("the hot share", share)?;
                for (what, value) in [("fraction", fraction), ("share", share)] {
                    if !(value > 0.0 && value < 1.0) {
                        return Err(ParseError::HotspotRange { what, value });
                    }
                }
                Ok(KeyDist::Hotspot { fraction, share })
            }
            _ => Err(ParseError::UnknownDistribution {
                text: text.to_owned(),
            }),
        }
    }
}

/// Where the hot ranks of a skewed distribution land in the id space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HotKeys {
    /// Rank r is a random (seeded) id: hot keys are spread over the space.
    Scrambled,
    /// Rank r is id r+1: hot keys are the oldest, lowest ids.
    LowIds,
    /// Rank r is id keys-r: the newest (highest) id is the hottest, as in
    /// YCSB's "latest" distribution over a key space that does not grow
    /// during the run. Consecutive, like `low-ids`, at the other end.
    Newest,
}

impl FromStr for HotKeys {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "scrambled" => Ok(HotKeys::Scrambled),
            "low-ids" => Ok(HotKeys::LowIds),
            "newest" => Ok(HotKeys::Newest),
            other => Err(ParseError::UnknownHotKeys {
                text: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for HotKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HotKeys::Scrambled => "scrambled",
            HotKeys::LowIds => "low-ids",
            HotKeys::Newest => "newest",
        })
    }
}

/// How a read gets at its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// `get`: clone the task's `Arc` out of the store, as the log's API
    /// returns a `*Task` (the default).
    Clone,
    /// `get_with`: look at the task in place, without touching its
    /// reference count where the store allows.
    Visit,
}

impl FromStr for ReadMode {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "clone" => Ok(ReadMode::Clone),
            "visit" => Ok(ReadMode::Visit),
            other => Err(ParseError::UnknownReadMode {
                text: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for ReadMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadMode::Clone => "clone",
            ReadMode::Visit => "visit",
        })
    }
}

/// The kinds of operation a workload mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum OpKind {
    Read,
    Update,
    Create,
    Delete,
    GetAll,
    /// Read-modify-write (YCSB F): a read of a task, then an update of the
    /// same task, counted as one operation.
    Rmw,
}

/// How many operation kinds there are (the length of per-kind arrays).
pub const KINDS: usize = 6;

impl OpKind {
    pub const ALL: [OpKind; KINDS] = [
        OpKind::Read,
        OpKind::Update,
        OpKind::Create,
        OpKind::Delete,
        OpKind::GetAll,
        OpKind::Rmw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Update => "update",
            OpKind::Create => "create",
            OpKind::Delete => "delete",
            OpKind::GetAll => "get_all",
            OpKind::Rmw => "rmw",
        }
    }

    /// Whether the operation names a task (its `Op::id` means something).
    pub fn keyed(self) -> bool {
        matches!(
            self,
            OpKind::Read | OpKind::Update | OpKind::Delete | OpKind::Rmw
        )
    }
}

/// Percentages of each operation kind; they sum to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub read: u8,
    pub update: u8,
    pub create: u8,
    pub delete: u8,
    pub get_all: u8,
    /// Read-modify-write (absent in files written before it existed).
    #[serde(default)]
    pub rmw: u8,
}

impl Mix {
    /// The log's mix: 80% reads, 20% updates.
    pub const SEED: Mix = Mix {
        read: 80,
        update: 20,
        create: 0,
        delete: 0,
        get_all: 0,
        rmw: 0,
    };

    pub fn percent(&self, kind: OpKind) -> u8 {
        match kind {
            OpKind::Read => self.read,
            OpKind::Update => self.update,
            OpKind::Create => self.create,
            OpKind::Delete => self.delete,
            OpKind::GetAll => self.get_all,
            OpKind::Rmw => self.rmw,
        }
    }

    /// Whether reads may legitimately miss (something deletes keys).
    pub fn deletes(&self) -> bool {
        self.delete > 0
    }

    /// Whether the key space moves during the run (something creates or
    /// deletes), so keyed operations target a live window (module doc).
    pub fn live(&self) -> bool {
        self.create > 0 || self.delete > 0
    }

    /// Whether any operation names a task.
    pub fn keyed(&self) -> bool {
        OpKind::ALL
            .iter()
            .any(|k| k.keyed() && self.percent(*k) > 0)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = OpKind::ALL
            .iter()
            .filter(|k| self.percent(**k) > 0)
            .map(|k| format!("{}={}", k.name(), self.percent(*k)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Mix {
    type Err = ParseError;

    /// `read=80,update=20`; kinds are read, update, create, delete, get_all
    /// (or get-all), rmw (read-modify-write); absent kinds are 0; the sum
    /// must be 100.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut mix = Mix {
            read: 0,
            update: 0,
            create: 0,
            delete: 0,
            get_all: 0,
            rmw: 0,
        };
        let mut seen = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| ParseError::MixPart {
                part: part.to_owned(),
            })?;
            let value: u8 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| *v <= 100)
                .ok_or_else(|| ParseError::MixPercent {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })?;
            let name = name.trim();
            if seen.contains(&name.to_owned()) {
                return Err(ParseError::MixTwice {
                    name: name.to_owned(),
                });
            }
            seen.push(name.to_owned());
            match name {
                "read" | "get" => mix.read = value,
                "update" => mix.update = value,
                "create" => mix.create = value,
                "delete" => mix.delete = value,
                "get_all" | "get-all" => mix.get_all = value,
                "rmw" | "read-modify-write" => mix.rmw = value,
                other => {
                    return Err(ParseError::UnknownOperation {
                        name: other.to_owned(),
                    });
                }
            }
        }
        let sum: u32 = OpKind::ALL.iter().map(|k| u32::from(mix.percent(*k))).sum();
        if sum != 100 {
            return Err(ParseError::MixSum {
                text: text.to_owned(),
                sum,
            });
        }
        Ok(mix)
    }
}

/// One operation: its kind and (for keyed kinds) the id it targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Op {
    /// For keyed kinds: the task id (1-based), or in a live mix
    /// ([`Mix::live`]) the offset below the newest live id; unused otherwise
    /// (deletes in a live mix take the thread's oldest task).
    pub id: u32,
    pub kind: OpKind,
}

/// Everything that defines the operations every store will replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Tasks prefilled (ids `1..=keys`), and the width of the key space
    /// keyed operations draw from.
    pub keys: u32,
    /// The size hint each store is built with (conc-map-bench prefills 75%
    /// of it); `None` means `keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    pub dist: KeyDist,
    pub hot_keys: HotKeys,
    pub mix: Mix,
    pub seed: u64,
    /// Operations generated per thread; the timed loop cycles through them.
    /// A power of two.
    pub stream_len: usize,
}

/// One thread's operations, generated before timing.
pub struct Stream {
    ops: Box<[Op]>,
    mask: usize,
}

impl Stream {
    /// The operation at position `i`, cycling through the stream.
    #[inline(always)]
    pub fn op(&self, i: usize) -> Op {
        self.ops[i & self.mask]
    }

    /// Every operation, once.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }
}

/// The generated streams and what was measured of them.
pub struct Generated {
    pub streams: Vec<Stream>,
    /// The Zipf exponent used, if the distribution is Zipf.
    pub zipf_s: Option<f64>,
    /// The share of keyed operations that hit the hottest 20% of keys,
    /// measured on the generated streams.
    pub hot20_share: f64,
}

impl Workload {
    /// Generates one stream per thread. Thread t's stream depends only on
    /// the seed and t, so thread 0 replays the same operations whether 1 or
    /// 16 threads run.
    pub fn generate(&self, threads: usize) -> Generated {
        let keys = self.keys.max(1);
        let zipf_s = self.zipf_exponent(keys);
        let live = self.mix.live();
        let rank_to_id = self.rank_to_id(keys, live);
        let hot_cut = ((f64::from(keys) * 0.2).ceil() as u32).max(1);
        let mut hot = 0u64;
        let mut keyed = 0u64;
        let kinds = kind_table(&self.mix);
        let zipf = zipf_s.map(|s| {
            rand_distr::Zipf::new(f64::from(keys), s).expect("exponent checked when parsed")
        });
        let streams = (0..threads)
            .map(|t| {
                let mut rng = StdRng::seed_from_u64(
                    self.seed
                        .wrapping_add(t as u64)
                        .wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                let ops: Box<[Op]> = deal(&kinds, self.stream_len, self.seed, t)
                    .into_iter()
                    .map(|kind| {
                        let rank = draw_rank(self.dist, zipf.as_ref(), &mut rng, keys);
                        if kind.keyed() && !(live && kind == OpKind::Delete) {
                            keyed += 1;
                            hot += u64::from(rank < hot_cut);
                        }
                        Op {
                            id: rank_to_id[rank as usize],
                            kind,
                        }
                    })
                    .collect();
                Stream {
                    mask: ops.len() - 1,
                    ops,
                }
            })
            .collect();
        Generated {
            streams,
            zipf_s,
            hot20_share: if keyed == 0 {
                0.0
            } else {
                hot as f64 / keyed as f64
            },
        }
    }

    /// The Zipf exponent, if the distribution is Zipf: the one given, or
    /// the one that sends 80% of draws to the hottest 20% of `keys`.
    fn zipf_exponent(&self, keys: u32) -> Option<f64> {
        match self.dist {
            KeyDist::Zipf { s: Some(s) } | KeyDist::Latest { s: Some(s) } => Some(s),
            KeyDist::Zipf { s: None } | KeyDist::Latest { s: None } => {
                Some(calibrate_zipf(u64::from(keys), 0.2, 0.8))
            }
            _ => None,
        }
    }

    /// rank -> id (a fixed key space), or rank -> offset below the newest
    /// live id (a live mix: offset 0 is the newest, as id `keys` is the
    /// newest prefilled one). Scrambled: a seeded permutation.
    fn rank_to_id(&self, keys: u32, live: bool) -> Vec<u32> {
        let mut rank_to_id: Vec<u32> = if live {
            (0..keys).rev().collect()
        } else {
            (1..=keys).collect()
        };
        let placement = match self.dist {
            KeyDist::Latest { .. } => HotKeys::Newest,
            _ => self.hot_keys,
        };
        match placement {
            HotKeys::Scrambled => {
                rank_to_id.shuffle(&mut StdRng::seed_from_u64(self.seed ^ 0x5eed_5c4a_3b1e));
            }
            HotKeys::Newest => rank_to_id.reverse(),
            HotKeys::LowIds => {}
        }
        rank_to_id
    }
}

/// One key's popularity rank (0 the hottest, below `keys`), drawn from the
/// distribution: Zipf when `zipf` is given, else hotspot or uniform.
fn draw_rank(
    dist: KeyDist,
    zipf: Option<&rand_distr::Zipf<f64>>,
    rng: &mut StdRng,
    keys: u32,
) -> u32 {
    match (dist, zipf) {
        (_, Some(z)) => (z.sample(rng) as u32).clamp(1, keys) - 1,
        (KeyDist::Hotspot { fraction, share }, _) => {
            let hot_keys = ((f64::from(keys) * fraction).round() as u32).clamp(1, keys);
            if rng.random_bool(share) || hot_keys == keys {
                rng.random_range(0..hot_keys)
            } else {
                rng.random_range(hot_keys..keys)
            }
        }
        _ => rng.random_range(0..keys),
    }
}

/// A thread's operation kinds, dealt from decks of 100 cards: each deck
/// holds every kind of the mix in its exact share (its percent), shuffled
/// with its own seeded order, and the stream is deck after deck (the last
/// one cut short where the stream's power-of-two length ends).
///
/// Why a deck and not a draw per operation: with independent draws, a
/// repetition's count of a rare kind is binomial, so its share itself varies
/// between repetitions (a `get_all=1` mix holds 1% +- 1/sqrt(n) of get_all),
/// and that spread joins the store's own in every interval. Dealt from
/// decks, any run of consecutive operations holds each kind within its
/// percent of the exact share at each end, so repetitions differ only in
/// what the store did. bustle (conc-map-bench's engine) deals its mix the
/// same way, from one deck cycled.
fn deal(kinds: &[OpKind; 100], len: usize, seed: u64, thread: usize) -> Vec<OpKind> {
    // Its own generator, so the kinds never depend on how many key draws
    // an operation took.
    let mut rng = StdRng::seed_from_u64(
        (seed ^ 0xdec0_cafe_d0c4)
            .wrapping_add(thread as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let mut deck = *kinds;
        deck.shuffle(&mut rng);
        let take = (len - out.len()).min(deck.len());
        out.extend_from_slice(&deck[..take]);
    }
    out
}

/// 100 slots, each an operation kind in the mix's proportions.
fn kind_table(mix: &Mix) -> [OpKind; 100] {
    let mut table = [OpKind::Read; 100];
    let mut at = 0;
    for kind in OpKind::ALL {
        for _ in 0..mix.percent(kind) {
            table[at] = kind;
            at += 1;
        }
    }
    table
}

/// The Zipf exponent s for which the hottest `fraction` of `n` keys receive
/// `share` of the probability mass: solves H(fraction*n, s) / H(n, s) =
/// share by bisection, with exact generalized harmonic sums.
pub fn calibrate_zipf(n: u64, fraction: f64, share: f64) -> f64 {
    let cut = ((n as f64 * fraction).ceil() as u64).max(1);
    let top_share = |s: f64| {
        let (mut head, mut total) = (0.0f64, 0.0f64);
        for r in 1..=n {
            let w = (r as f64).powf(-s);
            total += w;
            if r <= cut {
                head += w;
            }
        }
        head / total
    };
    let (mut lo, mut hi) = (0.0f64, 4.0f64);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if top_share(mid) < share {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(dist: KeyDist, mix: Mix) -> Workload {
        Workload {
            capacity: None,
            keys: 100_000,
            dist,
            hot_keys: HotKeys::Scrambled,
            mix,
            seed: 42,
            stream_len: 1 << 18,
        }
    }

    #[test]
    fn calibrated_zipf_sends_80_percent_to_the_hottest_20() {
        // The field notes give about 0.894 for one million keys.
        let s = calibrate_zipf(1_000_000, 0.2, 0.8);
        assert!((s - 0.894).abs() < 0.01, "calibrated exponent {s}");
        let g = workload(KeyDist::SEED, Mix::SEED).generate(2);
        assert!(
            (g.hot20_share - 0.8).abs() < 0.01,
            "measured hot share {}",
            g.hot20_share
        );
    }

    #[test]
    fn uniform_and_hotspot_shares_are_as_asked() {
        let g = workload(KeyDist::Uniform, Mix::SEED).generate(1);
        assert!(
            (g.hot20_share - 0.2).abs() < 0.01,
            "uniform hot share {}",
            g.hot20_share
        );
        let g = workload(
            KeyDist::Hotspot {
                fraction: 0.2,
                share: 0.9,
            },
            Mix::SEED,
        )
        .generate(1);
        assert!(
            (g.hot20_share - 0.9).abs() < 0.01,
            "hotspot share {}",
            g.hot20_share
        );
    }

    #[test]
    fn mix_proportions_hold() {
        let mix: Mix = "read=50,update=20,create=10,delete=15,get_all=5"
            .parse()
            .expect("valid mix");
        let g = workload(KeyDist::Uniform, mix).generate(1);
        let ops = g.streams[0].ops();
        for kind in OpKind::ALL {
            let got = ops.iter().filter(|o| o.kind == kind).count() as f64 / ops.len() as f64;
            let want = f64::from(mix.percent(kind)) / 100.0;
            assert!((got - want).abs() < 0.005, "{kind:?}: {got} vs {want}");
        }
    }

    #[test]
    fn every_window_holds_each_kind_within_its_percent_of_the_exact_share() {
        // A rare kind's count must not be binomial: any run of operations,
        // wherever it starts, holds each kind's exact share within the kind's
        // percent at each end (one partial deck per end).
        let mix: Mix = "read=79,update=20,get_all=1".parse().expect("valid mix");
        let g = workload(KeyDist::Uniform, mix).generate(2);
        for stream in &g.streams {
            let ops = stream.ops();
            let decks = ops.len() / 100 * 100;
            for (start, len) in [(0, 100), (37, 1_000), (1_234, 5_000), (999, 10_007)] {
                let window = &ops[start..(start + len).min(decks)];
                for kind in OpKind::ALL {
                    let p = f64::from(mix.percent(kind));
                    let got = window.iter().filter(|o| o.kind == kind).count() as f64;
                    let want = window.len() as f64 * p / 100.0;
                    assert!(
                        (got - want).abs() <= 2.0 * p,
                        "{kind:?} at {start}+{len}: {got} vs {want}"
                    );
                }
            }
            for deck in ops[..decks].chunks(100) {
                let get_alls = deck.iter().filter(|o| o.kind == OpKind::GetAll).count();
                assert_eq!(get_alls, 1, "every deck holds exactly one get_all");
            }
        }
        // ...and the order within decks differs between threads.
        assert_ne!(g.streams[0].ops()[..100], g.streams[1].ops()[..100]);
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a = workload(KeyDist::SEED, Mix::SEED).generate(2);
        let b = workload(KeyDist::SEED, Mix::SEED).generate(2);
        assert_eq!(a.streams[0].ops(), b.streams[0].ops());
        assert_eq!(a.streams[1].ops(), b.streams[1].ops());
        assert_ne!(
            a.streams[0].ops(),
            a.streams[1].ops(),
            "threads get different streams"
        );
        let one = workload(KeyDist::SEED, Mix::SEED).generate(1);
        assert_eq!(
            one.streams[0].ops(),
            a.streams[0].ops(),
            "thread 0 is the same at any thread count"
        );
        let mut other = workload(KeyDist::SEED, Mix::SEED);
        other.seed = 43;
        assert_ne!(other.generate(1).streams[0].ops(), a.streams[0].ops());
    }

    #[test]
    fn ids_stay_in_range_and_low_ids_puts_hot_keys_first() {
        let mut w = workload(KeyDist::SEED, Mix::SEED);
        w.hot_keys = HotKeys::LowIds;
        let g = w.generate(1);
        let ops = g.streams[0].ops();
        assert!(ops.iter().all(|o| (1..=w.keys).contains(&o.id)));
        let low = ops.iter().filter(|o| o.id <= w.keys / 5).count() as f64 / ops.len() as f64;
        assert!((low - 0.8).abs() < 0.01, "low ids take {low}");
        let scrambled = workload(KeyDist::SEED, Mix::SEED).generate(1);
        let low = scrambled.streams[0]
            .ops()
            .iter()
            .filter(|o| o.id <= w.keys / 5)
            .count() as f64
            / ops.len() as f64;
        assert!((low - 0.2).abs() < 0.05, "scrambled: low ids take {low}");
    }

    #[test]
    fn newest_puts_hot_keys_last() {
        let mut w = workload(KeyDist::SEED, Mix::SEED);
        w.hot_keys = HotKeys::Newest;
        let ops = w.generate(1).streams[0].ops().to_vec();
        assert!(ops.iter().all(|o| (1..=w.keys).contains(&o.id)));
        let newest =
            ops.iter().filter(|o| o.id > w.keys - w.keys / 5).count() as f64 / ops.len() as f64;
        assert!(
            (newest - 0.8).abs() < 0.01,
            "the newest fifth takes {newest}"
        );
        let top = ops.iter().filter(|o| o.id == w.keys).count();
        let bottom = ops.iter().filter(|o| o.id == 1).count();
        assert!(
            top > 10 * bottom.max(1),
            "id {} is the hottest: {top} vs {bottom}",
            w.keys
        );
        assert_eq!("newest".parse::<HotKeys>(), Ok(HotKeys::Newest));
        assert_eq!(HotKeys::Newest.to_string(), "newest");
    }

    #[test]
    fn a_live_mix_carries_offsets_below_the_newest() {
        let mix: Mix = "read=90,create=5,delete=5".parse().expect("valid mix");
        assert!(mix.live() && !Mix::SEED.live());
        let mut w = workload(KeyDist::Latest { s: Some(0.99) }, mix);
        let ops = w.generate(1).streams[0].ops().to_vec();
        let reads: Vec<u32> = ops
            .iter()
            .filter(|o| o.kind == OpKind::Read)
            .map(|o| o.id)
            .collect();
        assert!(
            reads.iter().all(|o| *o < w.keys),
            "offsets within the window"
        );
        // Latest: offset 0 (the newest task) is the hottest.
        let newest = reads.iter().filter(|o| **o == 0).count();
        let oldest = reads.iter().filter(|o| **o == w.keys - 1).count();
        assert!(newest > 100 * oldest.max(1), "{newest} vs {oldest}");
        // Latest forces the newest placement; scrambled zipf spreads offsets.
        w.dist = KeyDist::Zipf { s: Some(0.99) };
        let spread = w.generate(1).streams[0].ops().to_vec();
        let zero = spread
            .iter()
            .filter(|o| o.kind == OpKind::Read && o.id == 0)
            .count();
        assert!(zero < newest / 10, "scrambled: offset 0 is not the hottest");
    }

    #[test]
    fn rmw_and_latest_parse_and_print() {
        let mix: Mix = "read=50,rmw=50".parse().expect("valid mix");
        assert_eq!(mix.rmw, 50);
        assert_eq!(mix.to_string(), "read=50,rmw=50");
        assert_eq!("read=50,read-modify-write=50".parse::<Mix>(), Ok(mix));
        assert!(OpKind::Rmw.keyed() && !OpKind::Create.keyed());
        assert_eq!("latest".parse::<KeyDist>(), Ok(KeyDist::Latest { s: None }));
        assert_eq!(
            "latest:0.99".parse::<KeyDist>(),
            Ok(KeyDist::Latest { s: Some(0.99) })
        );
        assert_eq!(KeyDist::Latest { s: Some(0.99) }.to_string(), "latest:0.99");
        assert!("latest:0".parse::<KeyDist>().is_err());
        // Files written before rmw existed still read.
        let old: Mix =
            serde_json::from_str(r#"{"read":80,"update":20,"create":0,"delete":0,"get_all":0}"#)
                .expect("an old mix reads");
        assert_eq!(old, Mix::SEED);
    }

    #[test]
    fn bad_mixes_and_distributions_are_refused_with_reasons() {
        let err = "read=80,update=30".parse::<Mix>().unwrap_err();
        assert_eq!(
            err,
            ParseError::MixSum {
                text: "read=80,update=30".into(),
                sum: 110
            }
        );
        assert!(err.to_string().contains("sums to 110"), "{err}");
        assert!(
            "read=80,scan=20"
                .parse::<Mix>()
                .unwrap_err()
                .to_string()
                .contains("unknown operation 'scan'")
        );
        assert!(
            "read=eighty"
                .parse::<Mix>()
                .unwrap_err()
                .to_string()
                .contains("not a percentage")
        );
        assert!(
            "read"
                .parse::<Mix>()
                .unwrap_err()
                .to_string()
                .contains("NAME=PERCENT")
        );
        assert!(
            "read=50,read=50"
                .parse::<Mix>()
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!("read=300".parse::<Mix>().is_err());
        assert!(
            "zipf:abc"
                .parse::<KeyDist>()
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!("zipf:-1".parse::<KeyDist>().is_err());
        assert!("zipf:NaN".parse::<KeyDist>().is_err());
        assert!(
            "hotspot:0.2"
                .parse::<KeyDist>()
                .unwrap_err()
                .to_string()
                .contains("unknown distribution")
        );
        assert!(
            "hotspot:1.5:0.8"
                .parse::<KeyDist>()
                .unwrap_err()
                .to_string()
                .contains("strictly between")
        );
        assert!("pareto".parse::<KeyDist>().is_err());
        assert_eq!(
            "zipf:0.99".parse::<KeyDist>(),
            Ok(KeyDist::Zipf { s: Some(0.99) })
        );
        assert_eq!("read=80,update=20".parse::<Mix>(), Ok(Mix::SEED));
    }
}
