//! recycle beside `Rc` and the peer crates, on the same workloads, each
//! (workload, implementation) cell in a child process of its own.
//!
//! ```text
//! cargo bench -p recycle-bench                       # everything, 3 runs per cell
//! cargo bench -p recycle-bench -- --runs 1 --only cyc_ring,churn --imps Rc,recycle
//! ```
//!
//! Prints Markdown tables (medians, and multiples of `Rc`) and writes them
//! with one SVG chart per workload to `target/recycle-bench/` (or `--out
//! DIR`; cargo runs benchmarks in `crates/recycle-bench`, so give an
//! absolute path).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use recycle_bench::{Outcome, Report, Results, markdown, peak_rss_kib, write_chart};

mod dom;
mod imps;
mod workloads;

use imps::with_imp;

/// Stack of the thread the workloads run on (as the default main thread's).
const STACK: usize = 8 << 20;

/// Workloads that the child runs on its main thread rather than on a
/// thread of its own (see `tree_again`).
const ON_MAIN_THREAD: [&str; 1] = ["tree_again"];

struct Options {
    runs: usize,
    /// `valgrind` runs here: the instruction-count workload can be run.
    valgrind: bool,
    workloads: Vec<String>,
    imps: Vec<String>,
    out: PathBuf,
}

fn list(value: &str, known: &[&str], what: &str) -> Vec<String> {
    let names: Vec<String> = value.split(',').map(str::to_string).collect();
    for name in &names {
        if !known.contains(&name.as_str()) {
            eprintln!(
                "recycle-bench: unknown {what} {name:?}; known: {}",
                known.join(", ")
            );
            std::process::exit(2);
        }
    }
    names
}

fn options(args: &[String]) -> Options {
    let mut o = Options {
        runs: 3,
        valgrind: version_of("valgrind").is_some(),
        workloads: workloads::NAMES.iter().map(|s| s.to_string()).collect(),
        imps: imps::NAMES
            .iter()
            .filter(|&&name| name != CPYTHON || python_version().is_some())
            .map(|s| s.to_string())
            .collect(),
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/recycle-bench"),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().cloned().unwrap_or_else(|| {
                eprintln!("recycle-bench: {arg} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--runs" => o.runs = value().parse().expect("--runs takes a number"),
            "--only" => o.workloads = list(&value(), &workloads::NAMES, "workload"),
            "--imps" => o.imps = list(&value(), &imps::NAMES, "implementation"),
            "--out" => o.out = PathBuf::from(value()),
            // `cargo bench` passes `--bench`; filters are not used.
            _ => {}
        }
    }
    if o.workloads.iter().any(|w| w == COUNTED) && !o.valgrind {
        eprintln!("recycle-bench: no valgrind found: the instruction counts are left out");
    }
    if o.imps.iter().any(|imp| imp == CPYTHON) && python_version().is_none() {
        eprintln!("recycle-bench: no python3 found: the CPython column is left out");
        o.imps.retain(|imp| imp != CPYTHON);
    }
    o
}

