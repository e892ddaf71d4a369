//! Drawing a [`HeapSnapshot`]: a layered layout (objects in rows, edges
//! pointing down where they can), written as SVG, and an HTML page around
//! it. No dependency: the layout is small and tuned for heaps, where what
//! matters is which objects are held from outside and which form cycles.

use core::fmt::Write;

use super::{HeapSnapshot, ObjectInfo};

/// Text size in pixels: drawn at this size, never scaled down.
const FONT: f64 = 14.0;
/// Width of one character, estimated for a sans-serif font.
const CHAR: f64 = 7.6;
const BOX_HEIGHT: f64 = 46.0;
const PAD_X: f64 = 12.0;
const GAP_X: f64 = 28.0;
const GAP_Y: f64 = 64.0;
const MARGIN: f64 = 16.0;
/// A row holds at most this many objects; a wider layer wraps.
const ROW_MAX: usize = 6;
const LINE: &str = "#555555";
const WEAK_LINE: &str = "#8a8a8a";
const ROOT: &str = "#1f4e9c";
/// Fill of objects kept by SAVEALL (garbage, whatever their generation).
pub(crate) const GARBAGE_FILL: &str = "#f6c9c9";

/// Where each object's box is.
struct Layout {
    /// Top-left corner and width of each object's box.
    boxes: Vec<(f64, f64, f64)>,
    width: f64,
    height: f64,
}

/// The layer of each object: roots (held from outside) and objects nothing
/// points to first, then each object one below the deepest object that
/// points to it along the edges that remain once cycles are broken.
fn layers(snapshot: &HeapSnapshot) -> Vec<usize> {
    let n = snapshot.objects.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut has_parent = vec![false; n];
    for &(from, to) in &snapshot.edges {
        if from != to {
            out[from].push(to);
            has_parent[to] = true;
        }
    }
    // Depth-first order from the roots, then from whatever is left: the
    // edges that go back up that order are the ones that close cycles.
    let mut order = vec![usize::MAX; n];
    let mut next = 0;
    let starts = (0..n)
        .filter(|&i| snapshot.objects[i].external > 0 || !has_parent[i])
        .chain(0..n);
    for start in starts {
        if order[start] != usize::MAX {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        order[start] = next;
        next += 1;
        while let Some((node, child)) = stack.last_mut() {
            if let Some(&to) = out[*node].get(*child) {
                *child += 1;
                if order[to] == usize::MAX {
                    order[to] = next;
                    next += 1;
                    stack.push((to, 0));
                }
            } else {
                stack.pop();
            }
        }
    }
    // Longest path over the forward edges, in that order.
    let mut by_order: Vec<usize> = (0..n).collect();
    by_order.sort_by_key(|&i| order[i]);
    let mut layer = vec![0usize; n];
    for &node in &by_order {
        for &to in &out[node] {
            if order[to] > order[node] {
                layer[to] = layer[to].max(layer[node] + 1);
            }
        }
    }
    layer
}

fn box_width(o: &ObjectInfo) -> f64 {
    let (title, detail) = o.caption();
    let chars = title.chars().count().max(detail.chars().count()) as f64;
    (chars * CHAR + 2.0 * PAD_X).max(64.0)
}

/// The weakly connected components of the graph (strong and weak edges),
/// each in the order of its objects, in the order of their first objects.
fn components(snapshot: &HeapSnapshot) -> Vec<Vec<usize>> {
    let n = snapshot.objects.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in snapshot.edges.iter().chain(&snapshot.weak_edges) {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut by_root: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        let r = root(&mut parent, i);
        by_root[r].push(i);
    }
    by_root.into_iter().filter(|c| !c.is_empty()).collect()
}

/// Places the objects of one component, from `(0, 0)`: layers become rows
/// (a wide layer wraps), ordered to keep edges short (each object near the
/// objects that point to it). Returns the component's width and height.
fn place(
    snapshot: &HeapSnapshot,
    members: &[usize],
    layer: &[usize],
    widths: &[f64],
    boxes: &mut [(f64, f64, f64)],
) -> (f64, f64) {
    let depth = members.iter().map(|&i| layer[i]).max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for &i in members {
        rows[layer[i]].push(i);
    }
    // Order each layer by where the objects pointing to it sit.
    let mut position = vec![0.0f64; snapshot.objects.len()];
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); snapshot.objects.len()];
    for &(from, to) in &snapshot.edges {
        if layer[from] < layer[to] {
            parents[to].push(from);
        }
    }
    for row in &mut rows {
        let key = |i: &usize| {
            let p = &parents[*i];
            if p.is_empty() {
                f64::MAX
            } else {
                p.iter().map(|&q| position[q]).sum::<f64>() / p.len() as f64
            }
        };
        row.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
        for (k, &i) in row.iter().enumerate() {
            position[i] = k as f64;
        }
    }
    // Wrap, then place row by row, each centred.
    let lines: Vec<&[usize]> = rows.iter().flat_map(|row| row.chunks(ROW_MAX)).collect();
    let line_width = |line: &[usize]| {
        line.iter().map(|&i| widths[i]).sum::<f64>() + GAP_X * (line.len().max(1) - 1) as f64
    };
    let inner = lines.iter().map(|l| line_width(l)).fold(0.0, f64::max);
    for (r, line) in lines.iter().enumerate() {
        let mut x = (inner - line_width(line)) / 2.0;
        let y = r as f64 * (BOX_HEIGHT + GAP_Y);
        for &i in line.iter() {
            boxes[i] = (x, y, widths[i]);
            x += widths[i] + GAP_X;
        }
    }
    (inner, lines.len() as f64 * (BOX_HEIGHT + GAP_Y) - GAP_Y)
}

