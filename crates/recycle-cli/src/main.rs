//! `recycle`: the demo of the recycle crate, and tools to look at a heap.
//!
//! `cargo run --release` runs the demo; `recycle --help` lists the rest:
//! `recycle graph` draws the object graph of a scenario, `recycle stats`
//! runs a workload and reports what the collector and the allocator did.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod demo;
mod graph;
mod stats;

/// CPython's memory management, in Rust: the demo, and tools to look at a
/// heap.
#[derive(Parser)]
#[command(name = "recycle", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The article's reference-counting program in Rust, then what the cycle
    /// collector adds (the default).
    Demo,
    /// Draw the object graph of a scenario, or of a snapshot your program
    /// saved: cycles outlined, generations coloured, weak edges dashed, the
    /// objects held from outside marked, with a legend.
    Graph {
        /// What to build before taking the snapshot.
        #[arg(value_enum, default_value_t = graph::Scenario::All)]
        scenario: graph::Scenario,
        /// Draw this saved snapshot instead (the JSON of
        /// `recycle::gc::snapshot().to_json()`).
        #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
        from: Option<PathBuf>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Html)]
        format: Format,
        /// Where to write it ("-" for stdout) [default: recycle-graph-SCENARIO.FORMAT].
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Run a workload with automatic collection, print what each generation
    /// and the allocator did, and chart the collection pauses.
    Stats {
        /// Steps of the churn workload (each replaces an object or adds an
        /// edge).
        #[arg(long, default_value_t = 2_000_000)]
        steps: usize,
        /// Live objects the workload keeps.
        #[arg(long, default_value_t = 100_000)]
        roots: usize,
        /// Where to write the pause-time chart (SVG).
        #[arg(short, long, default_value = "recycle-stats-pauses.svg")]
        chart: PathBuf,
    },
}

/// Output formats of `recycle graph`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One self-contained page: the picture, a legend and the JSON.
    Html,
    /// The picture alone.
    Svg,
    /// Graphviz's DOT language.
    Dot,
    /// The snapshot as JSON.
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Dot => "dot",
            Format::Json => "json",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Demo) {
        Command::Demo => {
            demo::run();
            Ok(())
        }
        Command::Graph {
            scenario,
            from,
            format,
            output,
        } => graph::run(scenario, from, format, output),
        Command::Stats {
            steps,
            roots,
            chart,
        } => stats::run(steps, roots, &chart),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("recycle: {message}");
            ExitCode::FAILURE
        }
    }
}
