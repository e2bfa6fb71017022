//! The soak plot, `results/soak.svg`, from the soak file that
//! `scripts/soak` writes ([`SoakFile`]): two panels, the server's resident
//! memory in MiB and the read p99 in µs after each one-minute window, one
//! line per store. Each store has its colour and its marker shape, so that
//! lines lying close stay apart. Both y axes start at zero, so that a
//! line's rise is its growth in proportion. The legend and the captions sit
//! in a panel right of the plots, never over the data.
//!
//! [`soak_panels`] computes what is drawn and is tested alone;
//! [`soak_plot`] only draws it.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use storelab_results::SoakFile;

use crate::RenderError;
use crate::report::{PlotResult, color, plot_err, root};
use crate::scaling::{captions_text, tick_label};

/// The plot's title, above both panels.
pub const TITLE: &str = "Soak: server memory and read tail latency, minute by minute";
/// The most labelled minutes on the x axis: every minute up to this many,
/// else plotters' round steps (2, 5, ...).
const MAX_X_TICKS: usize = 15;
/// The plot's size in pixels, and the width of the plots left of the
/// legend panel.
const SIZE: (u32, u32) = (1240, 900);
const PLOTS_WIDTH: u32 = 900;

/// One panel: its title, its y axis and one series per store of
/// (minute, value) points, ascending in minutes.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: &'static str,
    /// The y axis's name, with its unit.
    pub y_desc: &'static str,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

impl Panel {
    /// The y range: from zero to the largest value with room above it.
    pub fn y_range(&self) -> (f64, f64) {
        let top = self
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|x| x.1))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        (0.0, if top > 0.0 { top * 1.15 } else { 1.0 })
    }
}

/// The two panels, memory then read p99, each with the file's stores in
/// order of name.
pub fn soak_panels(file: &SoakFile) -> [Panel; 2] {
    let series = |value: fn(&storelab_results::soak::SoakMinute) -> f64| {
        file.stores
            .iter()
            .map(|(store, minutes)| {
                let mut pts: Vec<(f64, f64)> = minutes
                    .iter()
                    .map(|m| (m.minute as f64, value(m)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (store.clone(), pts)
            })
            .collect()
    };
    [
        Panel {
            title: "Server resident memory (VmRSS) after each minute",
            y_desc: "server RSS (MiB)",
            series: series(|m| m.rss_mib()),
        },
        Panel {
            title: "Read p99 latency in each minute (from intended send time)",
            y_desc: "read p99 (µs)",
            series: series(|m| m.read_p99_us()),
        },
    ]
}

/// The first and the last minute drawn.
pub fn minute_range(panels: &[Panel]) -> (f64, f64) {
    let xs = panels
        .iter()
        .flat_map(|p| p.series.iter())
        .flat_map(|(_, pts)| pts.iter().map(|x| x.0));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (1.0, 1.0)
    }
}

/// The notes in the legend panel.
pub fn captions(file: &SoakFile) -> Vec<String> {
    let m = &file.machine;
    let date = m.date.split('T').next().unwrap_or(&m.date);
    vec![
        format!(
            "Open loop at {:.0} req/s, {} connections, {} tasks prefilled; one point per \
             one-minute window, {} windows per store.",
            file.rate,
            file.connections,
            grouped(file.prefill),
            file.minutes
        ),
        "Minute 1 is the warm-up: the growth rule in DECISIONS.md leaves it out.".to_owned(),
        "Both y axes start at zero.".to_owned(),
        format!(
            "Machine: {}, {} cores; commit {}; {date}.",
            m.cpu, m.cores, m.commit
        ),
        format!("Made by `{}`.", file.command),
    ]
}

/// `n` with a comma between groups of three digits: 100,000.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A panel's chart: x in minutes, linear y from zero.
type SoakChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Reads the soak file at `json` and draws its plot into `svg`.
pub fn write_soak_plot(json: &Path, svg: &Path) -> PlotResult {
    soak_plot(&SoakFile::read(json)?, svg)
}

/// Draws the soak plot of `file` into an SVG file at `path`.
pub fn soak_plot(file: &SoakFile, path: &Path) -> PlotResult {
    let panels = soak_panels(file);
    let area = root(path, SIZE);
    let body = area.titled(TITLE, ("sans-serif", 26)).map_err(plot_err)?;
    let (plots, side) = body.split_horizontally(PLOTS_WIDTH);
    let minutes = minute_range(&panels);
    for (half, panel) in plots.split_evenly((2, 1)).iter().zip(&panels) {
        let mut chart = chart(half, panel, minutes)?;
        for (i, (_, pts)) in panel.series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(plot_err)?;
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| EmptyElement::at(*p) + Polygon::new(shape(i), c.filled())),
                )
                .map_err(plot_err)?;
        }
    }
    let stores: Vec<&str> = file.stores.keys().map(String::as_str).collect();
    legend_panel(&side, &stores, &captions(file))?;
    area.present().map_err(plot_err)
}

