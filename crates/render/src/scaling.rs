//! Scaling plots: throughput against threads on log-log axes, for run files
//! that measured at least [`MIN_THREAD_COUNTS`] thread counts (a many-core
//! machine's files).
//!
//! One line per store (the median over repetitions at each thread count)
//! with its 95% interval shaded; the floor store dashed in black; stores
//! measured at one thread only (the single-thread limits) as a lone marker;
//! the ideal linear line from the best one-thread store, thin, grey and
//! dashed. `noop`, the harness's own cost, is left out: it runs no store
//! and sits orders of magnitude above the others, so a caption names it
//! instead. The legend and the captions sit in a panel right of the plot,
//! never over the data.
//!
//! [`scaling_series`] computes what is drawn and is tested alone;
//! [`scaling_plot`] only draws it.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use storelab_results::{Family, Metric, RunFile};
use storelab_stats::summarize;

use crate::report::{PlotResult, color, plot_err, root};
use crate::table::human;

/// The fewest thread counts a run file needs for a scaling plot.
pub const MIN_THREAD_COUNTS: usize = 3;
/// The store left out of the plot: the harness's own cost.
pub const LEFT_OUT: &str = "noop";
/// The lab's multi-thread floor store, drawn distinctly.
pub const FLOOR: &str = "floor";
/// The level of the shaded intervals.
pub const CONFIDENCE: f64 = 0.95;

/// One store at one thread count, in millions of operations per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub threads: usize,
    pub median: f64,
    /// The 95% interval of the median; `None` under six repetitions.
    pub ci: Option<(f64, f64)>,
}

/// How a store's series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A line with its interval band, in the store's colour.
    Store,
    /// The multi-thread floor: dashed, black.
    Floor,
    /// Measured at one thread count only (the single-thread limits, such as
    /// `unsync`): a lone marker.
    Single,
}

/// One store's points, ascending in threads.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub store: String,
    pub role: Role,
    pub points: Vec<Point>,
}

/// The ideal linear scaling: the best one-thread store's throughput times
/// the thread count.
#[derive(Clone, Debug, PartialEq)]
pub struct Ideal {
    /// The best non-limit store at one thread.
    pub from: String,
    /// (threads, Mops/s) at each measured thread count.
    pub points: Vec<(usize, f64)>,
}

/// Everything a scaling plot draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    /// The measured thread counts, ascending.
    pub threads: Vec<usize>,
    pub series: Vec<Series>,
    pub ideal: Option<Ideal>,
    /// The stores left out ([`LEFT_OUT`]), for the caption.
    pub left_out: Vec<Series>,
}

/// Whether a run file gets a scaling plot.
pub fn scales(file: &RunFile) -> bool {
    file.thread_counts().len() >= MIN_THREAD_COUNTS
}

/// The series of a scaling plot, in the file's store order.
pub fn scaling_series(file: &RunFile) -> Scaling {
    let mut series = Vec::new();
    let mut left_out = Vec::new();
    for (i, info) in file.stores.iter().enumerate() {
        let again = file.stores[..i].iter().any(|o| o.name == info.name);
        let Some(s) = store_series(file, &info.name).filter(|_| !again) else {
            continue;
        };
        if s.store == LEFT_OUT {
            left_out.push(s);
        } else {
            series.push(s);
        }
    }
    let ideal = ideal(file, &series);
    Scaling {
        threads: file.thread_counts(),
        series,
        ideal,
        left_out,
    }
}

/// One store's medians and intervals; `None` if it has no cells.
fn store_series(file: &RunFile, store: &str) -> Option<Series> {
    let mut points: Vec<Point> = file
        .cells
        .iter()
        .filter(|c| c.store == store && !c.samples.is_empty())
        .map(|c| {
            let s = summarize(&Metric::OpsPerSec.values(c), CONFIDENCE);
            Point {
                threads: c.threads,
                median: s.median / 1e6,
                ci: s.ci.map(|(lo, hi)| (lo / 1e6, hi / 1e6)),
            }
        })
        .collect();
    points.sort_by_key(|p| p.threads);
    let role = if store == FLOOR {
        Role::Floor
    } else if points.len() == 1 {
        Role::Single
    } else {
        Role::Store
    };
    (!points.is_empty()).then(|| Series {
        store: store.to_owned(),
        role,
        points,
    })
}