/// The child: runs one workload with one implementation, on a thread with
/// an 8 MiB stack (or on its main thread: `ON_MAIN_THREAD`), and reports to
/// stdout.
fn child(workload: String, imp: String) {
    let on_main_thread = ON_MAIN_THREAD.contains(&workload.as_str());
    let name = format!("{imp}/{workload}");
    let run = move || {
        let mut report = Report::new();
        with_imp!(imp.as_str(), I => workloads::run::<I>(&workload, &mut report))
            .expect("known implementation");
        report.figure("peak_rss_kib", peak_rss_kib() as f64);
        report.done();
    };
    if on_main_thread {
        return run();
    }
    let worker = std::thread::Builder::new()
        .name(name)
        .stack_size(STACK)
        .spawn(run)
        .expect("spawn the worker thread");
    if worker.join().is_err() {
        std::process::exit(101);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, workload, imp, ..] = args.as_slice()
        && flag == "--child"
    {
        return child(workload.clone(), imp.clone());
    }
    let o = options(&args);
    std::fs::create_dir_all(&o.out).expect("create the output directory");
    let exe = std::env::current_exe().expect("own path");
    let mut results = Results::new(o.imps.clone());
    let cells = o.runs * o.workloads.len() * o.imps.len();
    let bar = ProgressBar::new(cells as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    // Run by run, so that a slow machine moment spreads over implementations.
    for _ in 0..o.runs {
        for workload in &o.workloads {
            for imp in &o.imps {
                bar.set_message(format!("{workload} / {imp}"));
                if workload == COUNTED && (imp == CPYTHON || !o.valgrind) {
                    // An instruction count of the interpreter says nothing
                    // comparable; without valgrind there is nothing to count.
                    bar.inc(1);
                    continue;
                }
                let counts = o.out.join(format!("callgrind.{workload}.{imp}"));
                let out = if imp == CPYTHON {
                    Command::new("python3")
                        .arg(python_workloads())
                        .arg(workload)
                        .output()
                        .expect("start python3")
                } else if workload == COUNTED {
                    Command::new("valgrind")
                        .arg("--tool=callgrind")
                        .arg("--toggle-collect=*clone_drop_loop*")
                        .arg(format!("--callgrind-out-file={}", counts.display()))
                        .arg(&exe)
                        .args(["--child", workload, imp])
                        .output()
                        .expect("start valgrind")
                } else {
                    Command::new(&exe)
                        .args(["--child", workload, imp])
                        .output()
                        .expect("start a child process")
                };
                let mut outcome = Outcome::parse(
                    &String::from_utf8_lossy(&out.stdout),
                    &String::from_utf8_lossy(&out.stderr),
                    out.status,
                );
                if workload == COUNTED
                    && let Outcome::Ok(figures) = &mut outcome
                {
                    let per_op = counted_instructions(&counts)
                        .map_or(f64::NAN, |n| n as f64 / workloads::COUNTED_CLONES as f64);
                    figures.push(("instructions_per_op".to_string(), per_op));
                }
                if let Outcome::Crash { reason, phase, .. } = &outcome {
                    bar.suspend(|| eprintln!("{workload} / {imp}: CRASH: {reason} in {phase}"));
                }
                results.add(workload, imp, outcome);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();

    let machine = machine_line();
    let mut report = format!(
        "recycle-bench: {} run(s) per cell, median; {machine}; {:.0} s in all\n\n",
        o.runs,
        started.elapsed().as_secs_f64()
    );
    report.push_str(&markdown(&results));
    report.push_str(
        "\n† `Rc` cannot collect cycles: its reclaim figure is for breaking every cycle by hand \
         (clearing the edges) and then dropping. LEAK n: objects whose `Drop` never ran after \
         the final collection. CPython: the same workloads as Python programs \
         (`python/workloads.py`, nodes with `__slots__`; its DOM rows are medians of 3 \
         rounds, not 5).\n",
    );
    println!("{report}");
    std::fs::write(o.out.join("results.md"), &report).expect("write results.md");
    for workload in &o.workloads {
        let path = o.out.join(format!("{workload}.svg"));
        if let Err(e) = write_chart(&results, workload, &path) {
            eprintln!("recycle-bench: chart {workload}: {e}");
        }
    }
    eprintln!("tables and charts written to {}", o.out.display());
}

/// The workload whose figure is an instruction count: its child runs under
/// valgrind's callgrind, which counts only inside the workload's loop.
const COUNTED: &str = "clone_drop_instructions";

/// `PROGRAM --version`, if the program is installed and answers.
fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The instructions callgrind counted (its `totals:` line: with
/// `--toggle-collect`, only those inside the named function).
fn counted_instructions(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("totals:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The column of the system recycle reimplements: the same workloads as
/// Python programs, run by the machine's `python3`.
const CPYTHON: &str = "CPython";

/// `python3 --version`, if there is one.
fn python_version() -> Option<String> {
    version_of("python3")
}

/// The Python versions of the workloads.
fn python_workloads() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/workloads.py")
}

/// CPU, cores and compiler, for the report's header.
fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let python = python_version().unwrap_or_else(|| "no python3".to_string());
    format!("{cpu}, {cores} cores, {rustc}, {python}")
}
