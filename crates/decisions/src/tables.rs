//! The tables that show where the figures come from: every result file's
//! machine and command, and the seed run as README.md and DECISIONS.md print
//! it.

use std::fmt::Write as _;

use storelab_render::table::{run_header, run_table};

use crate::DecisionsError;
use crate::Results;

pub(crate) fn section_machine(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from("| result file | machine | date | command |\n|---|---|---|---|\n");
    for f in [
        "seed.json",
        "reads.json",
        "writes.json",
        "bulk.json",
        "seed-shards.json",
        "seed-visit.json",
        "micro.json",
        "http-closed.json",
        "http-open.json",
        "hot-visit.json",
        "hot-clone.json",
        "hot-update.json",
        "hot-low-ids.json",
        "seed-rcu.json",
        "seed-rcu-visit.json",
        "seed-newest.json",
        "seed-scrambled.json",
    ] {
        // The first nine every document needs; the hot-key runs only where
        // they were made (a fixture set may lack them).
        let optional = ["hot-", "seed-rcu", "seed-newest", "seed-scrambled"]
            .iter()
            .any(|p| f.starts_with(p));
        if optional && !r.dir.join(f).exists() {
            continue;
        }
        let file = r.get(f)?;
        let _ = writeln!(
            s,
            "| `results/{f}` | {} | {} | `{}` |",
            file.machine.summary(),
            file.machine.date,
            file.machine.command.replace('|', "\\|")
        );
    }
    Ok(s)
}

pub(crate) fn section_readme_output(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    Ok(format!(
        "```text\n{}\n{}\n{}```",
        run_header(file),
        run_table(file).text(),
        storelab_render::table::run_notes(file)
    ))
}

pub(crate) fn section_seed_table(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed.json")?;
    Ok(format!(
        "{}\n{}",
        run_header(file).replace('\n', "  \n"),
        run_table(file).markdown()
    ))
}
