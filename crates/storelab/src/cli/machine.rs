//! `storelab machine`: the record every result file of this machine and
//! binary carries, without running anything; `--name` prints the short name
//! that names the machine's folder under `results/` (`scripts/scale` uses it).

use clap::Args;

use storelab_results::Machine;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct MachineArgs {
    /// Print only the machine's short name (e.g. xeon-16c).
    #[arg(long, conflicts_with = "json")]
    name: bool,
    /// Print the whole record as JSON, as result files hold it.
    #[arg(long)]
    json: bool,
}

pub(super) fn machine(args: &MachineArgs) -> Result<(), Failure> {
    let m = Machine::current();
    if args.name {
        println!("{}", m.name());
    } else if args.json {
        let text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        println!("{}", m.summary());
    }
    Ok(())
}
