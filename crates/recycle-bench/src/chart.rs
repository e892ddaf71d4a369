//! One SVG chart per workload: a panel of horizontal bars per figure, one
//! bar per implementation; crashes and leaks are written where the bar
//! would be.

use std::path::Path;

use plotters::prelude::*;

use crate::table::{Cell, ROWS, Results, format_value};

const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 60 + 34 * 8;

fn colour(imp: &str) -> RGBColor {
    match imp {
        "recycle" => RGBColor(230, 120, 20),
        "Rc" => RGBColor(130, 130, 130),
        _ => RGBColor(70, 110, 180),
    }
}

/// Draws the chart of `workload` into the SVG file `path`. Does nothing
/// (and returns `Ok(false)`) if the workload was not run.
pub fn write_chart(results: &Results, workload: &str, path: &Path) -> Result<bool, String> {
    let rows: Vec<_> = ROWS.iter().filter(|r| r.workload == workload).collect();
    if rows.is_empty() || !results.has_workload(workload) {
        return Ok(false);
    }
    let height = PANEL_HEIGHT * rows.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((rows.len(), 1));
    let imps = &results.imps;
    for (row, panel) in rows.iter().zip(panels.iter()) {
        let cells: Vec<Cell> = imps.iter().map(|imp| results.cell(row, imp)).collect();
        let max = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Value { value, .. } => Some(*value),
                _ => None,
            })
            .fold(0.0f64, f64::max);
        // Room on the right for the labels written after the bars.
        let x_end = if max > 0.0 { max * 1.6 } else { 1.0 };
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{} (lower is better)", row.label),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(10)
            .build_cartesian_2d(0.0..x_end, 0.0..imps.len() as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_axis()
            .disable_y_mesh()
            .x_labels(6)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (imp, cell)) in imps.iter().zip(&cells).enumerate() {
            // Top to bottom in column order.
            let y = (imps.len() - 1 - i) as f64;
            let label = match cell {
                Cell::Value { value, leaked } => {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(0.0, y + 0.15), (*value, y + 0.85)],
                            colour(imp).filled(),
                        )))
                        .map_err(|e| e.to_string())?;
                    let by_hand = if row.rc_by_hand && imp == "Rc" {
                        " (cycles broken by hand)"
                    } else {
                        ""
                    };
                    let leak = if *leaked > 0.0 {
                        format!(", LEAKED {leaked:.0}")
                    } else {
                        String::new()
                    };
                    (
                        *value,
                        format!(" {imp}: {}{by_hand}{leak}", format_value(*value)),
                    )
                }
                Cell::Crash { reason, phase } => {
                    (0.0, format!(" {imp}: CRASH ({reason} in {phase})"))
                }
                Cell::Missing => (0.0, format!(" {imp}: not run")),
            };
            let style = match cell {
                Cell::Crash { .. } => ("sans-serif", 14).into_font().color(&RED),
                _ => ("sans-serif", 14).into_font().color(&BLACK),
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    label.1,
                    (label.0, y + 0.7),
                    style,
                )))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn a_chart_names_every_implementation_and_crash() {
        let mut results = Results::new(vec!["Rc".into(), "recycle".into(), "gc".into()]);
        let ok = |v: f64| Outcome::Ok(vec![("ns_per_op".into(), v)]);
        results.add("clone_drop", "Rc", ok(1.0));
        results.add("clone_drop", "recycle", ok(1.04));
        results.add(
            "clone_drop",
            "gc",
            Outcome::Crash {
                reason: "stack overflow".into(),
                phase: "drop".into(),
                figures: vec![],
            },
        );
        let path = std::env::temp_dir().join(format!("recycle-bench-{}.svg", std::process::id()));
        assert!(write_chart(&results, "clone_drop", &path).unwrap());
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "Rc: 1.00",
            "recycle: 1.04",
            "gc: CRASH (stack overflow in drop)",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        assert!(
            !write_chart(&results, "tree", &path).unwrap(),
            "not run: no chart"
        );
    }
}