/// The ideal line from the best one-thread store that is not a limit (nor
/// the floor) and whose one-thread cell was long enough to rank.
fn ideal(file: &RunFile, series: &[Series]) -> Option<Ideal> {
    let limits = file.limits();
    let (from, best) = series
        .iter()
        .filter(|s| s.role == Role::Store && !limits.contains(&s.store.as_str()))
        .filter(|s| {
            file.store(&s.store)
                .is_none_or(|i| i.family != Family::Limit)
        })
        .filter_map(|s| {
            let p = s.points.iter().find(|p| p.threads == 1)?;
            let short = file.cell(&s.store, 1).is_some_and(|c| c.too_short);
            (!short && p.median.is_finite()).then_some((s.store.as_str(), p.median))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Ideal {
        from: from.to_owned(),
        points: file
            .thread_counts()
            .into_iter()
            .map(|t| (t, best * t as f64))
            .collect(),
    })
}

/// The notes under a scaling plot (and beside it in REPORT.md).
pub fn captions(s: &Scaling) -> Vec<String> {
    let mut out = vec![format!(
        "Lines: median throughput over the repetitions; shaded: its {:.0}% interval \
         (none under 6 repetitions). Both axes are logarithmic.",
        CONFIDENCE * 100.0
    )];
    for x in &s.left_out {
        let first = &x.points[0];
        out.push(format!(
            "{} (the harness's own cost, {} Mops/s at {} thread{}) is left out: it runs no \
             store, and its throughput dwarfs theirs.",
            x.store,
            human(first.median),
            first.threads,
            if first.threads == 1 { "" } else { "s" }
        ));
    }
    if s.series.iter().any(|x| x.role == Role::Floor) {
        out.push(format!(
            "{FLOOR} (black, dashed): the lab's multi-thread floor."
        ));
    }
    let single: Vec<&str> = s
        .series
        .iter()
        .filter(|x| x.role == Role::Single)
        .map(|x| x.store.as_str())
        .collect();
    if !single.is_empty() {
        out.push(format!(
            "Lone markers ({}): measured at one thread count only, such as the \
             single-thread limits.",
            single.join(", ")
        ));
    }
    if let Some(i) = &s.ideal {
        out.push(format!(
            "Grey dashed: ideal linear scaling, {} at one thread times the thread count.",
            i.from
        ));
    }
    out
}

/// A scaling chart: log x (threads), log y (Mops/s), custom ticks.
type ScalingChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<WithKeyPoints<LogCoord<f64>>, WithKeyPoints<LogCoord<f64>>>,
>;

/// Draws the scaling plot of `file` into an SVG file at `path`.
pub fn scaling_plot(file: &RunFile, title: &str, path: &Path) -> PlotResult {
    let s = scaling_series(file);
    let area = root(path, (1320, 720));
    let (plot, side) = area.split_horizontally(900);
    let mut chart = chart(&plot, &s, title)?;
    if let Some(i) = &s.ideal {
        let pts = i.points.iter().map(|(t, y)| (*t as f64, *y));
        chart
            .draw_series(DashedLineSeries::new(pts, 6, 5, ideal_style()))
            .map_err(plot_err)?;
    }
    // Lone markers last, so that no line covers them.
    let mut order: Vec<(usize, &Series)> = s.series.iter().enumerate().collect();
    order.sort_by_key(|(_, x)| x.role == Role::Single);
    for (i, series) in order {
        draw_series(&mut chart, series, series_color(series, i))?;
    }
    legend_panel(&side, &s)?;
    area.present().map_err(plot_err)
}

fn ideal_style() -> ShapeStyle {
    RGBColor(120, 120, 120).stroke_width(1)
}

fn series_color(s: &Series, i: usize) -> RGBColor {
    if s.role == Role::Floor {
        BLACK
    } else {
        color(i)
    }
}

/// The axes, their ticks and the title.
fn chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    s: &Scaling,
    title: &str,
) -> Result<ScalingChart<'a, 'b>, crate::RenderError> {
    let t_lo = s.threads.first().copied().unwrap_or(1).max(1) as f64;
    let t_hi = s.threads.last().copied().unwrap_or(1).max(1) as f64;
    let (lo, hi) = y_bounds(s);
    let x_ticks: Vec<f64> = s.threads.iter().map(|t| *t as f64).collect();
    let (y_bold, y_light) = y_ticks(lo, hi);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 26))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (t_lo / 1.25..t_hi * 1.25)
                .log_scale()
                .with_key_points(x_ticks),
            (lo..hi)
                .log_scale()
                .with_key_points(y_bold)
                .with_light_points(y_light),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc("throughput (Mops/s)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| tick_label(*y))
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(plot_err)?;
    Ok(chart)
}

