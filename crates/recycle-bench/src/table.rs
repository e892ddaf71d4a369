//! The results of a run, and their Markdown tables.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::outcome::{Outcome, median};

/// Every run's outcome, by workload and implementation.
#[derive(Debug, Default)]
pub struct Results {
    /// Implementations in column order.
    pub imps: Vec<String>,
    runs: BTreeMap<(String, String), Vec<Outcome>>,
}

/// One table cell: a median, a crash, or nothing measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// The median over the runs, with the leak seen in them (0: none).
    Value {
        /// The median, scaled to the row's unit.
        value: f64,
        /// The most objects leaked in any run.
        leaked: f64,
    },
    /// Some run of the cell crashed.
    Crash {
        /// Why the child died.
        reason: String,
        /// Where.
        phase: String,
    },
    /// The cell was not run.
    Missing,
}

/// A row of the summary: which figure of which workload, and its label.
pub struct Row {
    /// What the row shows, with its unit.
    pub label: &'static str,
    /// The workload the figure comes from.
    pub workload: &'static str,
    /// The figure's key in the child's report.
    pub key: &'static str,
    /// Multiplies the figure (for unit changes).
    pub scale: f64,
    /// Figure that counts leaked objects in this workload, if any.
    pub leak_key: Option<&'static str>,
    /// `Rc` reclaims this only by having its cycles broken by hand.
    pub rc_by_hand: bool,
}

const fn row(label: &'static str, workload: &'static str, key: &'static str) -> Row {
    Row {
        label,
        workload,
        key,
        scale: 1.0,
        leak_key: None,
        rc_by_hand: false,
    }
}

/// The summary rows, in order.
pub const ROWS: [Row; 24] = [
    row("clone + drop, ns/op", "clone_drop", "ns_per_op"),
    row(
        "the same, instructions per clone + drop (callgrind)",
        "clone_drop_instructions",
        "instructions_per_op",
    ),
    Row {
        leak_key: Some("missing_drops"),
        ..row("tree of 2^20: build, ns/node", "tree", "build_ns_per_node")
    },
    Row {
        leak_key: Some("missing_drops"),
        ..row(
            "tree of 2^20: drop + collect, ns/node",
            "tree",
            "free_ns_per_node",
        )
    },
    Row {
        leak_key: Some("missing_drops"),
        ..row(
            "tree of 2^20, 10 rounds in one process: ns/node a round",
            "tree_again",
            "round_ns_per_node",
        )
    },
    Row {
        leak_key: Some("missing_drops"),
        ..row(
            "the same, freed memory given back at once (recycle: retain limit 0)",
            "tree_again",
            "given_back_round_ns_per_node",
        )
    },
    row(
        "DOM of 1.1M, depth-first (Rc: Weak parents): build, ns/node",
        "dom_dfs",
        "build_ns_per_node",
    ),
    row(
        "the same, automatic collection off (gc::disable)",
        "dom_dfs",
        "build_disabled_ns_per_node",
    ),
    row(
        "the same: automatic collection's cost, % of the build",
        "dom_dfs",
        "automatic_overhead_pct",
    ),
    row(
        "DOM of 1.1M, breadth-first (Rc: Weak parents): build, ns/node",
        "dom_bfs",
        "build_ns_per_node",
    ),
    row(
        "the same, automatic collection off (gc::disable)",
        "dom_bfs",
        "build_disabled_ns_per_node",
    ),
    row(
        "the same: automatic collection's cost, % of the build",
        "dom_bfs",
        "automatic_overhead_pct",
    ),
    row(
        "1M self-loops: build, ns/obj",
        "cyc_self",
        "build_ns_per_obj",
    ),
    Row {
        leak_key: Some("missing_drops"),
        rc_by_hand: true,
        ..row(
            "1M self-loops: reclaim, ns/obj",
            "cyc_self",
            "reclaim_ns_per_obj",
        )
    },
    row("1M ring: build, ns/obj", "cyc_ring", "build_ns_per_obj"),
    Row {
        leak_key: Some("missing_drops"),
        rc_by_hand: true,
        ..row("1M ring: reclaim, ns/obj", "cyc_ring", "reclaim_ns_per_obj")
    },
    row(
        "1M random 3-edge: build, ns/obj",
        "cyc_random",
        "build_ns_per_obj",
    ),
    Row {
        leak_key: Some("missing_drops"),
        rc_by_hand: true,
        ..row(
            "1M random 3-edge: reclaim, ns/obj",
            "cyc_random",
            "reclaim_ns_per_obj",
        )
    },
    Row {
        leak_key: Some("leaked"),
        ..row("churn: total, ms", "churn", "total_ms")
    },
    Row {
        scale: 1.0 / 1024.0,
        ..row("churn: peak RSS, MiB", "churn", "peak_rss_kib")
    },
    Row {
        leak_key: Some("missing_drops"),
        ..row(
            "chain of 1M: drop + collect, ns/node",
            "chain_1m",
            "drop_ns_per_node",
        )
    },
    Row {
        leak_key: Some("missing_drops"),
        ..row(
            "chain of 10M: drop + collect, ns/node",
            "chain_10m",
            "drop_ns_per_node",
        )
    },
    row(
        "memory: RSS bytes/node (u64 + 1 edge)",
        "memory",
        "bytes_per_node",
    ),
    Row {
        scale: 1.0 / 1024.0,
        ..row("tree of 2^20: peak RSS, MiB", "tree", "peak_rss_kib")
    },
];

