//! What a child process reports, and how the harness reads it.
//!
//! The child prints `PHASE <name>` before each phase and `FIGURE <key>
//! <value>` for each result, one per line (stdout is line-buffered, so a
//! line printed before a crash reaches the parent). A child that exits
//! without `DONE` crashed; the last phase tells where.

use std::process::ExitStatus;

/// The child's side: prints phases and figures for the parent.
#[derive(Debug, Default)]
pub struct Report {
    _private: (),
}

impl Report {
    /// A reporter on stdout.
    pub fn new() -> Self {
        Report::default()
    }

    /// Names the phase that starts now.
    pub fn phase(&mut self, name: &str) {
        println!("PHASE {name}");
    }

    /// Reports one figure.
    pub fn figure(&mut self, key: &str, value: f64) {
        println!("FIGURE {key} {value}");
    }

    /// Says that the workload finished.
    pub fn done(&mut self) {
        println!("DONE");
    }
}

/// What one run of one cell came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The workload finished; its figures by key, in report order.
    Ok(Vec<(String, f64)>),
    /// The child died: why, and in which phase.
    Crash {
        /// "stack overflow", "panic …", "killed by signal 9", …
        reason: String,
        /// The last phase the child named.
        phase: String,
        /// The figures it reported before it died.
        figures: Vec<(String, f64)>,
    },
}

impl Outcome {
    /// Reads a finished child's stdout, stderr and exit status.
    pub fn parse(stdout: &str, stderr: &str, status: ExitStatus) -> Outcome {
        let mut figures = Vec::new();
        let mut phase = String::from("start-up");
        let mut done = false;
        for line in stdout.lines() {
            if let Some(name) = line.strip_prefix("PHASE ") {
                phase = name.to_string();
            } else if let Some(rest) = line.strip_prefix("FIGURE ") {
                let mut parts = rest.splitn(2, ' ');
                if let (Some(key), Some(Ok(value))) =
                    (parts.next(), parts.next().map(str::parse::<f64>))
                {
                    figures.push((key.to_string(), value));
                }
            } else if line == "DONE" {
                done = true;
            }
        }
        if done && status.success() {
            Outcome::Ok(figures)
        } else {
            Outcome::Crash {
                reason: crash_reason(stderr, status),
                phase,
                figures,
            }
        }
    }

    /// A figure the run reported (a crashed run reports those of the
    /// phases before the crash).
    pub fn figure(&self, key: &str) -> Option<f64> {
        let (Outcome::Ok(figures) | Outcome::Crash { figures, .. }) = self;
        figures.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }
}

/// Why a child died, in a few words.
fn crash_reason(stderr: &str, status: ExitStatus) -> String {
    if stderr.contains("has overflowed its stack") {
        return "stack overflow".to_string();
    }
    let mut lines = stderr.lines();
    if lines.any(|l| l.contains("panicked at"))
        && let Some(message) = lines.next()
    {
        let message: String = message.chars().take(80).collect();
        return format!("panic \"{message}\"");
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                if let Some(signal) = status.signal() {
                    return format!("killed by signal {signal}");
                }
            }
            "killed".to_string()
        }
    }
}

/// The median of `values` (the upper one of an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_finished_run_gives_its_figures() {
        let out = "PHASE build\nFIGURE build_ns 12.5\nPHASE drop\nFIGURE missing 0\nDONE\n";
        let outcome = Outcome::parse(out, "", ExitStatus::from_raw(0));
        assert_eq!(outcome.figure("build_ns"), Some(12.5));
        assert_eq!(outcome.figure("missing"), Some(0.0));
        assert_eq!(outcome.figure("other"), None);
    }

    #[test]
    fn a_stack_overflow_is_named_with_its_phase() {
        let out = "PHASE build\nFIGURE build_ns 12.5\nPHASE drop\n";
        let err = "\nthread 'main' has overflowed its stack\nfatal runtime error: stack overflow\n";
        // SIGABRT, as the runtime's overflow handler ends the process.
        let outcome = Outcome::parse(out, err, ExitStatus::from_raw(6));
        assert_eq!(
            outcome,
            Outcome::Crash {
                reason: "stack overflow".into(),
                phase: "drop".into(),
                figures: vec![("build_ns".into(), 12.5)],
            }
        );
        assert_eq!(
            outcome.figure("build_ns"),
            Some(12.5),
            "reported before the crash"
        );
    }

    #[test]
    fn a_panic_gives_its_message() {
        let err = "thread 'w' panicked at src/x.rs:1:2:\nToo many references\nnote: ...\n";
        let outcome = Outcome::parse("PHASE clone\n", err, ExitStatus::from_raw(101 << 8));
        assert_eq!(
            outcome,
            Outcome::Crash {
                reason: "panic \"Too many references\"".into(),
                phase: "clone".into(),
                figures: vec![],
            }
        );
    }

    #[test]
    fn no_done_line_is_a_crash_even_with_exit_code_zero() {
        let outcome = Outcome::parse("PHASE a\n", "", ExitStatus::from_raw(0));
        assert!(matches!(outcome, Outcome::Crash { .. }));
    }

    #[test]
    fn median_takes_the_middle() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