/// The y range around every drawn value, ideal line included, padded.
fn y_bounds(s: &Scaling) -> (f64, f64) {
    let values = s
        .series
        .iter()
        .flat_map(|x| x.points.iter())
        .flat_map(|p| {
            let (lo, hi) = p.ci.unwrap_or((p.median, p.median));
            [p.median, lo, hi]
        })
        .chain(s.ideal.iter().flat_map(|i| i.points.iter().map(|p| p.1)));
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.1, 10.0);
    }
    (lo / 1.4, hi * 1.4)
}

/// Labelled ticks at 1, 2 and 5 times the powers of ten in [lo, hi] (every
/// integer multiple when that leaves fewer than three), and faint grid lines
/// at every integer multiple.
pub fn y_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let multiples = |ms: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        // m * 10^k, dividing for negative k so that 0.3 is 0.3.
        let at = |m: f64, k: i32| {
            if k < 0 {
                m / 10f64.powi(-k)
            } else {
                m * 10f64.powi(k)
            }
        };
        let mut k = lo.log10().floor() as i32;
        while at(1.0, k) <= hi {
            out.extend(
                ms.iter()
                    .map(|m| at(*m, k))
                    .filter(|v| *v >= lo && *v <= hi),
            );
            k += 1;
        }
        out
    };
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (vec![], vec![]);
    }
    let all = multiples(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let bold = multiples(&[1.0, 2.0, 5.0]);
    if bold.len() < 3 {
        return (all.clone(), all);
    }
    (bold, all)
}

