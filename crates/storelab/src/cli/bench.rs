//! The lab from a crate's own `cargo bench` (a `[[bench]]` with
//! `harness = false`): [`super::bench_main`] for stores of your own, and
//! [`crate_bench_main`] (through [`crate::crate_bench!`]) for a catalog store
//! crate's stores.

use std::process::ExitCode;

use clap::Parser;

use super::{BESIDE_YOURS, Cli, Command, exit, run};

/// The option [`crate_bench_main`] takes itself: the criterion
/// micro-benchmarks too, before the lab's run.
const MICRO: &str = "--micro";

/// The arguments cargo gave this bench, less cargo's own `--bench`.
pub(super) fn args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}

/// `storelab run ARGS` over `yours` and the catalog's stores; without
/// `--stores` in `args`, over `stores` and then [`BESIDE_YOURS`], each once.
pub(super) fn lab(
    args: Vec<String>,
    yours: Vec<bench_harness::Entry>,
    stores: &[&str],
) -> ExitCode {
    let mut argv: Vec<String> = vec!["storelab".into(), "run".into()];
    let named = args
        .iter()
        .any(|a| a == "--stores" || a.starts_with("--stores="));
    argv.extend(args);
    if !named {
        argv.push("--stores".into());
        argv.push(default_stores(stores));
    }
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Run(args),
        }) => exit(run::run(args, yours)),
        Ok(_) => exit(Err("only `run` options are taken here".into())),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
    }
}

/// `stores`, then the peers and floors of [`BESIDE_YOURS`] not among them.
fn default_stores(stores: &[&str]) -> String {
    let mut names: Vec<&str> = stores.to_vec();
    for name in BESIDE_YOURS.split(',') {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(",")
}

/// `cargo bench -p store-NAME`: the stores the catalog builds from the
/// crate `package` (its `CARGO_PKG_NAME`; [`store_catalog::of_crate`], knob
/// settings left out), benched as a crate benches a store of its own.
///
/// With no options, their criterion micro-benchmarks (`criterion-kit`), then
/// the lab's seed run beside the peers and floors ([`BESIDE_YOURS`]), with
/// `storelab run`'s table and result file. With options, those of `storelab
/// run` (`-- --preset smoke --threads 1`), only the lab's run, unless
/// `--micro` asks for the micro-benchmarks first too.
pub fn crate_bench_main(package: &str) -> ExitCode {
    crate::build().install();
    let (micro, args) = take_micro(args());
    let stores = store_catalog::of_crate(package);
    if stores.is_empty() {
        return exit(Err(format!(
            "no catalog store comes from the crate {package}: add its line to \
             for_each_store! (crates/catalog/src/lib.rs)"
        )
        .into()));
    }
    if micro && let Err(failure) = micro_benches(&stores) {
        return exit(Err(failure));
    }
    let names: Vec<&str> = stores.iter().map(|s| s.entry.name).collect();
    lab(args, Vec::new(), &names)
}

/// Whether to run the micro-benchmarks (`--micro`, or no options at all),
/// and the options left for the lab.
fn take_micro(args: Vec<String>) -> (bool, Vec<String>) {
    let asked = args.iter().any(|a| a == MICRO);
    let micro = asked || args.is_empty();
    (micro, args.into_iter().filter(|a| a != MICRO).collect())
}

#[cfg(feature = "micro")]
fn micro_benches(stores: &[store_catalog::Store]) -> Result<(), super::Failure> {
    let names: Vec<&str> = stores.iter().map(|s| s.entry.name).collect();
    criterion_kit::run_catalog_benches(&|line| names.contains(&line.entry.name));
    Ok(())
}

#[cfg(not(feature = "micro"))]
fn micro_benches(_: &[store_catalog::Store]) -> Result<(), super::Failure> {
    Err(
        "this storelab was built without its `micro` feature: no criterion benches \
         (depend on storelab with features = [\"micro\"])"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn micro_runs_with_no_options_or_when_asked() {
        assert_eq!(take_micro(Vec::new()), (true, Vec::new()));
        let smoke = strings(&["--preset", "smoke"]);
        assert_eq!(take_micro(smoke.clone()), (false, smoke.clone()));
        let asked = strings(&["--preset", "smoke", "--micro"]);
        assert_eq!(take_micro(asked), (true, smoke));
        assert_eq!(take_micro(strings(&["--micro"])), (true, Vec::new()));
    }

    #[test]
    fn the_peers_and_floors_follow_each_once() {
        assert_eq!(
            default_stores(&["dense"]),
            "dense,dashmap,papaya,scc,unsync,noop"
        );
        assert_eq!(
            default_stores(&["dashmap", "papaya", "scc"]),
            "dashmap,papaya,scc,dense,unsync,noop"
        );
        assert_eq!(default_stores(&["btree"]), format!("btree,{BESIDE_YOURS}"));
    }
}
