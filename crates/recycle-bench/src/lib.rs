//! The comparison harness behind `cargo bench -p recycle-bench`: recycle
//! beside `std::rc::Rc` and the peer crates (rust-cc, dumpster, gcmodule,
//! bacon-rajan-cc, gc) on the same workloads.
//!
//! The benchmark itself (`benches/compare/`) holds the implementations and
//! workloads, since the peer crates are dev-dependencies. This library holds
//! what does not depend on them: the protocol between the harness and its
//! child processes ([`Report`], [`Outcome`]), resident-memory readings,
//! and the Markdown tables and SVG charts of the results.
//!
//! Every (workload, implementation) cell runs in a child process of its
//! own, so a crash (a stack overflow, a panic) is reported as such instead
//! of ending the run, and peak RSS is that implementation's alone.

mod chart;
mod outcome;
mod table;

pub use chart::write_chart;
pub use outcome::{Outcome, Report, median};
pub use table::{Cell, ROWS, Results, Row, format_value, markdown};

/// Resident set size of this process now, in KiB (Linux; 0 elsewhere).
pub fn rss_kib() -> u64 {
    read_statm_resident().unwrap_or(0)
}

fn read_statm_resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// The most resident memory this process has had, in KiB (Linux; 0
/// elsewhere).
pub fn peak_rss_kib() -> u64 {
    let read = || -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    read().unwrap_or(0)
}
