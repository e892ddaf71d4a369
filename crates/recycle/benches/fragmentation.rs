//! Fragmentation, measured: allocate 1,000,000 small objects, free a random
//! 99% of them, allocate as many again, then free everything, and read the
//! resident set size (RSS) after each step.
//!
//! Three implementations, each in its own child process so that RSS is its
//! own: recycle (`Gc<u64>`, 24 bytes, from the pool allocator), `Rc<u64>`
//! (the system allocator), and CPython (`float`s, 24 bytes each, from
//! pymalloc) when `python3` is on the `PATH`.
//!
//! `cargo bench -p recycle --bench fragmentation`

#[path = "shared/mod.rs"]
mod shared;

use shared::shuffled;

use std::process::Command;
use std::rc::Rc;

use recycle::Gc;

const N: usize = 1_000_000;
/// Objects freed in the second step.
const FREED: usize = N * 99 / 100;
const SEED: u64 = 99;

/// The same steps in Python, for CPython's figures. Python's own shuffle
/// picks which objects go; any random 99% tells the same story.
const PYTHON: &str = r#"
import random
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096 // 1024
n, freed = 1_000_000, 990_000
out = [rss()]
objs = [float(i) for i in range(n)]
out.append(rss())
order = list(range(n))
random.Random(99).shuffle(order)
for i in order[:freed]:
    objs[i] = None
del order
out.append(rss())
for i in range(n):
    if objs[i] is None:
        objs[i] = float(-i)
out.append(rss())
del objs
out.append(rss())
print('RESULT', *out)
"#;

/// Resident set size of this process now, in KiB (Linux).
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// One implementation's steps; prints the RSS after each.
macro_rules! steps {
    ($ptr:ident) => {{
        let mut rss = vec![rss_kib()];
        // Reserve the slots first, so that their buffer is not part of the
        // figures' changes.
        let mut objects: Vec<Option<$ptr<u64>>> = Vec::with_capacity(N);
        objects.extend((0..N).map(|i| Some($ptr::new(i as u64))));
        rss.push(rss_kib());
        let order = shuffled(N, SEED);
        for &i in &order[..FREED] {
            objects[i] = None;
        }
        drop(order);
        rss.push(rss_kib());
        for (i, slot) in objects.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some($ptr::new(i as u64));
            }
        }
        rss.push(rss_kib());
        drop(objects);
        rss.push(rss_kib());
        rss
    }};
}

fn child(which: &str) {
    let rss = if which == "recycle" {
        let rss = steps!(Gc);
        let stats = recycle::alloc::stats();
        eprintln!(
            "recycle: {} arenas held at the end, {} released, high-water {}",
            stats.arenas_current, stats.arenas_released, stats.arenas_high_water
        );
        rss
    } else {
        steps!(Rc)
    };
    let line: Vec<String> = rss.iter().map(u64::to_string).collect();
    println!("RESULT {}", line.join(" "));
}

/// Runs a command and reads its `RESULT` line of KiB figures.
fn run(command: &mut Command, name: &str) -> Option<Vec<u64>> {
    let out = command.output().ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
        panic!("{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    };
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    Some(
        line.split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1]);
    }
    let exe = std::env::current_exe().expect("own path");
    let mut results: Vec<(&str, Vec<u64>)> = Vec::new();
    for name in ["recycle", "Rc"] {
        let rss = run(Command::new(&exe).args(["--child", name]), name).expect("run child");
        results.push((name, rss));
    }
    match run(Command::new("python3").args(["-c", PYTHON]), "python3") {
        Some(rss) => results.push(("CPython (python3)", rss)),
        None => eprintln!("python3 not found: no CPython column"),
    }

    println!(
        "fragmentation: {N} objects, free a random {FREED}, refill, free all; RSS in MiB above the process's start"
    );
    print!("| step |");
    for (name, _) in &results {
        print!(" {name} |");
    }
    println!();
    println!("|---|{}", "---:|".repeat(results.len()));
    let steps = [
        "start (absolute RSS)",
        "1M allocated",
        "99% freed",
        "refilled",
        "all freed",
    ];
    for (s, step) in steps.iter().enumerate() {
        print!("| {step} |");
        for (_, rss) in &results {
            let kib = if s == 0 { rss[0] } else { rss[s] - rss[0] };
            print!(" {:.1} |", kib as f64 / 1024.0);
        }
        println!();
    }
}
