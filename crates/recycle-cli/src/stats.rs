//! `recycle stats`: a churning workload under automatic collection, then
//! what each generation and the allocator did, and a chart of the pauses.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use plotters::prelude::*;
use recycle::gc::{self, Phase};
use recycle::{Gc, Trace, alloc};

/// A workload object: an id and up to four edges.
#[derive(Trace)]
struct Node {
    id: u64,
    edges: RefCell<Vec<Gc<Node>>>,
}

const MAX_EDGES: usize = 4;

/// One collection, as the callbacks saw it.
#[derive(Clone, Copy)]
struct Pause {
    /// Since the workload started.
    at: Duration,
    generation: usize,
    duration: Duration,
    /// The final `gc::collect()`, not an automatic collection.
    explicit: bool,
}

/// xorshift64: a repeatable workload.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

pub(crate) fn run(steps: usize, roots: usize, chart: &Path) -> Result<(), String> {
    if roots == 0 {
        return Err("--roots must be at least 1".to_string());
    }
    // Before the workload: a chart that cannot be written is said at once.
    std::fs::File::create(chart)
        .map_err(|e| format!("cannot write the chart to {}: {e}", chart.display()))?;
    let started = Instant::now();
    let pauses: Rc<RefCell<Vec<Pause>>> = Rc::default();
    let explicit = Rc::new(std::cell::Cell::new(false));
    let recorder = pauses.clone();
    let in_final = explicit.clone();
    let callback = gc::add_callback(move |phase, info| {
        if phase == Phase::Stop {
            recorder.borrow_mut().push(Pause {
                at: started.elapsed(),
                generation: info.generation,
                duration: info.duration,
                explicit: in_final.get(),
            });
        }
    });

    println!("recycle stats: {roots} live objects, {steps} steps that replace one or add an edge");
    println!(
        "(creating cycles), automatic collection on with thresholds {:?}\n",
        gc::get_threshold()
    );
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let node = |id: usize| {
        Gc::new(Node {
            id: id as u64,
            edges: RefCell::new(Vec::new()),
        })
    };
    let mut live: Vec<Gc<Node>> = (0..roots).map(node).collect();
    for step in 0..steps {
        if random.below(2) == 0 {
            let i = random.below(roots);
            live[i] = node(roots + step);
        } else {
            let (a, b) = (random.below(roots), random.below(roots));
            let target = live[b].clone();
            let mut edges = live[a].edges.borrow_mut();
            if edges.len() < MAX_EDGES {
                edges.push(target);
            } else {
                edges[random.below(MAX_EDGES)] = target;
            }
        }
    }
    let workload = started.elapsed();
    let checksum: u64 = live.iter().map(|n| n.id).sum();
    let alloc_during = alloc::stats();
    drop(live);
    explicit.set(true);
    let freed_at_end = gc::collect();
    gc::remove_callback(callback);

    println!(
        "workload: {:.1} ms (checksum {checksum})",
        workload.as_secs_f64() * 1e3
    );
    println!("final gc::collect() after dropping the roots: {freed_at_end} unreachable objects\n");
    println!("generation  collections  collected  uncollectable   examined   total time");
    for (generation, s) in gc::get_stats().iter().enumerate() {
        println!(
            "{generation:>10}  {:>11}  {:>9}  {:>13}  {:>9}  {:>8.1} ms",
            s.collections,
            s.collected,
            s.uncollectable,
            s.candidates,
            s.duration.as_secs_f64() * 1e3
        );
    }
    let pauses = pauses.borrow();
    let mut sorted: Vec<Duration> = pauses
        .iter()
        .filter(|p| !p.explicit)
        .map(|p| p.duration)
        .collect();
    sorted.sort();
    if let Some(&max) = sorted.last() {
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
        println!(
            "\nautomatic pauses: {} collections; median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            sorted.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    println!(
        "thresholds {:?}, counts now {:?}\n",
        gc::get_threshold(),
        gc::get_count()
    );
    println!("the allocator at the end of the workload (before the roots were dropped):\n");
    print!("{alloc_during}");
    write_chart(&pauses, chart)?;
    println!("\npause chart written to {}", chart.display());
    Ok(())
}

/// The shortest pause the chart shows (its log scale starts there).
const FLOOR_MS: f64 = 0.0003;

/// Pause against time, one colour per generation, as an SVG file. The pause
/// axis is logarithmic: the automatic pauses (microseconds) and the final
/// explicit collection (which frees everything, and takes far longer) are
/// both readable; the final one has a marker of its own.
fn write_chart(pauses: &[Pause], path: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let end = pauses
        .last()
        .map_or(1.0, |p| p.at.as_secs_f64() * 1e3)
        .max(1.0);
    let top = pauses
        .iter()
        .map(|p| p.duration.as_secs_f64() * 1e3)
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "recycle: collection pauses during the churn workload",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end * 1.02, (FLOOR_MS..top).log_scale())
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("time since the workload started, ms")
        .y_desc("pause, ms (log scale)")
        .y_label_formatter(&|ms| format!("{ms}"))
        .draw()
        .map_err(|e| fail(&e))?;
    const COLOURS: [RGBColor; 3] = [
        RGBColor(70, 110, 180),
        RGBColor(40, 160, 90),
        RGBColor(214, 39, 40),
    ];
    for (generation, &colour) in COLOURS.iter().enumerate() {
        let points = pauses
            .iter()
            .filter(|p| p.generation == generation && !p.explicit)
            .map(point);
        chart
            .draw_series(points.map(|xy| Circle::new(xy, 3, colour.filled())))
            .map_err(|e| fail(&e))?
            .label(format!("generation {generation}, automatic"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
    }
    let finals = pauses.iter().filter(|p| p.explicit).map(point);
    chart
        .draw_series(finals.map(|xy| Cross::new(xy, 7, BLACK.stroke_width(2))))
        .map_err(|e| fail(&e))?
        .label("final gc::collect(), explicit")
        .legend(|(x, y)| Cross::new((x + 8, y), 5, BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

/// A pause as a point of the chart: time (ms) and duration (ms, at least
/// the floor of the log scale).
fn point(p: &Pause) -> (f64, f64) {
    (
        p.at.as_secs_f64() * 1e3,
        (p.duration.as_secs_f64() * 1e3).max(FLOOR_MS),
    )
}
