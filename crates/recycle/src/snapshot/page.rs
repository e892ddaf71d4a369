//! The HTML page of [`HeapSnapshot::to_html`]: the picture, a legend, the
//! cycles, and the JSON, in one file.

use super::draw::{GARBAGE_FILL, escape};
use super::{HeapSnapshot, ObjectInfo};

/// A legend entry: a swatch with a fill, a border (solid or dashed), and
/// what it means.
fn swatch(fill: &str, border: &str, dashed: bool, text: &str) -> String {
    let style = if dashed { "dashed" } else { "solid" };
    format!(
        "<li><span class=\"swatch\" style=\"background:{fill};border-color:{border};\
         border-style:{style}\"></span>{text}</li>"
    )
}

/// An object in generation `generation` (or frozen), for its colour.
fn sample(generation: Option<usize>, frozen: bool) -> ObjectInfo {
    ObjectInfo {
        address: 0,
        type_name: "",
        label: None,
        strong: 0,
        weak: 0,
        generation,
        frozen,
        finalized: false,
        garbage: false,
        cycle: None,
        external: 0,
    }
}

pub(crate) fn html_page(snapshot: &HeapSnapshot, title: &str) -> String {
    let picture = snapshot.to_svg();
    const LINE: &str = "#555555";
    let legend = [
        swatch(
            sample(Some(0), false).generation_colour(),
            LINE,
            false,
            "generation 0 (young)",
        ),
        swatch(
            sample(Some(1), false).generation_colour(),
            LINE,
            false,
            "generation 1",
        ),
        swatch(
            sample(Some(2), false).generation_colour(),
            LINE,
            false,
            "generation 2 (old)",
        ),
        swatch(
            sample(Some(2), true).generation_colour(),
            LINE,
            false,
            "frozen (gc::freeze)",
        ),
        swatch(
            sample(None, false).generation_colour(),
            LINE,
            false,
            "untracked (holds no Gc)",
        ),
        swatch(
            GARBAGE_FILL,
            LINE,
            true,
            "garbage kept by SAVEALL (gc::garbage)",
        ),
        swatch(
            "#ffffff",
            HeapSnapshot::CYCLE_COLOUR,
            false,
            "part of a reference cycle (red outline and edges)",
        ),
        swatch(
            "#ffffff",
            "#8a8a8a",
            true,
            "a weak edge (Weak, WeakRef): keeps nothing alive",
        ),
        swatch(
            "#1f4e9c",
            "#1f4e9c",
            false,
            "“N out”: held by N handles from outside the heap (locals, statics, …): \
             where the collector's reachability starts",
        ),
    ]
    .join("\n");
    let cycles: Vec<String> = snapshot
        .cycles
        .iter()
        .map(|members| {
            let names: Vec<String> = members
                .iter()
                .map(|&m| escape(&snapshot.objects[m].caption().0))
                .collect();
            let held = members
                .iter()
                .map(|&m| snapshot.objects[m].external)
                .sum::<usize>();
            let verdict = if held == 0 {
                " (nothing outside holds it: garbage)".to_string()
            } else {
                format!(" (held from outside by {held})")
            };
            format!("<li>{}{verdict}</li>", names.join(" → "))
        })
        .collect();
    let cycles = if cycles.is_empty() {
        "<p>No reference cycles.</p>".to_string()
    } else {
        format!("<ol class=\"cycles\">{}</ol>", cycles.join(""))
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ font-size: 1.4rem; }}
.layout {{ display: flex; gap: 2rem; align-items: flex-start; flex-wrap: wrap; }}
.legend {{ list-style: none; padding: 0; margin: 0; font-size: 0.9rem; max-width: 22rem; }}
.legend li {{ display: flex; align-items: center; gap: 0.5rem; margin: 0.3rem 0; }}
.swatch {{ display: inline-block; flex: none; width: 1.6rem; height: 1rem; border: 2px solid; border-radius: 4px; }}
.graph {{ border: 1px solid #ddd; border-radius: 8px; padding: 1rem; overflow: auto; max-width: 100%; }}
.graph svg {{ display: block; }}
aside {{ min-width: 18rem; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow: auto; max-height: 30rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p id="summary">{objects}, {edges} (strong references), {weak}, {ncycles}. Each box shows the object's type or label, its strong and weak counts, its generation and its state.</p>
<div class="layout">
<div class="graph" id="graph">
{picture}</div>
<aside>
<h2>Legend</h2>
<ul class="legend" id="legend">
{legend}
</ul>
<h2>Cycles</h2>
{cycles}
</aside>
</div>
<details>
<summary>The snapshot as JSON (<code>HeapSnapshot::to_json</code>)</summary>
<pre id="json">{json}</pre>
</details>
</body>
</html>
"#,
        title = escape(title),
        objects = plural(snapshot.objects.len(), "object", "objects"),
        edges = plural(snapshot.edges.len(), "edge", "edges"),
        weak = plural(snapshot.weak_edges.len(), "weak edge", "weak edges"),
        ncycles = plural(snapshot.cycles.len(), "reference cycle", "reference cycles"),
        json = escape(&snapshot.to_json()),
    )
}
