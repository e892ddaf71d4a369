//! The churn workload, recycle beside `std::rc::Rc` in the same run:
//! 100,000 live objects in a root vector; 2,000,000 steps that each either
//! replace a random root with a new object or add an edge between two random
//! roots (at most 4 edges per object, then a random one is overwritten),
//! which creates cycles. recycle runs with automatic collection on; `Rc`
//! leaks every cycle. Both end by dropping the roots (recycle: plus one
//! `gc::collect()`).
//!
//! Each implementation runs in its own child process (so that peak RSS is
//! its own), several times; the medians are reported, with ratios to `Rc`.
//! Pauses are the durations the collector reports to `gc::add_callback`:
//! those of the automatic collections during the workload, and apart from
//! them the final `gc::collect()`, which the program asks for.
//!
//! `cargo bench -p recycle --bench churn`

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use recycle::{Gc, Trace, gc};

const ROOTS: usize = 100_000;
const STEPS: usize = 2_000_000;
const MAX_EDGES: usize = 4;
const RUNS: usize = 5;

#[derive(Trace)]
struct GcNode {
    id: u64,
    edges: RefCell<Vec<Gc<GcNode>>>,
}

struct RcNode {
    id: u64,
    edges: RefCell<Vec<Rc<RcNode>>>,
}

/// xorshift64: the same sequence of steps for both implementations.
struct Steps(u64);

impl Steps {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One implementation's run of the workload.
macro_rules! churn {
    ($ptr:ident, $node:ident) => {{
        let mut steps = Steps(0x9e37_79b9_7f4a_7c15);
        let new = |id: usize| {
            $ptr::new($node {
                id: id as u64,
                edges: RefCell::new(Vec::new()),
            })
        };
        let mut roots: Vec<$ptr<$node>> = (0..ROOTS).map(new).collect();
        for step in 0..STEPS {
            if steps.below(2) == 0 {
                let i = steps.below(ROOTS);
                roots[i] = new(ROOTS + step);
            } else {
                let (a, b) = (steps.below(ROOTS), steps.below(ROOTS));
                let target = $ptr::clone(&roots[b]);
                let mut edges = roots[a].edges.borrow_mut();
                if edges.len() < MAX_EDGES {
                    edges.push(target);
                } else {
                    let k = steps.below(MAX_EDGES);
                    edges[k] = target;
                }
            }
        }
        let checksum: u64 = roots.iter().map(|r| r.id).sum();
        drop(roots);
        checksum
    }};
}

/// Peak resident set size of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The child: runs one implementation once and prints one result line.
fn child(which: &str) {
    let pauses = Rc::new(RefCell::new(Vec::<Duration>::new()));
    let mut final_collect = Duration::ZERO;
    let start = Instant::now();
    let checksum = if which == "recycle" {
        let p = pauses.clone();
        let id = gc::add_callback(move |phase, info| {
            if phase == gc::Phase::Stop {
                p.borrow_mut().push(info.duration);
            }
        });
        let sum = churn!(Gc, GcNode);
        let automatic = pauses.borrow().len();
        gc::collect();
        gc::remove_callback(id);
        final_collect = pauses.borrow_mut().split_off(automatic).iter().sum();
        sum
    } else {
        churn!(Rc, RcNode)
    };
    let total = start.elapsed();
    let mut pauses = pauses.borrow().clone();
    pauses.sort();
    let max = pauses.last().copied().unwrap_or_default();
    let p99 = pauses
        .get(pauses.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    println!(
        "RESULT {} {} {} {} {} {} {checksum}",
        total.as_secs_f64() * 1e3,
        peak_rss_kib().unwrap_or(0),
        max.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        pauses.len(),
        final_collect.as_secs_f64() * 1e3,
    );
}

#[derive(Default)]
struct Runs {
    total_ms: Vec<f64>,
    rss_kib: Vec<f64>,
    max_pause_ms: Vec<f64>,
    p99_pause_ms: Vec<f64>,
    collections: Vec<f64>,
    final_collect_ms: Vec<f64>,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1]);
    }
    let exe = std::env::current_exe().expect("own path");
    let names = ["Rc", "recycle"];
    let mut runs = [Runs::default(), Runs::default()];
    for _ in 0..RUNS {
        for (which, runs) in names.iter().zip(runs.iter_mut()) {
            let out = Command::new(&exe)
                .args(["--child", which])
                .output()
                .expect("run child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
                panic!("{which} crashed: {}", String::from_utf8_lossy(&out.stderr));
            };
            let f: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect();
            runs.total_ms.push(f[0]);
            runs.rss_kib.push(f[1]);
            runs.max_pause_ms.push(f[2]);
            runs.p99_pause_ms.push(f[3]);
            runs.collections.push(f[4]);
            runs.final_collect_ms.push(f[5]);
        }
    }
    let [rc, rec] = &runs;
    println!("churn: {ROOTS} roots, {STEPS} steps, median of {RUNS} runs per implementation");
    println!("| metric | Rc (leaks cycles) | recycle | recycle / Rc |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, a: f64, b: f64| println!("| {name} | {a:.1} | {b:.1} | {:.2}x |", b / a);
    row("total, ms", median(&rc.total_ms), median(&rec.total_ms));
    row(
        "peak RSS, MiB",
        median(&rc.rss_kib) / 1024.0,
        median(&rec.rss_kib) / 1024.0,
    );
    println!(
        "| max pause of the automatic collections, ms | - | {:.2} | |",
        median(&rec.max_pause_ms)
    );
    println!(
        "| p99 pause of the automatic collections, ms | - | {:.2} | |",
        median(&rec.p99_pause_ms)
    );
    println!(
        "| automatic collections | - | {:.0} | |",
        median(&rec.collections)
    );
    println!(
        "| the final `gc::collect()`, ms | - | {:.1} | |",
        median(&rec.final_collect_ms)
    );
}
