//! `recycle graph --from FILE`: a snapshot saved by the user's program
//! (`gc::snapshot().to_json()`), read back.

use std::collections::HashMap;
use std::path::Path;

use recycle::gc::{HeapSnapshot, ObjectInfo};
use serde_json::Value;

/// Reads the JSON of [`HeapSnapshot::to_json`] from `path`.
pub(crate) fn load(path: &Path) -> Result<HeapSnapshot, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses the JSON of [`HeapSnapshot::to_json`].
pub(crate) fn parse(text: &str) -> Result<HeapSnapshot, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let objects = json["objects"]
        .as_array()
        .ok_or("no \"objects\" list: is this the JSON of HeapSnapshot::to_json?")?;
    // Type names are `&'static str` in a snapshot: each distinct one is
    // kept for the life of this (short-lived) process.
    let mut names: HashMap<String, &'static str> = HashMap::new();
    let mut out = HeapSnapshot::default();
    for (i, o) in objects.iter().enumerate() {
        let field = |name: &str| format!("object {i}: no valid \"{name}\"");
        let count = |name: &str| {
            o[name]
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| field(name))
        };
        let type_name = o["type"].as_str().ok_or_else(|| field("type"))?;
        let type_name = *names
            .entry(type_name.to_string())
            .or_insert_with(|| Box::leak(type_name.to_string().into_boxed_str()));
        let address = o["address"]
            .as_str()
            .and_then(|a| usize::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| field("address"))?;
        let (generation, frozen) = match &o["generation"] {
            Value::Null => (None, false),
            Value::String(s) if s == "frozen" => (Some(2), true),
            Value::Number(n) => match n.as_u64() {
                Some(g @ 0..=2) => (Some(g as usize), false),
                _ => return Err(field("generation")),
            },
            _ => return Err(field("generation")),
        };
        let strong = count("strong")?;
        out.objects.push(ObjectInfo {
            address,
            type_name,
            label: o["label"].as_str().map(str::to_string),
            strong,
            weak: count("weak")?,
            generation,
            frozen,
            finalized: o["finalized"].as_bool().ok_or_else(|| field("finalized"))?,
            garbage: o["garbage"].as_bool().ok_or_else(|| field("garbage"))?,
            cycle: match &o["cycle"] {
                Value::Null => None,
                c => Some(c.as_u64().ok_or_else(|| field("cycle"))? as usize),
            },
            // Filled in below if the file predates the field.
            external: o["external"].as_u64().map_or(usize::MAX, |n| n as usize),
        });
    }
    let n = out.objects.len();
    let pairs = |name: &str| -> Result<Vec<(usize, usize)>, String> {
        let Some(list) = json[name].as_array() else {
            return if name == "weak_edges" {
                Ok(Vec::new())
            } else {
                Err(format!("no \"{name}\" list"))
            };
        };
        list.iter()
            .enumerate()
            .map(|(k, pair)| match pair.as_array().map(Vec::as_slice) {
                Some([a, b]) => match (a.as_u64(), b.as_u64()) {
                    (Some(a), Some(b)) if (a as usize) < n && (b as usize) < n => {
                        Ok((a as usize, b as usize))
                    }
                    _ => Err(format!(
                        "{name} {k}: [{a}, {b}] is not a pair of object indices below {n}"
                    )),
                },
                _ => Err(format!("{name} {k}: not a [from, to] pair")),
            })
            .collect()
    };
    out.edges = pairs("edges")?;
    out.weak_edges = pairs("weak_edges")?;
    let cycles = json["cycles"].as_array().ok_or("no \"cycles\" list")?;
    for (k, cycle) in cycles.iter().enumerate() {
        let members: Option<Vec<usize>> = cycle.as_array().and_then(|m| {
            m.iter()
                .map(|i| i.as_u64().map(|i| i as usize).filter(|&i| i < n))
                .collect()
        });
        out.cycles
            .push(members.ok_or_else(|| format!("cycle {k}: not a list of object indices"))?);
    }
    for (k, o) in out.objects.iter().enumerate() {
        if o.cycle.is_some_and(|c| c >= out.cycles.len()) {
            return Err(format!("object {k}: its cycle is not in \"cycles\""));
        }
    }
    // A file without "external": strong less the edges into each object.
    let mut inside = vec![0usize; n];
    for &(_, to) in &out.edges {
        inside[to] += 1;
    }
    for (o, inside) in out.objects.iter_mut().zip(inside) {
        if o.external == usize::MAX {
            o.external = o.strong.saturating_sub(inside);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_the_round_trip() {
        use std::cell::RefCell;

        use recycle::{Gc, Trace, Weak, gc};

        #[derive(Trace)]
        struct Node {
            next: RefCell<Option<Gc<Node>>>,
            parent: RefCell<Weak<Node>>,
        }
        let a = Gc::new(Node {
            next: RefCell::new(None),
            parent: RefCell::new(Weak::new()),
        });
        let b = Gc::new(Node {
            next: RefCell::new(Some(a.clone())),
            parent: RefCell::new(Gc::downgrade(&a)),
        });
        *a.next.borrow_mut() = Some(b.clone());
        let taken = gc::snapshot();
        let back = parse(&taken.to_json()).unwrap();
        assert_eq!(back.objects, taken.objects);
        assert_eq!(back.edges, taken.edges);
        assert_eq!(back.weak_edges, taken.weak_edges);
        assert_eq!(back.cycles, taken.cycles);
        assert_eq!(back.weak_edges.len(), 1);
        a.next.borrow_mut().take();
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse("[1, 2]").unwrap_err().contains("no \"objects\" list"));
        assert!(parse("{").unwrap_err().starts_with("not JSON"));
        let bad_edge = r#"{"objects": [], "edges": [[0, 1]], "cycles": []}"#;
        assert!(parse(bad_edge).unwrap_err().contains("edges 0: [0, 1]"));
    }
}
