//! `storelab decisions` (a stale document under `--check` is a finding) and
//! `storelab import-criterion`.

use std::path::PathBuf;

use clap::Args;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct DecisionsArgs {
    /// The document to rewrite in place.
    #[arg(long, default_value = "DECISIONS.md")]
    doc: PathBuf,
    /// Where the result files are.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Exit non-zero if the document is not up to date, instead of rewriting it.
    #[arg(long)]
    check: bool,
}

#[derive(Args, Debug)]
pub(super) struct ImportArgs {
    /// A criterion group's folder, e.g. target/criterion/log-claims.
    group: PathBuf,
    /// Elements each iteration processes (the group's throughput).
    #[arg(long, default_value_t = 1.0)]
    elements: f64,
    /// Each benchmark's median as one sample: this pass is one round, to
    /// merge with others (`storelab merge --reps`) for paired comparisons.
    #[arg(long)]
    one_sample: bool,
    #[arg(long)]
    out: PathBuf,
}

pub(super) fn decisions(args: DecisionsArgs) -> Result<(), Failure> {
    let doc = std::fs::read_to_string(&args.doc)
        .map_err(|e| format!("cannot read {}: {e}", args.doc.display()))?;
    let new = storelab_decisions::regenerate(&doc, &args.results)?;
    if args.check {
        if new != doc {
            return Err(Failure::Finding(format!(
                "{} is stale: run scripts/regen",
                args.doc.display()
            )));
        }
        println!(
            "{} is up to date with {}",
            args.doc.display(),
            args.results.display()
        );
        return Ok(());
    }
    std::fs::write(&args.doc, new)
        .map_err(|e| format!("cannot write {}: {e}", args.doc.display()))?;
    println!("regenerated {}", args.doc.display());
    Ok(())
}

pub(super) fn import_criterion(args: ImportArgs) -> Result<(), Failure> {
    if !(args.elements.is_finite() && args.elements > 0.0) {
        return Err("--elements must be positive".into());
    }
    let file = storelab_decisions::import_criterion(&args.group, args.elements, args.one_sample)?;
    file.write(&args.out)?;
    println!(
        "wrote {} ({} benchmarks)",
        args.out.display(),
        file.cells.len()
    );
    Ok(())
}
