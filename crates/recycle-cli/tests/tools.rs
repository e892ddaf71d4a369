//! `recycle graph` and `recycle stats`, run as a user runs them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

mod common;

use common::recycle;

fn snapshot(scenario: &str) -> Value {
    let (ok, out, err) = recycle(&["graph", scenario, "--format", "json", "--output", "-"]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn labels(json: &Value) -> Vec<String> {
    json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["label"].as_str().map(str::to_string))
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("{}-{name}", std::process::id()))
}

#[test]
fn the_list_is_one_cycle() {
    let json = snapshot("list");
    assert_eq!(json["objects"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["edges"].as_array().unwrap().len(),
        6,
        "next and prev links"
    );
    assert_eq!(json["cycles"], serde_json::json!([[0, 1, 2, 3]]));
    assert_eq!(labels(&json), ["Cell a", "Cell b", "Cell c", "Cell d"]);
}

#[test]
fn the_tree_has_no_cycle_and_two_generations() {
    let json = snapshot("tree");
    let objects = json["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 7);
    assert_eq!(
        json["edges"].as_array().unwrap().len(),
        6,
        "parent links are weak"
    );
    assert_eq!(json["cycles"], serde_json::json!([]));
    let generations: Vec<i64> = objects
        .iter()
        .map(|o| o["generation"].as_i64().unwrap())
        .collect();
    assert!(
        generations.contains(&0) && generations.contains(&1),
        "{generations:?}"
    );
    let root = objects
        .iter()
        .find(|o| o["label"] == "TreeNode root")
        .unwrap();
    assert_eq!(root["weak"], 2, "its children's parent links");
}

#[test]
fn the_garbage_cycle_is_captured_before_it_is_freed() {
    let json = snapshot("garbage");
    let objects = json["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 3);
    assert!(
        objects
            .iter()
            .all(|o| o["garbage"] == true && o["strong"] == 1)
    );
    let (ok, dot, _) = recycle(&["graph", "garbage", "-f", "dot", "-o", "-"]);
    assert!(ok);
    assert_eq!(dot.matches("dashed").count(), 3, "{dot}");
}

#[test]
fn the_resurrected_object_is_finalized_and_alive() {
    let json = snapshot("resurrected");
    let objects = json["objects"].as_array().unwrap();
    let phoenix = objects
        .iter()
        .find(|o| o["label"] == "Phoenix fawkes")
        .unwrap();
    assert_eq!(phoenix["finalized"], true);
    assert_eq!(phoenix["strong"], 1, "the archive's handle");
    assert_eq!(
        json["cycles"].as_array().unwrap().len(),
        1,
        "phoenix <-> archive"
    );
}

#[test]
fn the_html_page_stands_alone() {
    let path = scratch("all.html");
    let (ok, _, err) = recycle(&["graph", "all", "-o", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("wrote") && err.contains("16 objects, 17 edges, 3 cycles"),
        "{err}"
    );
    let page = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("<svg") && !page.contains("<?xml"),
        "inline SVG"
    );
    // Nothing to fetch: no scripts, stylesheets or images from elsewhere.
    for outside in ["<script", "<link", "<img", "src="] {
        assert!(!page.contains(outside), "{outside}");
    }
    // The arrow heads are markers of the same page (`url(#endarrow)`).
    assert_eq!(page.matches("url(").count(), page.matches("url(#").count());
    let without_namespace = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_namespace.contains("http"), "no addresses");
    assert_eq!(
        page.matches("<li><span class=\"swatch\"").count(),
        9,
        "the legend"
    );
    // Weak edges are drawn (the tree's parent links and the phoenix's
    // weak handle to itself), and the roots are marked.
    assert_eq!(page.matches("class=\"edge weak\"").count(), 7);
    assert_eq!(page.matches("<g class=\"external\">").count(), 3);
}

/// A snapshot the user's program saved, drawn by `recycle graph --from`.
#[test]
fn a_saved_snapshot_is_drawn() {
    let json = scratch("saved.json");
    let (ok, saved, err) = recycle(&["graph", "list", "-f", "json", "-o", "-"]);
    assert!(ok, "{err}");
    std::fs::write(&json, &saved).unwrap();
    let svg = scratch("saved.svg");
    let (ok, _, err) = recycle(&[
        "graph",
        "--from",
        json.to_str().unwrap(),
        "-f",
        "svg",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("4 objects, 6 edges, 1 cycle"), "{err}");
    let picture = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).unwrap();
    assert_eq!(picture.matches("class=\"object in-cycle\"").count(), 4);
    // And back to JSON, unchanged.
    let (ok, again, err) = recycle(&[
        "graph",
        "--from",
        json.to_str().unwrap(),
        "-f",
        "json",
        "-o",
        "-",
    ]);
    std::fs::remove_file(&json).unwrap();
    assert!(ok, "{err}");
    assert_eq!(again, saved);
}

#[test]
fn a_bad_snapshot_file_says_what_is_wrong() {
    let json = scratch("bad.json");
    std::fs::write(&json, r#"{"objects": [], "edges": [[0, 1]], "cycles": []}"#).unwrap();
    let (ok, _, err) = recycle(&["graph", "--from", json.to_str().unwrap(), "-o", "-"]);
    std::fs::remove_file(&json).unwrap();
    assert!(!ok);
    assert!(
        err.contains("bad.json: edges 0: [0, 1] is not a pair of object indices below 0"),
        "{err}"
    );
    let (ok, _, err) = recycle(&["graph", "--from", "/no/such/snapshot.json"]);
    assert!(
        !ok && err.contains("cannot read /no/such/snapshot.json"),
        "{err}"
    );
}

/// A chart path that cannot be written is reported before the workload
/// runs, not after.
#[test]
fn stats_checks_the_chart_path_first() {
    let started = std::time::Instant::now();
    let (ok, out, err) = recycle(&["stats", "--chart", "/no/such/dir/pauses.svg"]);
    assert!(!ok);
    assert!(
        err.contains("cannot write the chart to /no/such/dir/pauses.svg"),
        "{err}"
    );
    assert!(out.is_empty(), "the workload did not start: {out}");
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn an_unknown_scenario_lists_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_recycle"))
        .args(["graph", "cyclone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("possible values: list, tree, garbage, resurrected, all"),
        "{err}"
    );
}

#[test]
fn stats_reports_generations_pauses_and_the_allocator() {
    let chart = scratch("pauses.svg");
    let (ok, out, err) = recycle(&[
        "stats",
        "--steps",
        "40000",
        "--roots",
        "4000",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    for line in [
        "recycle stats: 4000 live objects, 40000 steps",
        "generation  collections  collected",
        "thresholds (2000, 10, 10)",
        "Small block threshold = 512",
        "pause chart written to",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let young = out
        .lines()
        .find(|l| l.trim_start().starts_with("0 "))
        .expect("a row for generation 0");
    let collections: u64 = young.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(collections > 0, "{young}");
    assert!(out.contains("automatic pauses: "), "{out}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    std::fs::remove_file(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("generation 0"),
        "{svg}"
    );
    // A log scale, and the final explicit collection charted apart.
    assert!(svg.contains("pause, ms (log scale)"), "{svg}");
    assert!(svg.contains("final gc::collect(), explicit"), "{svg}");
}
