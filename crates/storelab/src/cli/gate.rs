//! `storelab gate`: instruction and allocation counts against the baseline;
//! a regression is a finding (exit 1).

use std::path::PathBuf;

use clap::Args;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct GateArgs {
    /// Where gungraun wrote the callgrind-gate summaries.
    #[arg(long, default_value = "target/gungraun/callgrind-gate")]
    summaries: PathBuf,
    /// The committed baseline.
    #[arg(long, default_value = "results/gate-baseline.json")]
    baseline: PathBuf,
    /// Largest instruction-count growth allowed, in percent.
    #[arg(long, default_value_t = 2.0)]
    tolerance: f64,
    /// Write the current counts as the new baseline instead of checking.
    #[arg(long)]
    bless: bool,
}

pub(super) fn gate(args: GateArgs) -> Result<(), Failure> {
    use storelab_gate as gate;
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return Err("--tolerance takes a non-negative percentage".into());
    }
    let version = |program: &str| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    let current = gate::collect(&args.summaries, &version("rustc"), &version("valgrind"))?;
    if args.bless {
        current.write(&args.baseline)?;
        println!(
            "blessed {} benchmarks into {}",
            current.counts.len(),
            args.baseline.display()
        );
        return Ok(());
    }
    let baseline = gate::GateFile::read(&args.baseline)?;
    let verdicts = gate::check(&baseline, &current, args.tolerance)?;
    print!("{}", gate::table(&verdicts).text());
    let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
    if failed > 0 {
        return Err(Failure::Finding(format!(
            "{failed} benchmark(s) regressed against {} (instructions past {}% or any new allocation); \
             if the change is intended, run scripts/bless and commit the baseline",
            args.baseline.display(),
            args.tolerance
        )));
    }
    println!(
        "gate: {} benchmarks within {}% instructions and no new allocations",
        verdicts.len(),
        args.tolerance
    );
    Ok(())
}