/// A tick value without trailing zeros: 0.05, 0.5, 2, 50, 200, 5k.
pub fn tick_label(v: f64) -> String {
    if v >= 1e4 {
        human(v)
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// One store: its band, its line (or lone marker) and its points.
fn draw_series(chart: &mut ScalingChart<'_, '_>, s: &Series, c: RGBColor) -> PlotResult {
    let xy = |p: &Point| (p.threads as f64, p.median);
    for run in s.points.split(|p| p.ci.is_none()) {
        let band: Vec<(f64, f64)> = run
            .iter()
            .filter_map(|p| p.ci.map(|(_, hi)| (p.threads as f64, hi)))
            .chain(
                run.iter()
                    .rev()
                    .filter_map(|p| p.ci.map(|(lo, _)| (p.threads as f64, lo))),
            )
            .collect();
        if run.len() >= 2 {
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled())))
                .map_err(plot_err)?;
        }
    }
    match s.role {
        Role::Store => chart
            .draw_series(LineSeries::new(s.points.iter().map(xy), c.stroke_width(2)))
            .map(|_| ()),
        Role::Floor => chart
            .draw_series(DashedLineSeries::new(
                s.points.iter().map(xy),
                8,
                5,
                c.stroke_width(2),
            ))
            .map(|_| ()),
        Role::Single => chart
            .draw_series(s.points.iter().filter_map(|p| {
                let (lo, hi) = p.ci?;
                let x = p.threads as f64;
                Some(PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(2)))
            }))
            .map(|_| ()),
    }
    .map_err(plot_err)?;
    if s.role == Role::Single {
        chart
            .draw_series(s.points.iter().map(|p| {
                EmptyElement::at(xy(p))
                    + Polygon::new(diamond(9), c.filled())
                    + PathElement::new(outline(diamond(9)), BLACK.stroke_width(1))
            }))
            .map_err(plot_err)?;
    } else {
        chart
            .draw_series(s.points.iter().map(|p| Circle::new(xy(p), 4, c.filled())))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// The corners of a diamond marker, `r` pixels from its centre.
fn diamond(r: i32) -> Vec<(i32, i32)> {
    vec![(0, -r), (r, 0), (0, r), (-r, 0)]
}

/// A polygon's corners as a closed path, for its outline.
fn outline(mut corners: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    if let Some(first) = corners.first().copied() {
        corners.push(first);
    }
    corners
}

/// The legend and the captions, in the panel right of the plot.
fn legend_panel(side: &DrawingArea<SVGBackend<'_>, Shift>, s: &Scaling) -> PlotResult {
    let font = ("sans-serif", 18).into_font();
    let (x, mut y) = (10, 60);
    for (i, series) in s.series.iter().enumerate() {
        legend_sample(side, series, series_color(series, i), (x, y))?;
        side.draw(&Text::new(
            series.store.clone(),
            (x + 40, y - 8),
            font.clone(),
        ))
        .map_err(plot_err)?;
        y += 22;
    }
    if s.ideal.is_some() {
        side.draw(&DashedPathElement::new(
            vec![(x, y), (x + 30, y)],
            6,
            5,
            ideal_style(),
        ))
        .map_err(plot_err)?;
        for (k, line) in ["ideal (linear from the best", "1-thread store)"]
            .iter()
            .enumerate()
        {
            side.draw(&Text::new(
                *line,
                (x + 40, y - 8 + 17 * k as i32),
                font.clone(),
            ))
            .map_err(plot_err)?;
        }
        y += 40;
    }
    captions_text(side, &captions(s), (x, y + 16), 46)
}

/// A legend entry's sample, 30 pixels wide from `(x, y)`: the band's
/// shade, the line, the marker, as the plot draws them.
fn legend_sample(
    side: &DrawingArea<SVGBackend<'_>, Shift>,
    series: &Series,
    c: RGBColor,
    (x, y): (i32, i32),
) -> PlotResult {
    let line = vec![(x, y), (x + 30, y)];
    let banded = series.points.iter().any(|p| p.ci.is_some());
    match series.role {
        Role::Single => {
            return side
                .draw(
                    &(EmptyElement::at((x + 15, y))
                        + Polygon::new(diamond(7), c.filled())
                        + PathElement::new(outline(diamond(7)), BLACK.stroke_width(1))),
                )
                .map_err(plot_err);
        }
        _ if banded => side
            .draw(&Rectangle::new(
                [(x, y - 6), (x + 30, y + 6)],
                c.mix(0.15).filled(),
            ))
            .map_err(plot_err)?,
        _ => {}
    }
    match series.role {
        Role::Floor => side.draw(&DashedPathElement::new(line, 8, 4, c.stroke_width(2))),
        _ => side.draw(&PathElement::new(line, c.stroke_width(2))),
    }
    .map_err(plot_err)?;
    side.draw(&Circle::new((x + 15, y), 4, c.filled()))
        .map_err(plot_err)
}

/// Captions, wrapped to `width` characters (the panel's width), from `at`
/// down.
pub(crate) fn captions_text(
    side: &DrawingArea<SVGBackend<'_>, Shift>,
    captions: &[String],
    at: (i32, i32),
    width: usize,
) -> PlotResult {
    let font = ("sans-serif", 16).into_font().color(&RGBColor(60, 60, 60));
    let (x, mut y) = at;
    for caption in captions {
        for line in wrap(caption, width) {
            side.draw(&Text::new(line, (x, y), font.clone()))
                .map_err(plot_err)?;
            y += 15;
        }
        y += 6;
    }
    Ok(())
}

/// Splits `text` into lines of at most `width` characters at spaces (a
/// longer word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use storelab_results::fixture::{cell, file};

    /// A cell of `store` at `threads` whose repetitions ran at these ns/op.
    fn at(store: &str, threads: usize, ns: &[f64]) -> storelab_results::Cell {
        let mut c = cell(store, ns);
        c.threads = threads;
        c
    }

    /// Three thread counts: two stores, the floor, noop, and a
    /// single-thread limit that beats every store at one thread.
    pub(crate) fn run() -> RunFile {
        let six = |ns: f64| [ns, ns * 2.0, ns, ns, ns * 2.0, ns * 4.0];
        let mut cells = Vec::new();
        for t in [1, 2, 4] {
            let t_f = t as f64;
            cells.push(at("a", t, &six(10.0 / t_f)));
            cells.push(at("b", t, &[20.0, 20.0, 20.0]));
            cells.push(at("floor", t, &six(100.0)));
            cells.push(at("noop", t, &six(0.1)));
        }
        cells.push(at("unsync", 1, &six(1.0)));
        let mut f = file(cells);
        for s in &mut f.stores {
            if ["floor", "noop", "unsync"].contains(&s.name.as_str()) {
                s.family = Family::Limit;
            }
        }
        f.stores.sort_by_key(|s| {
            ["a", "b", "floor", "noop", "unsync"]
                .iter()
                .position(|n| *n == s.name)
        });
        f.stores.dedup_by(|x, y| x.name == y.name);
        f
    }

    #[test]
    fn medians_intervals_and_roles() {
        let f = run();
        assert!(scales(&f));
        let s = scaling_series(&f);
        assert_eq!(s.threads, vec![1, 2, 4]);
        let names: Vec<&str> = s.series.iter().map(|x| x.store.as_str()).collect();
        assert_eq!(names, ["a", "b", "floor", "unsync"], "noop is left out");
        let a = &s.series[0];
        assert_eq!(a.role, Role::Store);
        // 1e9/ns: 100, 50, 100, 100, 50, 25 Mops/s at one thread; the median
        // is 75, the 95% interval of six runs from the least to the most.
        let p = &a.points[0];
        assert_eq!(p.threads, 1);
        assert!((p.median - 75.0).abs() < 1e-9, "{p:?}");
        assert_eq!(p.ci, Some((25.0, 100.0)));
        let at4 = &a.points[2];
        assert_eq!(at4.threads, 4);
        assert!((at4.median - 300.0).abs() < 1e-9, "{at4:?}");
        // Three repetitions: a median, no interval.
        let b = &s.series[1];
        assert!((b.points[0].median - 50.0).abs() < 1e-9);
        assert!(b.points.iter().all(|p| p.ci.is_none()));
        assert_eq!(s.series[2].role, Role::Floor);
        assert_eq!(s.series[3].role, Role::Single);
        assert_eq!(s.series[3].points.len(), 1);
        assert_eq!(s.left_out.len(), 1);
        assert_eq!(s.left_out[0].store, "noop");
        assert!((s.left_out[0].points[0].median - 7500.0).abs() < 1e-6);
    }

    #[test]
    fn ideal_is_the_best_one_thread_store_times_threads() {
        let s = scaling_series(&run());
        let ideal = s.ideal.as_ref().expect("a store ran at one thread");
        // unsync (a limit, 750) and noop are faster at one thread; the best
        // store is a at 75.
        assert_eq!(ideal.from, "a");
        let want = [(1, 75.0), (2, 150.0), (4, 300.0)];
        assert_eq!(ideal.points.len(), want.len());
        for ((t, y), (wt, wy)) in ideal.points.iter().zip(want) {
            assert_eq!(*t, wt);
            assert!((y - wy).abs() < 1e-9, "{t}: {y}");
        }
        let text = captions(&s).join("\n");
        assert!(
            text.contains("noop (the harness's own cost, 7500 Mops/s at 1 thread)"),
            "{text}"
        );
        assert!(text.contains("floor (black, dashed)"), "{text}");
        assert!(text.contains("Lone markers (unsync)"), "{text}");
        assert!(text.contains("a at one thread"), "{text}");
    }

    #[test]
    fn two_thread_counts_do_not_scale() {
        let f = file(vec![at("a", 1, &[1.0]), at("a", 2, &[1.0])]);
        assert!(!scales(&f));
    }

    #[test]
    fn ticks_and_labels_read_well() {
        let (bold, light) = y_ticks(0.3, 250.0);
        assert_eq!(bold, [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert!(light.contains(&0.3) && light.contains(&30.0) && !light.contains(&300.0));
        // A narrow range gets every integer multiple.
        assert_eq!(y_ticks(3.0, 8.5).0, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(y_ticks(0.0, 1.0), (vec![], vec![]));
        let labels: Vec<String> = [0.05, 0.5, 2.0, 50.0, 200.0, 20_000.0]
            .iter()
            .map(|v| tick_label(*v))
            .collect();
        assert_eq!(labels, ["0.05", "0.5", "2", "50", "200", "20.0k"]);
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn plot_draws_every_series_and_the_legend() {
        let dir = std::env::temp_dir().join(format!("storelab-scaling-{}", std::process::id()));
        let path = dir.join("scaling.svg");
        std::fs::create_dir_all(&dir).expect("temp dir");
        scaling_plot(&run(), "seed on test-2c: throughput by threads", &path).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        let _ = std::fs::remove_dir_all(&dir);
        for text in [
            "seed on test-2c: throughput by threads",
            "threads",
            "throughput (Mops/s)",
            "ideal (linear from the best",
            "1-thread store)",
            "a",
            "b",
            "unsync",
            "floor",
        ] {
            assert!(has_text(&svg, text), "{text} missing");
        }
        assert!(!has_text(&svg, "noop"), "noop has no legend entry");
    }

    /// Whether the SVG has a text element of exactly `text`.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// The many-core files in results/ render, with every store but noop in
    /// the legend.
    #[test]
    fn committed_many_core_files_render() {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results");
        let dir = std::env::temp_dir().join(format!("storelab-scaling-{}-m", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for name in ["xeon-16c/seed.json", "xeon-16c/hot-visit.json"] {
            let Ok(f) = RunFile::read(&results.join(name)) else {
                continue;
            };
            assert!(scales(&f), "{name}");
            let path = dir.join(name.replace('/', "-").replace(".json", ".svg"));
            scaling_plot(&f, name, &path).expect("drawn");
            let svg = std::fs::read_to_string(&path).expect("written");
            for s in f.stores.iter().filter(|s| s.name != LEFT_OUT) {
                assert!(has_text(&svg, &s.name), "{name}: {} missing", s.name);
            }
            assert!(!has_text(&svg, LEFT_OUT), "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
