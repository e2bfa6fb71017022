//! The subcommands over stores and result files: `list`, `show`, `merge`,
//! `report`, `plot`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use store_catalog as registry;
use storelab_render::table;
use storelab_results::RunFile;

use super::Failure;

#[derive(Args, Debug)]
pub(super) struct ListArgs {
    /// Print only the names of the stores `serve` can serve, one a line
    /// (for scripts).
    #[arg(long)]
    servable: bool,
    #[command(flatten)]
    redis: super::redis::RedisArgs,
}

#[derive(Args, Debug)]
pub(super) struct ShowArgs {
    /// A run file written by `storelab run`.
    pub(super) file: PathBuf,
}

#[derive(Args, Debug)]
pub(super) struct MergeArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long)]
    out: PathBuf,
    /// The files are repetitions: cells of the same store and thread count
    /// become one cell whose samples are the runs, in the order given.
    #[arg(long)]
    reps: bool,
}

#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    /// Run files to report on.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The Markdown file to write; plots go to plots/ beside it.
    #[arg(long, default_value = "results/REPORT.md")]
    out: PathBuf,
}

pub(super) fn list(args: &ListArgs) -> Result<(), Failure> {
    args.redis.apply()?;
    if args.servable {
        for s in registry::catalog().iter().filter(|s| s.serve.is_some()) {
            println!("{}", s.entry.name);
        }
        return Ok(());
    }
    let mut t = table::Table::new(&["store", "kind", "threads", "what it is"]);
    let mut unavailable = Vec::new();
    for s in registry::catalog() {
        let e = &s.entry;
        let kind = e.family.name();
        if let Err(why) = (s.available)() {
            unavailable.push(format!("{}: {why}", e.name));
        }
        t.row(vec![
            e.name.into(),
            kind.into(),
            if e.single_thread {
                "1 only".into()
            } else {
                "any".into()
            },
            e.about.into(),
        ]);
    }
    print!("{}", t.text());
    for line in unavailable {
        println!("unavailable here: {line}");
    }
    Ok(())
}

pub(super) fn merge(args: MergeArgs) -> Result<(), Failure> {
    let files = args
        .files
        .iter()
        .map(|p| RunFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = if args.reps {
        RunFile::merge_reps(files)?
    } else {
        RunFile::merge(files)?
    };
    merged.write(&args.out)?;
    println!(
        "wrote {} ({} cells)",
        args.out.display(),
        merged.cells.len()
    );
    Ok(())
}

pub(super) fn report(args: ReportArgs) -> Result<(), Failure> {
    let files: Vec<(PathBuf, RunFile)> = args
        .files
        .iter()
        .map(|p| RunFile::read(p).map(|f| (p.clone(), f)))
        .collect::<Result<_, _>>()?;
    let written = storelab_render::report::write_report(&files, &args.out)?;
    for w in written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

/// The charts `plot` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Chart {
    /// scripts/soak's results/soak.json: RSS and read p99 per minute.
    Soak,
}

#[derive(Args, Debug)]
pub(super) struct PlotArgs {
    #[arg(value_enum)]
    chart: Chart,
    /// The result file to draw.
    file: PathBuf,
    /// The SVG file to write (default: FILE with .svg for .json).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Draws the chart of one result file into an SVG file.
pub(super) fn plot(args: &PlotArgs) -> Result<(), Failure> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("svg"));
    match args.chart {
        Chart::Soak => storelab_render::soak::write_soak_plot(&args.file, &out)?,
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// `--format` of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum ExportFormat {
    /// Go's benchmark format (benchfmt), for stock benchstat.
    Gobench,
}

#[derive(Args, Debug)]
pub(super) struct ExportArgs {
    /// A run file written by `storelab run`.
    file: PathBuf,
    #[arg(long, value_enum, default_value = "gobench")]
    format: ExportFormat,
}

/// Prints a run file in another tool's format.
pub(super) fn export(args: ExportArgs) -> Result<(), Failure> {
    let file = RunFile::read(&args.file)?;
    match args.format {
        ExportFormat::Gobench => print!("{}", storelab_render::gobench::gobench(&file)),
    }
    Ok(())
}
