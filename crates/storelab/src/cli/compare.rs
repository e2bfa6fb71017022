//! `storelab compare`: two runs, plain or normalized, or one run against a
//! baseline store; a significant regression is a finding (exit 1).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use storelab_render::compare::{self as cmp, Format};
use storelab_results::{Metric, RunFile};
use storelab_stats::compare::Reference;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct CompareArgs {
    /// One run file (with --baseline) or two (OLD NEW).
    #[arg(required = true, num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// Compare every store of one file against this store.
    #[arg(long)]
    baseline: Option<String>,
    /// The metric compared.
    #[arg(long, value_enum, default_value = "ns-per-op")]
    metric: MetricArg,
    /// Significance level of the Mann-Whitney U test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Exit non-zero if any row got worse by more than PCT percent, significantly.
    #[arg(long, value_name = "PCT")]
    fail_on_regression: Option<f64>,
    /// Compare only the (store, threads) rows both files have.
    #[arg(long)]
    common: bool,
    /// Divide every sample by STORE's sample of the same round and threads in
    /// the same file before comparing two files: cancels the drift of the
    /// machine between the runs. `others`: by the geometric mean of every
    /// other store both files measured, that round.
    #[arg(long, value_name = "STORE|others")]
    normalize: Option<String>,
}

/// `--metric`: the figures `compare` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum MetricArg {
    /// Nanoseconds per operation (lower is better).
    NsPerOp,
    /// Operations per second (higher is better).
    OpsPerSec,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Metric {
        match m {
            MetricArg::NsPerOp => Metric::NsPerOp,
            MetricArg::OpsPerSec => Metric::OpsPerSec,
        }
    }
}

/// `--format`: how `compare` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum FormatArg {
    Text,
    Md,
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Md => Format::Md,
            FormatArg::Csv => Format::Csv,
        }
    }
}

pub(super) fn compare(args: CompareArgs) -> Result<(), Failure> {
    let (metric, format): (Metric, Format) = (args.metric.into(), args.format.into());
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(format!("--alpha must be between 0 and 1, got {}", args.alpha).into());
    }
    if args
        .fail_on_regression
        .is_some_and(|p| !(p.is_finite() && p >= 0.0))
    {
        return Err("--fail-on-regression takes a non-negative percentage".into());
    }
    let files: Vec<RunFile> = args
        .files
        .iter()
        .map(|p| RunFile::read(p))
        .collect::<Result<_, _>>()?;
    match (files.as_slice(), &args.baseline) {
        ([_], Some(_)) if args.normalize.is_some() => Err(
            "--normalize compares two files (OLD NEW); --baseline already compares the stores of one file with each other"
                .into(),
        ),
        ([file], Some(baseline)) => {
            let rows =
                storelab_stats::compare::against_baseline(file, baseline, metric, args.alpha)?;
            let table = cmp::baseline_table(&rows, baseline, metric.name(), args.alpha);
            let title = format!(
                "{} against {baseline} ({})",
                stem(&args.files[0]),
                metric.name()
            );
            print!("{}", cmp::render(&table, format, &title));
            if args.fail_on_regression.is_some() {
                return Err("--fail-on-regression needs two files (OLD NEW)".into());
            }
            Ok(())
        }
        ([_], None) => Err("one file needs --baseline STORE; or give two files, OLD NEW".into()),
        ([old, new], None) => compare_two(&args, old, new, metric, format),
        ([_, _], Some(_)) => {
            Err("--baseline compares the stores of one file; give one file".into())
        }
        _ => Err("give one file with --baseline, or two files".into()),
    }
}

/// How titles and findings name a reference.
fn describe(r: &Reference) -> String {
    match r {
        Reference::Store(s) => s.clone(),
        Reference::Others => "the other stores' geometric mean".to_owned(),
    }
}

/// A reference's values, as a title names them.
fn whose(r: &Reference) -> String {
    match r {
        Reference::Store(s) => format!("{s}'s"),
        Reference::Others => "the other stores' geometric mean".to_owned(),
    }
}

/// A file's name without its folder and extension, for table titles.
pub(super) fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("run")
        .to_owned()
}

/// `compare OLD NEW`, plain or normalized; a significant regression past
/// `--fail-on-regression` is a finding.
pub(super) fn compare_two(
    args: &CompareArgs,
    old: &RunFile,
    new: &RunFile,
    metric: Metric,
    format: Format,
) -> Result<(), Failure> {
    let (m_old, m_new) = (old.machine.name(), new.machine.name());
    let other_machine = m_old != m_new;
    if other_machine && args.normalize.is_none() && args.fail_on_regression.is_some() {
        return Err(format!(
            "OLD was measured on {m_old} and NEW on {m_new}: raw ratios compare the machines, not the code; \
             gate across machines only with --normalize others (each sample over the other stores of its round)"
        )
        .into());
    }
    let c = match &args.normalize {
        None => storelab_stats::compare::compare(old, new, metric, args.alpha, args.common)?,
        Some(reference) => storelab_stats::compare::compare_normalized(
            old,
            new,
            metric,
            args.alpha,
            args.common,
            &Reference::parse(reference),
        )?,
    };
    let (mut a, mut b) = (stem(&args.files[0]), stem(&args.files[1]));
    if other_machine {
        a = format!("{a} ({m_old})");
        b = format!("{b} ({m_new})");
        if args.normalize.is_none() {
            eprintln!(
                "storelab: note: the files come from two machines ({m_old}, {m_new}): raw ratios measure the machines as much as the stores; --normalize others compares each store relative to the others of its own run"
            );
        }
    }
    let title = match &args.normalize {
        None => format!("{a} -> {b} ({}, alpha {})", metric.name(), args.alpha),
        Some(reference) => format!(
            "{a} -> {b} ({} over {} in the same round, alpha {})",
            metric.name(),
            whose(&Reference::parse(reference)),
            args.alpha
        ),
    };
    print!(
        "{}",
        cmp::render(&cmp::comparison_table(&c, &a, &b), format, &title)
    );
    for u in &c.unmatched {
        eprintln!("storelab: note: {u}");
    }
    let Some(pct) = args.fail_on_regression else {
        return Ok(());
    };
    let bad = c.regressions(pct);
    if bad.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = bad
        .iter()
        .map(|r| format!("{} x{} {:+.1}%", r.store, r.threads, r.delta_pct))
        .collect();
    let normalized = args
        .normalize
        .as_deref()
        .map(|r| format!(" (normalized by {})", describe(&Reference::parse(r))))
        .unwrap_or_default();
    Err(Failure::Finding(format!(
        "significant regression past {pct}%{normalized}: {}",
        rows.join(", ")
    )))
}
