//! Drawing a snapshot: layout-rs places the objects and writes the SVG;
//! the HTML page wraps it with a legend and the JSON, all inline.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::{Point, get_size_for_str};
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use recycle::gc::{HeapSnapshot, ObjectInfo};

const FONT_SIZE: usize = 13;
/// Fill of objects kept by SAVEALL (they are garbage, whatever their
/// generation).
const GARBAGE_FILL: &str = "#f6c9c9";
const PLAIN_LINE: &str = "#555555";

fn fill(o: &ObjectInfo) -> &'static str {
    if o.garbage {
        GARBAGE_FILL
    } else {
        o.generation_colour()
    }
}

/// The snapshot as an SVG picture.
pub(crate) fn svg(snapshot: &HeapSnapshot) -> String {
    let mut graph = VisualGraph::new(Orientation::TopToBottom);
    let handles: Vec<_> = snapshot
        .objects
        .iter()
        .map(|o| {
            let (title, detail) = o.caption();
            let text = format!("{title}\n{detail}");
            let in_cycle = o.cycle.is_some();
            let look = StyleAttr::new(
                Color::fast(if in_cycle {
                    HeapSnapshot::CYCLE_COLOUR
                } else {
                    PLAIN_LINE
                }),
                if in_cycle { 3 } else { 1 },
                Some(Color::fast(fill(o))),
                6,
                FONT_SIZE,
            );
            let size = get_size_for_str(&text, FONT_SIZE);
            // Room around the text (the font's estimate is per character).
            let size = Point::new(size.x * 0.75 + 24.0, size.y + 18.0);
            let element = Element::create(
                ShapeKind::new_box(&text),
                look,
                Orientation::TopToBottom,
                size,
            );
            graph.add_node(element)
        })
        .collect();
    for &(from, to) in &snapshot.edges {
        let (a, b) = (&snapshot.objects[from], &snapshot.objects[to]);
        let in_cycle = a.cycle.is_some() && a.cycle == b.cycle;
        let look = StyleAttr::new(
            Color::fast(if in_cycle {
                HeapSnapshot::CYCLE_COLOUR
            } else {
                PLAIN_LINE
            }),
            if in_cycle { 2 } else { 1 },
            None,
            0,
            FONT_SIZE,
        );
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            LineStyleKind::Normal,
            "",
            &look,
            &None,
            &None,
        );
        graph.add_edge(arrow, handles[from], handles[to]);
    }
    if snapshot.objects.is_empty() {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"40\">\
                <text x=\"10\" y=\"25\">The heap is empty.</text></svg>\n"
            .to_string();
    }
    let mut writer = SVGWriter::new();
    graph.do_it(false, false, false, &mut writer);
    writer.finalize()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One HTML page that needs nothing else: the picture inline, a legend, a
/// summary, and the snapshot's JSON.
pub(crate) fn html_page(snapshot: &HeapSnapshot, title: &str) -> String {
    let picture = svg(snapshot);
    // Inline SVG takes no XML declaration.
    let picture = match picture.find("<svg") {
        Some(start) => &picture[start..],
        None => &picture,
    };
    let swatch = |colour: &str, border: &str, text: &str| {
        format!(
            "<li><span class=\"swatch\" style=\"background:{colour};border-color:{border}\"></span>{text}</li>"
        )
    };
    let sample = |generation: Option<usize>, frozen: bool| ObjectInfo {
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
    };
    let legend = [
        swatch(
            sample(Some(0), false).generation_colour(),
            PLAIN_LINE,
            "generation 0 (young)",
        ),
        swatch(
            sample(Some(1), false).generation_colour(),
            PLAIN_LINE,
            "generation 1",
        ),
        swatch(
            sample(Some(2), false).generation_colour(),
            PLAIN_LINE,
            "generation 2 (old)",
        ),
        swatch(
            sample(Some(2), true).generation_colour(),
            PLAIN_LINE,
            "frozen (gc::freeze)",
        ),
        swatch(
            sample(None, false).generation_colour(),
            PLAIN_LINE,
            "untracked (holds no Gc)",
        ),
        swatch(
            GARBAGE_FILL,
            PLAIN_LINE,
            "garbage kept by SAVEALL (gc::garbage)",
        ),
        swatch(
            "#ffffff",
            HeapSnapshot::CYCLE_COLOUR,
            "part of a reference cycle (red outline and edges)",
        ),
    ]
    .join("\n");
    let cycles: Vec<String> = snapshot
        .cycles
        .iter()
        .map(|members| {
            let names: Vec<String> = members
                .iter()
                .map(|&m| escape_html(&snapshot.objects[m].caption().0))
                .collect();
            format!("<li>{}</li>", names.join(" → "))
        })
        .collect();
    let cycles = if cycles.is_empty() {
        "<p>No reference cycles.</p>".to_string()
    } else {
        format!("<ol class=\"cycles\">{}</ol>", cycles.join(""))
    };
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
.legend {{ list-style: none; padding: 0; margin: 0; font-size: 0.9rem; }}
.legend li {{ display: flex; align-items: center; gap: 0.5rem; margin: 0.3rem 0; }}
.swatch {{ display: inline-block; width: 1.6rem; height: 1rem; border: 2px solid; border-radius: 4px; }}
.graph {{ border: 1px solid #ddd; border-radius: 8px; padding: 1rem; overflow: auto; max-width: 100%; }}
.graph svg {{ max-width: 100%; height: auto; }}
aside {{ min-width: 18rem; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow: auto; max-height: 30rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p id="summary">{objects} objects, {edges} edges (strong references), {ncycles}. Each box shows the object's type or label, its strong and weak counts, its generation and its state.</p>
<div class="layout">
<div class="graph" id="graph">
{picture}
</div>
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
        title = escape_html(title),
        objects = snapshot.objects.len(),
        edges = snapshot.edges.len(),
        ncycles = match snapshot.cycles.len() {
            1 => "1 reference cycle".to_string(),
            n => format!("{n} reference cycles"),
        },
        json = escape_html(&snapshot.to_json()),
    )
}