/// A panel's axes, ticks and title.
fn chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    panel: &Panel,
    (lo, hi): (f64, f64),
) -> Result<SoakChart<'a, 'b>, RenderError> {
    let (y_lo, y_hi) = panel.y_range();
    // Every minute labelled when they fit: a range of n minutes has n round
    // steps of one.
    let x_labels = ((hi - lo) as usize + 1).min(MAX_X_TICKS);
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(lo - 0.5..hi + 0.5, y_lo..y_hi)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("minute of the soak")
        .y_desc(panel.y_desc)
        .x_labels(x_labels)
        .y_labels(7)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| tick_label(*y))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 19))
        .draw()
        .map_err(plot_err)?;
    Ok(chart)
}

/// The corners of store `i`'s marker, in pixels from its centre: a
/// square, a diamond, a triangle up, a triangle down, then again.
fn shape(i: usize) -> Vec<(i32, i32)> {
    match i % 4 {
        0 => vec![(-4, -4), (4, -4), (4, 4), (-4, 4)],
        1 => vec![(0, -6), (6, 0), (0, 6), (-6, 0)],
        2 => vec![(0, -6), (6, 4), (-6, 4)],
        _ => vec![(0, 6), (6, -4), (-6, -4)],
    }
}

/// The legend (a line and marker per store, as the plots draw them) and
/// the captions, in the panel right of the plots.
fn legend_panel(
    side: &DrawingArea<SVGBackend<'_>, Shift>,
    stores: &[&str],
    captions: &[String],
) -> PlotResult {
    let font = ("sans-serif", 18).into_font();
    let (x, mut y) = (10, 70);
    for (i, store) in stores.iter().enumerate() {
        let c = color(i);
        side.draw(&PathElement::new(
            vec![(x, y), (x + 30, y)],
            c.stroke_width(2),
        ))
        .map_err(plot_err)?;
        side.draw(&(EmptyElement::at((x + 15, y)) + Polygon::new(shape(i), c.filled())))
            .map_err(plot_err)?;
        side.draw(&Text::new(store.to_string(), (x + 40, y - 8), font.clone()))
            .map_err(plot_err)?;
        y += 24;
    }
    captions_text(side, captions, (x, y + 20), 38)
}

#[cfg(test)]
mod tests {
    use super::*;
    use storelab_results::soak::{SOAK_SCHEMA, SoakMachine, SoakMinute};

    /// A soak file: store `b` (listed first) climbs in memory, `a` is flat
    /// with a p99 spike at minute 3.
    fn soak() -> SoakFile {
        let minute = |m: usize, rss_kib: u64, p99_ns: u64| SoakMinute {
            minute: m,
            rss_kib,
            requests: 300_000,
            not_found: 0,
            errors: Some(0),
            read_p50_ns: 100_000,
            read_p99_ns: p99_ns,
            read_p999_ns: 2_000_000,
            update_p99_ns: Some(300_000),
        };
        let mut stores = std::collections::BTreeMap::new();
        stores.insert(
            "b".to_owned(),
            (1..=4)
                .rev()
                .map(|m| minute(m, 1024 * 10 * m as u64, 200_000))
                .collect(),
        );
        stores.insert(
            "a".to_owned(),
            (1..=4)
                .map(|m| minute(m, 20_480, if m == 3 { 900_000 } else { 250_000 }))
                .collect(),
        );
        SoakFile {
            schema: SOAK_SCHEMA.to_owned(),
            rate: 5000.0,
            minutes: 4,
            prefill: 100_000,
            connections: 8,
            command: "scripts/soak b a".to_owned(),
            machine: SoakMachine {
                cpu: "x86_64".to_owned(),
                cores: 2,
                commit: "abc1234567".to_owned(),
                date: "2026-11-26T14:31:03+00:00".to_owned(),
            },
            stores,
        }
    }

