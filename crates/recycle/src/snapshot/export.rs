//! [`HeapSnapshot`] as Graphviz DOT and as JSON.

use core::fmt::Write;

use super::{HeapSnapshot, ObjectInfo};

/// Fill colours: generation 0, 1, 2, frozen, untracked.
const GENERATION_COLOURS: [&str; 3] = ["#cfe3ff", "#d4f2d4", "#ffe7ad"];
const FROZEN_COLOUR: &str = "#e2e2e2";
const UNTRACKED_COLOUR: &str = "#ffffff";

/// `a::b::C<d::E>` → `C<E>`: type names without their module paths.
pub(crate) fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut segment_start = 0;
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b':' && bytes.get(i + 1) == Some(&b':') {
            // Drop the path segment written so far.
            out.truncate(segment_start);
            i += 2;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'_') {
            out.push(c as char);
            segment_start = out.len();
        } else {
            // Non-ASCII never appears in type names' paths; copy bytes as chars.
            out.push(c as char);
        }
        i += 1;
    }
    out
}

/// Fill colour by generation.
fn fill_colour(o: &ObjectInfo) -> &'static str {
    match (o.frozen, o.generation) {
        (true, _) => FROZEN_COLOUR,
        (false, Some(g)) => GENERATION_COLOURS[g.min(2)],
        (false, None) => UNTRACKED_COLOUR,
    }
}

impl ObjectInfo {
    /// The object's title (its label, or its type name without module
    /// paths) and a line with its counts, generation and state, as the
    /// DOT export and `recycle graph` show them.
    pub fn caption(&self) -> (String, String) {
        caption(self)
    }

    /// The fill colour of its generation in the DOT export and `recycle
    /// graph` (an HTML colour).
    pub fn generation_colour(&self) -> &'static str {
        fill_colour(self)
    }
}

/// The caption of an object: its label or short type name, then its counts.
fn caption(o: &ObjectInfo) -> (String, String) {
    let title = o
        .label
        .clone()
        .unwrap_or_else(|| short_type_name(o.type_name));
    let mut detail = format!("strong {}", o.strong);
    if o.weak > 0 {
        write!(detail, ", weak {}", o.weak).unwrap();
    }
    match (o.frozen, o.generation) {
        (true, _) => detail.push_str(", frozen"),
        (false, Some(g)) => write!(detail, ", gen {g}").unwrap(),
        (false, None) => detail.push_str(", untracked"),
    }
    if o.finalized {
        detail.push_str(", finalized");
    }
    if o.garbage {
        detail.push_str(", garbage");
    }
    (title, detail)
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl HeapSnapshot {
    /// The outline colour of objects and edges in a cycle (an HTML colour).
    pub const CYCLE_COLOUR: &str = "#d62728";

    /// The graph in Graphviz's DOT language: objects filled by generation,
    /// cycles outlined in red, SAVEALL garbage dashed.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use recycle::{Gc, gc};
    ///
    /// let a = Gc::new(RefCell::new(Vec::<Gc<dyn std::any::Any>>::new()));
    /// let dot = gc::snapshot().to_dot();
    /// assert!(dot.starts_with("digraph heap {"));
    /// # drop(a);
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph heap {\n");
        out.push_str("  rankdir=LR;\n");
        out.push_str(
            "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=11];\n",
        );
        out.push_str("  edge [fontname=\"sans-serif\"];\n");
        for (i, o) in self.objects.iter().enumerate() {
            let (title, detail) = caption(o);
            let mut style = String::from("rounded,filled");
            if o.garbage {
                style.push_str(",dashed");
            }
            write!(
                out,
                "  n{i} [label=\"{}\\n{}\", fillcolor=\"{}\", style=\"{style}\"",
                dot_escape(&title),
                dot_escape(&detail),
                fill_colour(o)
            )
            .unwrap();
            if o.cycle.is_some() {
                write!(out, ", color=\"{}\", penwidth=2", Self::CYCLE_COLOUR).unwrap();
            }
            out.push_str("];\n");
        }
        for &(from, to) in &self.edges {
            write!(out, "  n{from} -> n{to}").unwrap();
            let (a, b) = (&self.objects[from], &self.objects[to]);
            if a.cycle.is_some() && a.cycle == b.cycle {
                write!(out, " [color=\"{}\", penwidth=2]", Self::CYCLE_COLOUR).unwrap();
            }
            out.push_str(";\n");
        }
        for &(from, to) in &self.weak_edges {
            writeln!(out, "  n{from} -> n{to} [style=dashed, color=\"#888888\"];").unwrap();
        }
        // The roots: a small point outside the heap for each object held
        // from outside.
        for (i, o) in self
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.external > 0)
        {
            writeln!(
                out,
                "  outside{i} [shape=point, width=0.08]; outside{i} -> n{i} [label=\"{}\", style=bold];",
                o.external
            )
            .unwrap();
        }
        out.push_str("}\n");
        out
    }

    /// The snapshot as JSON: `{"objects": [...], "edges": [[from, to], ...],
    /// "cycles": [[index, ...], ...]}`, each object with `index`, `address`
    /// (hex string), `type`, `label`, `strong`, `weak`, `generation` (0–2,
    /// `"frozen"` or `null` when untracked), `finalized`, `garbage`,
    /// `cycle` and `external`; then `"weak_edges": [[from, to], ...]`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n  \"objects\": [");
        for (i, o) in self.objects.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            let generation = match (o.frozen, o.generation) {
                (true, _) => "\"frozen\"".to_string(),
                (false, Some(g)) => g.to_string(),
                (false, None) => "null".to_string(),
            };
            write!(
                out,
                "{{\"index\": {i}, \"address\": \"{:#x}\", \"type\": {}, \"label\": {}, \
                 \"strong\": {}, \"weak\": {}, \"generation\": {generation}, \
                 \"finalized\": {}, \"garbage\": {}, \"cycle\": {}, \"external\": {}}}",
                o.address,
                json_escape(o.type_name),
                o.label.as_deref().map_or("null".to_string(), json_escape),
                o.strong,
                o.weak,
                o.finalized,
                o.garbage,
                o.cycle.map_or("null".to_string(), |c| c.to_string()),
                o.external,
            )
            .unwrap();
        }
        out.push_str("\n  ],\n  \"edges\": [");
        for (i, (from, to)) in self.edges.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { ", " });
            write!(out, "[{from}, {to}]").unwrap();
        }
        out.push_str("],\n  \"cycles\": [");
        for (i, cycle) in self.cycles.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { ", " });
            let members: Vec<String> = cycle.iter().map(usize::to_string).collect();
            write!(out, "[{}]", members.join(", ")).unwrap();
        }
        out.push_str("],\n  \"weak_edges\": [");
        for (i, (from, to)) in self.weak_edges.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { ", " });
            write!(out, "[{from}, {to}]").unwrap();
        }
        out.push_str("]\n}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type_name("u64"), "u64");
        assert_eq!(short_type_name("my::mod::Node"), "Node");
        assert_eq!(
            short_type_name("core::cell::RefCell<alloc::vec::Vec<recycle::Gc<a::B>>>"),
            "RefCell<Vec<Gc<B>>>"
        );
        assert_eq!(short_type_name("(a::B, [c::D; 4])"), "(B, [D; 4])");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_escape("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