impl Results {
    /// Results for these implementations, in this column order.
    pub fn new(imps: Vec<String>) -> Self {
        Results {
            imps,
            runs: BTreeMap::new(),
        }
    }

    /// Adds one run's outcome.
    pub fn add(&mut self, workload: &str, imp: &str, outcome: Outcome) {
        self.runs
            .entry((workload.to_string(), imp.to_string()))
            .or_default()
            .push(outcome);
    }

    /// The cell of `row` for `imp`.
    pub fn cell(&self, row: &Row, imp: &str) -> Cell {
        let Some(runs) = self.runs.get(&(row.workload.to_string(), imp.to_string())) else {
            return Cell::Missing;
        };
        let values: Vec<f64> = runs.iter().filter_map(|o| o.figure(row.key)).collect();
        // A figure counts if every run reported it, even one that crashed
        // in a later phase (a build time before a crash in the collection).
        if values.len() < runs.len()
            && let Some(Outcome::Crash { reason, phase, .. }) =
                runs.iter().find(|o| matches!(o, Outcome::Crash { .. }))
        {
            return Cell::Crash {
                reason: reason.clone(),
                phase: phase.clone(),
            };
        }
        let Some(value) = median(&values) else {
            return Cell::Missing;
        };
        let leaked = row
            .leak_key
            .and_then(|key| {
                let leaks: Vec<f64> = runs.iter().filter_map(|o| o.figure(key)).collect();
                leaks.into_iter().reduce(f64::max)
            })
            .unwrap_or(0.0);
        Cell::Value {
            value: value * row.scale,
            leaked,
        }
    }

    /// The lowest and highest ratio of `imp`'s figure to `base`'s, run by
    /// run (the runs of both are paired in the order they were made, one
    /// run of every cell after the other, so that a slow moment of the
    /// machine falls on both sides of a pair); `None` without a pair.
    pub fn ratio_spread(&self, row: &Row, imp: &str, base: &str) -> Option<(f64, f64)> {
        // As the tables: a cell with a crash has no figure.
        for cell in [self.cell(row, imp), self.cell(row, base)] {
            if !matches!(cell, Cell::Value { .. }) {
                return None;
            }
        }
        let figures = |imp: &str| -> Vec<Option<f64>> {
            self.runs
                .get(&(row.workload.to_string(), imp.to_string()))
                .map(|runs| runs.iter().map(|o| o.figure(row.key)).collect())
                .unwrap_or_default()
        };
        figures(imp)
            .into_iter()
            .zip(figures(base))
            .filter_map(|pair| match pair {
                (Some(value), Some(reference)) if reference > 0.0 => Some(value / reference),
                _ => None,
            })
            .fold(None, |range, ratio| match range {
                None => Some((ratio, ratio)),
                Some((low, high)) => Some((f64::min(low, ratio), f64::max(high, ratio))),
            })
    }

    /// Runs recorded for a workload (any implementation).
    pub fn has_workload(&self, workload: &str) -> bool {
        self.runs.keys().any(|(w, _)| w == workload)
    }
}