    #[test]
    fn panels_in_mib_and_microseconds_by_store_and_minute() {
        let [rss, p99] = soak_panels(&soak());
        let names: Vec<&str> = rss.series.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            rss.series[1].1,
            [(1.0, 10.0), (2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
        );
        assert_eq!(rss.series[0].1[0], (1.0, 20.0));
        assert_eq!(p99.series[0].1[2], (3.0, 900.0));
        assert_eq!(p99.series[1].1[0], (1.0, 200.0));
        assert_eq!(rss.y_range(), (0.0, 46.0));
        assert!((p99.y_range().1 - 1035.0).abs() < 1e-9);
        assert!(rss.y_desc.contains("MiB") && p99.y_desc.contains("µs"));
    }

    #[test]
    fn ranges_of_minutes_and_values() {
        let panels = soak_panels(&soak());
        assert_eq!(minute_range(&panels), (1.0, 4.0));
        let empty = Panel {
            title: "t",
            y_desc: "y",
            series: vec![],
        };
        assert_eq!(minute_range(std::slice::from_ref(&empty)), (1.0, 1.0));
        assert_eq!(empty.y_range(), (0.0, 1.0));
    }

    #[test]
    fn thousands_are_grouped() {
        let g: Vec<String> = [0, 999, 1000, 100_000, 1_234_567].map(grouped).to_vec();
        assert_eq!(g, ["0", "999", "1,000", "100,000", "1,234,567"]);
    }

    #[test]
    fn captions_name_the_load_and_the_machine() {
        let text = captions(&soak()).join("\n");
        for want in [
            "Open loop at 5000 req/s, 8 connections, 100,000 tasks prefilled",
            "4 windows per store",
            "Machine: x86_64, 2 cores; commit abc1234567; 2026-11-26.",
            "`scripts/soak b a`",
        ] {
            assert!(text.contains(want), "{want} missing from {text}");
        }
    }

    /// The text elements of an SVG as (x, y, text).
    fn texts(svg: &str) -> Vec<(i32, i32, String)> {
        svg.split("<text ")
            .skip(1)
            .filter_map(|t| {
                let t = format!(" {t}");
                let attr = |name: &str| -> Option<i32> {
                    let rest = t.split(&format!(" {name}=\"")).nth(1)?;
                    rest.split('"').next()?.parse().ok()
                };
                let body = t.split_once(">\n")?.1.split_once("\n</text>")?.0;
                Some((attr("x")?, attr("y")?, body.to_owned()))
            })
            .collect()
    }

    /// Draws `file` and returns the SVG's text.
    fn drawn(file: &SoakFile, name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("storelab-soak-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("soak.svg");
        soak_plot(file, &path).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        let _ = std::fs::remove_dir_all(&dir);
        svg
    }

    /// Checks the drawn plot: titles, axis names with units, a tick per
    /// minute, y ticks, and each store named once, right of the plots.
    fn check(svg: &str, stores: &[&str], minutes: usize) {
        let t = texts(svg);
        let has = |s: &str| t.iter().any(|x| x.2 == s);
        for want in [
            TITLE,
            "server RSS (MiB)",
            "read p99 (µs)",
            "minute of the soak",
            "Server resident memory (VmRSS) after each minute",
            "0",
        ] {
            assert!(has(want), "{want} missing");
        }
        for m in 1..=minutes.min(MAX_X_TICKS) {
            let n = t.iter().filter(|x| x.2 == m.to_string()).count();
            assert!(n >= 2, "minute {m} labelled {n} times");
        }
        let y_ticks = t.iter().filter(|x| x.2.parse::<f64>().is_ok()).count();
        assert!(
            y_ticks >= 2 * minutes.min(MAX_X_TICKS) + 6,
            "{y_ticks} numeric labels"
        );
        for s in stores {
            let at: Vec<_> = t.iter().filter(|x| x.2 == *s).collect();
            assert_eq!(at.len(), 1, "{s}: {at:?}");
            assert!(
                at[0].0 > PLOTS_WIDTH as i32,
                "{s} in the legend panel: {at:?}"
            );
        }
    }

    #[test]
    fn plot_has_axes_units_ticks_and_a_legend_beside_the_data() {
        let svg = drawn(&soak(), "fixture");
        check(&svg, &["a", "b"], 4);
        // The stores' lines: one per store in each panel, left of the
        // legend panel, and one per store in the legend, right of it.
        let (mut left, mut right) = (0, 0);
        for line in svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
        {
            let pts = line.split("points=\"").nth(1).expect("points");
            let xs: Vec<i32> = pts
                .split('"')
                .next()
                .expect("points")
                .split_whitespace()
                .map(|xy| {
                    xy.split(',')
                        .next()
                        .and_then(|x| x.parse().ok())
                        .expect("x")
                })
                .collect();
            let plots = PLOTS_WIDTH as i32;
            match (xs.iter().all(|x| *x < plots), xs.iter().all(|x| *x > plots)) {
                (true, _) => left += 1,
                (_, true) => right += 1,
                _ => panic!("a line across the legend panel's edge: {line}"),
            }
        }
        assert_eq!((left, right), (4, 2));
    }

    /// The committed soak file renders, every store in the legend.
    #[test]
    fn committed_soak_file_renders() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/soak.json");
        if !path.exists() {
            return;
        }
        let file = SoakFile::read(&path).expect("the committed soak file parses");
        let svg = drawn(&file, "committed");
        let stores: Vec<&str> = file.stores.keys().map(String::as_str).collect();
        check(&svg, &stores, file.minutes);
    }
}