/// Room right of a component for the curves of its upward edges.
const CURVE_ROOM: f64 = 48.0;
/// Components go side by side until a band is this wide.
const BAND_WIDTH: f64 = 1000.0;

/// Places every object: each connected component on its own, the
/// components side by side in bands.
fn layout(snapshot: &HeapSnapshot) -> Layout {
    let layer = layers(snapshot);
    let widths: Vec<f64> = snapshot.objects.iter().map(box_width).collect();
    let mut boxes = vec![(0.0, 0.0, 0.0); snapshot.objects.len()];
    let (mut x, mut y, mut band_height, mut width) = (MARGIN, MARGIN, 0.0f64, 0.0f64);
    for members in components(snapshot) {
        let (w, h) = place(snapshot, &members, &layer, &widths, &mut boxes);
        if x > MARGIN && x + w > BAND_WIDTH {
            x = MARGIN;
            y += band_height + GAP_Y;
            band_height = 0.0;
        }
        for &i in &members {
            boxes[i].0 += x;
            boxes[i].1 += y;
        }
        x += w + CURVE_ROOM + GAP_X;
        width = width.max(x - GAP_X);
        band_height = band_height.max(h);
    }
    Layout {
        boxes,
        width: (width + MARGIN).ceil(),
        height: (y + band_height + MARGIN).ceil(),
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The path of an edge from box `a` to box `b`: down from `a`'s bottom
/// centre to `b`'s top centre when `b` is lower; up from `a`'s top to `b`'s
/// bottom when `b` is higher, at `up_at` of their widths (so that the
/// edges up and down between two objects do not overlap); otherwise (same
/// row) a curve out of `a`'s right side into `b`'s, or a loop for an edge
/// to itself.
fn edge_path(a: (f64, f64, f64), b: (f64, f64, f64), same: bool, up_at: f64) -> String {
    let (ax, ay, aw) = a;
    let (bx, by, bw) = b;
    if same {
        let (x, y) = (ax + aw, ay + BOX_HEIGHT / 2.0);
        return format!(
            "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
            x,
            y - 8.0,
            x + 34.0,
            y - 30.0,
            x + 34.0,
            y + 30.0,
            x + 1.0,
            y + 8.0
        );
    }
    let curve = |(x1, y1): (f64, f64), (x2, y2): (f64, f64)| {
        let bend = (y2 - y1) / 2.0;
        format!(
            "M{x1:.1},{y1:.1} C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
            y1 + bend,
            y2 - bend
        )
    };
    if by > ay + BOX_HEIGHT {
        return curve((ax + aw / 2.0, ay + BOX_HEIGHT), (bx + bw / 2.0, by));
    }
    if by + BOX_HEIGHT < ay {
        return curve((ax + aw * up_at, ay), (bx + bw * up_at, by + BOX_HEIGHT));
    }
    let (x1, y1) = (ax + aw, ay + BOX_HEIGHT / 2.0 + 6.0);
    let (x2, y2) = (bx + bw, by + BOX_HEIGHT / 2.0 - 6.0);
    let out = 28.0 + (y1 - y2).abs() / 6.0;
    let reach = x1.max(x2) + out;
    format!("M{x1:.1},{y1:.1} C{reach:.1},{y1:.1} {reach:.1},{y2:.1} {x2:.1},{y2:.1}")
}

impl HeapSnapshot {
    /// The snapshot as an SVG picture: one box per object, filled by
    /// generation (see [`ObjectInfo::generation_colour`]), with its caption
    /// (see [`ObjectInfo::caption`]); an arrow per strong edge, red where it
    /// joins two members of a cycle (whose boxes are outlined in red); a
    /// dashed grey arrow per weak edge; and, on each object held from
    /// outside the heap ([`ObjectInfo::external`]), a blue badge with the
    /// number of such handles. Drawn at its natural size, cropped to what it
    /// shows.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use recycle::{Gc, Trace, gc};
    ///
    /// #[derive(Trace)]
    /// struct Node {
    ///     next: RefCell<Option<Gc<Node>>>,
    /// }
    /// let a = Gc::new(Node { next: RefCell::new(None) });
    /// *a.next.borrow_mut() = Some(a.clone());
    /// let svg = gc::snapshot().to_svg();
    /// assert!(svg.starts_with("<svg") && svg.contains("class=\"object in-cycle\""));
    /// ```
    pub fn to_svg(&self) -> String {
        if self.objects.is_empty() {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"220\" height=\"40\" \
                    viewBox=\"0 0 220 40\"><text x=\"10\" y=\"25\" font-family=\"sans-serif\" \
                    font-size=\"14\">The heap is empty.</text></svg>\n"
                .to_string();
        }
        let layout = layout(self);
        let width = layout.width;
        let mut out = String::new();
        writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"{FONT}\">",
            w = width,
            h = layout.height
        )
        .unwrap();
        out.push_str("<defs>\n");
        for (id, colour) in [
            ("arrow", LINE),
            ("arrow-cycle", Self::CYCLE_COLOUR),
            ("arrow-weak", WEAK_LINE),
        ] {
            writeln!(
                out,
                "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
                 markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
                 <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
            )
            .unwrap();
        }
        out.push_str("</defs>\n");
        // Edges first, under the boxes.
        for &(from, to) in &self.edges {
            let (a, b) = (&self.objects[from], &self.objects[to]);
            let in_cycle = a.cycle.is_some() && a.cycle == b.cycle;
            let (colour, width, marker, class) = if in_cycle {
                (Self::CYCLE_COLOUR, 2, "arrow-cycle", "edge in-cycle")
            } else {
                (LINE, 1, "arrow", "edge")
            };
            let d = edge_path(layout.boxes[from], layout.boxes[to], from == to, 0.8);
            writeln!(
                out,
                "<path class=\"{class}\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" \
                 stroke-width=\"{width}\" marker-end=\"url(#{marker})\"/>"
            )
            .unwrap();
        }
        for &(from, to) in &self.weak_edges {
            let d = edge_path(layout.boxes[from], layout.boxes[to], from == to, 0.2);
            writeln!(
                out,
                "<path class=\"edge weak\" d=\"{d}\" fill=\"none\" stroke=\"{WEAK_LINE}\" \
                 stroke-width=\"1.5\" stroke-dasharray=\"6 4\" marker-end=\"url(#arrow-weak)\"/>"
            )
            .unwrap();
        }
        for (i, o) in self.objects.iter().enumerate() {
            let (x, y, w) = layout.boxes[i];
            let (title, detail) = o.caption();
            let in_cycle = o.cycle.is_some();
            let fill = if o.garbage {
                GARBAGE_FILL
            } else {
                o.generation_colour()
            };
            let (stroke, stroke_width) = if in_cycle {
                (Self::CYCLE_COLOUR, 3)
            } else {
                (LINE, 1)
            };
            let class = if in_cycle {
                "object in-cycle"
            } else {
                "object"
            };
            write!(
                out,
                "<g class=\"{class}\" data-index=\"{i}\"><title>{} ({})</title>\
                 <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BOX_HEIGHT}\" rx=\"7\" \
                 fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"{dash}/>\
                 <text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
                 <text x=\"{cx:.1}\" y=\"{dy:.1}\" text-anchor=\"middle\" font-size=\"{small}\">{}</text>",
                escape(o.type_name),
                escape(&detail),
                escape(&title),
                escape(&detail),
                dash = if o.garbage {
                    " stroke-dasharray=\"5 3\""
                } else {
                    ""
                },
                cx = x + w / 2.0,
                ty = y + 19.0,
                dy = y + 37.0,
                small = FONT - 2.0,
            )
            .unwrap();
            if o.external > 0 {
                // The badge: held from outside the heap.
                let label = format!("{} out", o.external);
                let bw = label.len() as f64 * 6.6 + 10.0;
                let (bx, by) = (x + w - bw + 4.0, y - 9.0);
                write!(
                    out,
                    "<g class=\"external\"><rect x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{bw:.1}\" \
                     height=\"16\" rx=\"8\" fill=\"{ROOT}\"/><text x=\"{:.1}\" y=\"{:.1}\" \
                     text-anchor=\"middle\" font-size=\"11\" fill=\"#ffffff\">{label}</text></g>",
                    bx + bw / 2.0,
                    by + 12.0
                )
                .unwrap();
            }
            out.push_str("</g>\n");
        }
        out.push_str("</svg>\n");
        out
    }

    /// The snapshot as one self-contained HTML page: the picture of
    /// [`to_svg`](Self::to_svg), a legend, the list of cycles, and the
    /// snapshot's JSON. Nothing is loaded from elsewhere.
    pub fn to_html(&self, title: &str) -> String {
        super::page::html_page(self, title)
    }
}

/// The objects in breadth-first order from `start` along strong edges, for
/// tests.
#[cfg(test)]
fn reachable(snapshot: &HeapSnapshot, start: usize) -> Vec<usize> {
    let mut seen = vec![false; snapshot.objects.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut out = Vec::new();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        out.push(i);
        queue.extend(snapshot.referents_of(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(external: usize) -> ObjectInfo {
        ObjectInfo {
            address: 0,
            type_name: "demo::Node",
            label: None,
            strong: external,
            weak: 0,
            generation: Some(0),
            frozen: false,
            finalized: false,
            garbage: false,
            cycle: None,
            external,
        }
    }

    /// A chain drawn top to bottom: each object one layer below the one
    /// that points to it, and the picture only as tall as its layers.
    #[test]
    fn a_chain_is_drawn_in_layers_and_cropped() {
        let snapshot = HeapSnapshot {
            objects: vec![object(1), object(0), object(0)],
            edges: vec![(0, 1), (1, 2)],
            cycles: Vec::new(),
            weak_edges: vec![(2, 0)],
        };
        assert_eq!(layers(&snapshot), [0, 1, 2]);
        assert_eq!(reachable(&snapshot, 0), [0, 1, 2]);
        let laid = layout(&snapshot);
        assert_eq!(
            laid.height,
            (2.0 * MARGIN + 3.0 * BOX_HEIGHT + 2.0 * GAP_Y).ceil()
        );
        assert_eq!(
            laid.width,
            (2.0 * MARGIN + box_width(&object(0)) + CURVE_ROOM).ceil()
        );
        let svg = snapshot.to_svg();
        assert_eq!(svg.matches("class=\"object\"").count(), 3);
        assert_eq!(svg.matches("class=\"edge weak\"").count(), 1);
        assert_eq!(svg.matches("class=\"external\"").count(), 1);
    }

    /// A wide layer wraps into rows, so the picture stays readable.
    #[test]
    fn a_wide_layer_wraps() {
        let mut objects = vec![object(1)];
        objects.extend((0..20).map(|_| object(0)));
        let edges = (1..=20).map(|i| (0, i)).collect();
        let snapshot = HeapSnapshot {
            objects,
            edges,
            cycles: Vec::new(),
            weak_edges: Vec::new(),
        };
        let laid = layout(&snapshot);
        let rows = 1 + 20usize.div_ceil(ROW_MAX);
        assert_eq!(
            laid.height,
            (2.0 * MARGIN + rows as f64 * (BOX_HEIGHT + GAP_Y) - GAP_Y).ceil()
        );
        assert!(
            laid.width < (ROW_MAX as f64 + 1.0) * (box_width(&object(0)) + GAP_X) + 2.0 * MARGIN
        );
    }

    /// Unconnected structures are drawn apart, side by side.
    #[test]
    fn components_are_drawn_side_by_side() {
        let snapshot = HeapSnapshot {
            objects: vec![object(1), object(0), object(1), object(0)],
            edges: vec![(0, 1), (2, 3)],
            cycles: Vec::new(),
            weak_edges: Vec::new(),
        };
        assert_eq!(components(&snapshot), [vec![0, 1], vec![2, 3]]);
        let laid = layout(&snapshot);
        let (first, second) = (laid.boxes[1], laid.boxes[2]);
        assert!(second.0 > first.0 + first.2, "{:?}", laid.boxes);
        assert_eq!(laid.boxes[0].1, laid.boxes[2].1);
    }
}