/// Three significant digits, as the peer figures are given.
pub fn format_value(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn show(cell: &Cell, rc_by_hand: bool) -> String {
    match cell {
        Cell::Value { value, leaked } => {
            let mut text = format_value(*value);
            if rc_by_hand {
                text.push_str(" †");
            }
            if *leaked > 0.0 {
                write!(text, " LEAK {leaked:.0}").unwrap();
            }
            text
        }
        Cell::Crash { reason, phase } => format!("CRASH: {reason} in {phase}"),
        Cell::Missing => "–".to_string(),
    }
}

/// The summary table, then the same figures as ratios to `Rc` (or to the
/// first column when `Rc` was not run).
pub fn markdown(results: &Results) -> String {
    let rows: Vec<&Row> = ROWS
        .iter()
        .filter(|r| results.has_workload(r.workload))
        .collect();
    let mut out = String::new();
    let header = |out: &mut String, first: &str| {
        write!(out, "| {first} |").unwrap();
        for imp in &results.imps {
            write!(out, " {imp} |").unwrap();
        }
        out.push('\n');
        out.push_str("|---|");
        out.push_str(&"---:|".repeat(results.imps.len()));
        out.push('\n');
    };
    header(&mut out, "workload (lower is better)");
    for row in &rows {
        write!(out, "| {} |", row.label).unwrap();
        for imp in &results.imps {
            let by_hand = row.rc_by_hand && imp == "Rc";
            write!(out, " {} |", show(&results.cell(row, imp), by_hand)).unwrap();
        }
        out.push('\n');
    }

    let base = if results.imps.iter().any(|i| i == "Rc") {
        "Rc".to_string()
    } else {
        results.imps.first().cloned().unwrap_or_default()
    };
    write!(out, "\nThe same, as multiples of `{base}`:\n\n").unwrap();
    header(&mut out, &format!("workload, × {base}"));
    for row in &rows {
        write!(out, "| {} |", row.label).unwrap();
        let reference = match results.cell(row, &base) {
            Cell::Value { value, .. } if value > 0.0 => Some(value),
            _ => None,
        };
        for imp in &results.imps {
            let text = match (results.cell(row, imp), reference) {
                (Cell::Value { value, .. }, Some(reference)) => {
                    format!("{:.2}×", value / reference)
                }
                (Cell::Crash { .. }, _) => "CRASH".to_string(),
                _ => "–".to_string(),
            };
            write!(out, " {text} |").unwrap();
        }
        out.push('\n');
    }

    write!(
        out,
        "\nThe spread of those multiples over the runs (lowest–highest, run by run):\n\n"
    )
    .unwrap();
    header(&mut out, &format!("workload, × {base}"));
    for row in &rows {
        write!(out, "| {} |", row.label).unwrap();
        for imp in &results.imps {
            let text = match results.ratio_spread(row, imp, &base) {
                Some((low, high)) => format!("{low:.2}–{high:.2}×"),
                None => "–".to_string(),
            };
            write!(out, " {text} |").unwrap();
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(figures: &[(&str, f64)]) -> Outcome {
        Outcome::Ok(figures.iter().map(|&(k, v)| (k.to_string(), v)).collect())
    }

    #[test]
    fn cells_show_medians_leaks_crashes_and_ratios() {
        let mut results = Results::new(vec!["Rc".into(), "recycle".into(), "other".into()]);
        for v in [10.0, 30.0, 20.0] {
            results.add(
                "cyc_ring",
                "Rc",
                ok(&[("reclaim_ns_per_obj", v), ("missing_drops", 0.0)]),
            );
        }
        results.add(
            "cyc_ring",
            "recycle",
            ok(&[("reclaim_ns_per_obj", 30.0), ("missing_drops", 0.0)]),
        );
        results.add(
            "cyc_ring",
            "other",
            Outcome::Crash {
                reason: "stack overflow".into(),
                phase: "reclaim".into(),
                figures: vec![("build_ns_per_obj".into(), 50.0)],
            },
        );
        results.add("cyc_ring", "other", ok(&[]));
        results.add("clone_drop", "Rc", ok(&[("ns_per_op", 1.0)]));
        results.add("clone_drop", "recycle", ok(&[("ns_per_op", 1.04)]));
        results.add("clone_drop", "other", ok(&[("ns_per_op", 4.0)]));
        results.add(
            "churn",
            "Rc",
            ok(&[("total_ms", 350.0), ("leaked", 324658.0)]),
        );

        let table = markdown(&results);
        assert!(
            table.contains(
                "| 1M ring: reclaim, ns/obj | 20.0 † | 30.0 | CRASH: stack overflow in reclaim |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| clone + drop, ns/op | 1.00 | 1.04 | 4.00 |"),
            "{table}"
        );
        assert!(
            table.contains("| churn: total, ms | 350 LEAK 324658 | – | – |"),
            "{table}"
        );
        assert!(
            table.contains("| 1M ring: reclaim, ns/obj | 1.00× | 1.50× | CRASH |"),
            "{table}"
        );
        assert!(!table.contains("tree"), "workloads not run are left out");
        let build = ROWS
            .iter()
            .find(|r| r.label.starts_with("1M ring: build"))
            .unwrap();
        assert_eq!(
            results.cell(build, "other"),
            Cell::Crash {
                reason: "stack overflow".into(),
                phase: "reclaim".into()
            },
            "one of two runs has no build figure"
        );
    }

    #[test]
    fn the_spread_pairs_runs_in_order() {
        let mut results = Results::new(vec!["Rc".into(), "recycle".into()]);
        for (rc, ours) in [(1.0, 1.2), (2.0, 2.0), (1.0, 0.9)] {
            results.add("clone_drop", "Rc", ok(&[("ns_per_op", rc)]));
            results.add("clone_drop", "recycle", ok(&[("ns_per_op", ours)]));
        }
        let row = &ROWS[0];
        let (low, high) = results.ratio_spread(row, "recycle", "Rc").unwrap();
        assert!(
            (low - 0.9).abs() < 1e-9 && (high - 1.2).abs() < 1e-9,
            "{low} {high}"
        );
        let table = markdown(&results);
        assert!(
            table.contains("| clone + drop, ns/op | 1.00–1.00× | 0.90–1.20× |"),
            "{table}"
        );
    }
}
