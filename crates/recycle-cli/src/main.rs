//! `recycle`: the demo of the recycle crate.
//!
//! `cargo run --release` runs the demo; `recycle --help` lists what else
//! there is.

use std::process::ExitCode;

mod demo;

const USAGE: &str = "\
usage: recycle [demo]

Commands:
  demo    (default) the article's reference-counting program in Rust, then a
          reference cycle freed by the cycle collector

Options:
  -h, --help     print this help
  -V, --version  print the version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["demo"] => {
            demo::run();
            ExitCode::SUCCESS
        }
        ["-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["-V" | "--version"] => {
            println!("recycle {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("recycle: unknown arguments {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
