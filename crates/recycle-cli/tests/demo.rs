//! The demo binary runs and tells the true story.

mod common;

use common::recycle as run;

#[test]
fn demo_prints_the_real_counts_and_frees_the_cycle() {
    let (ok, out, err) = run(&[]);
    assert!(ok, "{err}");
    for line in [
        "Reference count for obj1: 1",
        "Incremented reference count for obj1: 4",
        "Decremented reference count for obj1: 1",
        "gc::collect() found 0 unreachable objects",
        "Reference count for obj2: 1",
        "gc::collect() found 2 unreachable objects and freed them",
        "gc::collect() found 1; now weak.upgrade() = None",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Part 5: both finalizers run before either drop.
    let fin = out.find("finalize checking").unwrap();
    let first_drop = out.find("    drop savings").unwrap();
    assert!(
        out.find("finalize savings").unwrap() < first_drop && fin < first_drop,
        "{out}"
    );
    for line in [
        "callback: the session is gone",
        "watch.upgrade() = None",
        "gc::collect() found 0: the object came back",
        "is_finalized = true",
        "thresholds (2000, 10, 10)",
        "generation 0:",
        "gc::collect() frees the rest: 2000",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(
        out.matches("finalize phoenix: balance").count(),
        1,
        "finalized once"
    );
    // Part 9: the allocator's table and a tracemalloc top 5 whose first line
    // is the linked list's allocation site (1,999 cells of 72 bytes).
    assert!(out.contains("Small block threshold = 512"), "{out}");
    let top = out.find("top 5 lines by size").unwrap();
    let first = out[top..].lines().nth(1).unwrap();
    assert!(
        first.contains("src/demo.rs:") && first.ends_with("count=1999, average=72 B"),
        "{first}"
    );
    assert!(
        out.contains("\n    TreeNode: size=86.0 KiB, count=1001"),
        "{out}"
    );
    assert!(out.contains("gc::collect() frees the list: 2000"), "{out}");
    assert!(out.contains("now traced: 0 bytes"), "{out}");
    // Nothing is deleted before the end of part 1's scope, and then obj1
    // goes first, as in CPython.
    let end = out.find("End of demo.").unwrap();
    assert!(!out[..end].contains("is being deleted"), "{out}");
    assert!(
        out[end..].find("<CustomObject obj1").unwrap()
            < out[end..].find("<CustomObject obj2").unwrap(),
        "{out}"
    );
    // Part 8 counts its own automatic collections, and names the version
    // whose defaults it uses; part 9's table has no empty rows.
    assert!(out.contains("CPython's defaults from 3.13 on"), "{out}");
    assert!(out.contains("generation 2:   0 collections"), "{out}");
    let table =
        &out[out.find("class   size").unwrap()..out.find("# arenas allocated total").unwrap()];
    assert!(
        table
            .lines()
            .skip(2)
            .filter(|l| l.trim().starts_with(char::is_numeric))
            .all(|l| l.split_whitespace().nth(3).is_none_or(|used| used != "0")),
        "{table}"
    );
    let deleted = out
        .lines()
        .filter(|l| l.ends_with("is being deleted"))
        .count();
    assert_eq!(deleted, 5, "obj1, obj2, a, b, c, each once");
    assert_eq!(
        run(&["demo"]).1.replace_addresses(),
        out.replace_addresses()
    );
}

trait ReplaceAddresses {
    fn replace_addresses(&self) -> String;
}

impl ReplaceAddresses for String {
    /// The demo prints addresses and durations, which differ between runs;
    /// compare the rest.
    fn replace_addresses(&self) -> String {
        let untimed: Vec<&str> = self
            .lines()
            .filter(|l| !l.contains(" collections, "))
            .collect();
        untimed
            .join("\n")
            .split("0x")
            .map(|s| s.trim_start_matches(|c: char| c.is_ascii_hexdigit()))
            .collect()
    }
}

#[test]
fn help_and_bad_arguments() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok, "{out}");
    for command in ["demo", "graph", "stats"] {
        assert!(out.contains(&format!("  {command} ")), "{out}");
    }
    let (ok, out, _) = run(&["--version"]);
    assert!(ok && out.starts_with("recycle "), "{out}");
    let (ok, _, err) = run(&["frobnicate"]);
    assert!(!ok);
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'") && err.contains("Usage: recycle"),
        "{err}"
    );
}
