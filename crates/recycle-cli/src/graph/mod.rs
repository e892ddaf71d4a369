//! `recycle graph`: builds a scenario (or reads a snapshot the user's own
//! program saved), and writes it as HTML, SVG, DOT or JSON.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use recycle::gc::HeapSnapshot;

use crate::Format;

mod load;
mod scenarios;

/// The heaps `recycle graph` can draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// A doubly linked list: strong links both ways, one big cycle.
    List,
    /// A tree whose nodes hold weak links to their parents: no cycle.
    Tree,
    /// A ring that became garbage, captured before it is freed (SAVEALL).
    Garbage,
    /// An object its finalizer brought back to life.
    Resurrected,
    /// All of the above in one heap.
    All,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::List => "list",
            Scenario::Tree => "tree",
            Scenario::Garbage => "garbage",
            Scenario::Resurrected => "resurrected",
            Scenario::All => "all",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Scenario::List => "a doubly linked list",
            Scenario::Tree => "a tree with parent links",
            Scenario::Garbage => "a garbage cycle, kept by SAVEALL",
            Scenario::Resurrected => "a resurrected object",
            Scenario::All => "a list, a tree, a garbage cycle and a resurrected object",
        }
    }

    /// Builds the scenario and snapshots the heap.
    pub(crate) fn snapshot(self) -> HeapSnapshot {
        use scenarios::*;
        let kept = match self {
            Scenario::List => vec![doubly_linked_list()],
            Scenario::Tree => vec![tree_with_parent_links()],
            Scenario::Garbage => vec![garbage_cycle()],
            Scenario::Resurrected => vec![resurrected_object()],
            // The garbage first: its full collection would move everything
            // built before it into generation 2.
            Scenario::All => vec![
                garbage_cycle(),
                tree_with_parent_links(),
                doubly_linked_list(),
                resurrected_object(),
            ],
        };
        snapshot_and_clean_up(kept)
    }
}

pub(crate) fn run(
    scenario: Scenario,
    from: Option<PathBuf>,
    format: Format,
    output: Option<PathBuf>,
) -> Result<(), String> {
    let (snapshot, title, default_name) = match &from {
        Some(path) => {
            let stem = path
                .file_stem()
                .map_or("snapshot".into(), |s| s.to_string_lossy().into_owned());
            (
                load::load(path)?,
                format!("recycle heap: {}", path.display()),
                format!("recycle-graph-{stem}.{}", format.extension()),
            )
        }
        None => (
            scenario.snapshot(),
            format!("recycle heap: {}", scenario.title()),
            format!("recycle-graph-{}.{}", scenario.name(), format.extension()),
        ),
    };
    let text = match format {
        Format::Html => snapshot.to_html(&title),
        Format::Svg => snapshot.to_svg(),
        Format::Dot => snapshot.to_dot(),
        Format::Json => snapshot.to_json(),
    };
    let path = output.unwrap_or_else(|| PathBuf::from(default_name));
    if path.as_os_str() == "-" {
        std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
        return Ok(());
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    eprintln!(
        "wrote {} ({}, {}, {})",
        path.display(),
        plural(snapshot.objects.len(), "object", "objects"),
        plural(snapshot.edges.len(), "edge", "edges"),
        plural(snapshot.cycles.len(), "cycle", "cycles")
    );
    Ok(())
}
