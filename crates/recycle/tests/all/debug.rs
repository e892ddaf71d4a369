//! `gc::set_debug`: STATS, COLLECTABLE, UNCOLLECTABLE and SAVEALL, reported
//! through the `log` crate. Tests that follow CPython's test_gc.py name it.

use std::cell::RefCell;
use std::sync::Once;

use log::{Level, Log, Metadata, Record};
use recycle::gc::{self, DebugFlags};
use recycle::{Gc, Trace, Tracer};

use crate::common::{Node, Tally};

/// Captures this thread's log records (tests run on separate threads).
struct Capture;

thread_local! {
    static RECORDS: RefCell<Vec<(Level, String, String)>> = const { RefCell::new(Vec::new()) };
    /// Panic on the next record of this level (a logger is user code).
    static PANIC_ON: std::cell::Cell<Option<Level>> = const { std::cell::Cell::new(None) };
}

/// Makes this thread's next log record of `level` panic, once.
pub(crate) fn panic_on_next(level: Level) {
    PANIC_ON.with(|p| p.set(Some(level)));
}

/// A tracked object, as the logger makes them.
pub(crate) type Made = Gc<RefCell<Vec<Gc<u8>>>>;

thread_local! {
    /// Tracked objects this thread's logger made, when asked to.
    static MADE_BY_LOGGER: RefCell<Option<Vec<Made>>> = const { RefCell::new(None) };
}

/// Makes this thread's logger allocate a tracked object at every record
/// (`Some`), or stop and hand them over (`None`).
pub(crate) fn logger_allocates(on: bool) -> Vec<Made> {
    MADE_BY_LOGGER.with(|m| {
        let mut m = m.borrow_mut();
        let made = m.take().unwrap_or_default();
        if on {
            *m = Some(Vec::new());
        }
        made
    })
}

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let _ = MADE_BY_LOGGER.try_with(|m| {
            if let Ok(mut m) = m.try_borrow_mut()
                && let Some(made) = m.as_mut()
            {
                made.push(Gc::new(RefCell::new(Vec::new())));
            }
        });
        if PANIC_ON.try_with(|p| p.get()).ok().flatten() == Some(record.level()) {
            PANIC_ON.with(|p| p.set(None));
            panic!("the logger panics on: {}", record.args());
        }
        let entry = (
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        );
        let _ = RECORDS.try_with(|r| r.borrow_mut().push(entry));
    }
    fn flush(&self) {}
}

pub(crate) fn capture() -> impl Drop {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    RECORDS.with(|r| r.borrow_mut().clear());
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            gc::set_debug(DebugFlags::empty());
        }
    }
    Reset
}

fn records() -> Vec<(Level, String, String)> {
    RECORDS.with(|r| r.borrow().clone())
}

#[test]
fn flags_round_trip_and_leak_is_the_union() {
    let _reset = capture();
    assert_eq!(gc::get_debug(), DebugFlags::empty());
    gc::set_debug(DebugFlags::LEAK);
    assert_eq!(
        gc::get_debug(),
        DebugFlags::COLLECTABLE | DebugFlags::UNCOLLECTABLE | DebugFlags::SAVEALL
    );
}

#[test]
fn stats_reports_each_collection() {
    let _reset = capture();
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    drop(n);
    gc::set_debug(DebugFlags::STATS);
    assert_eq!(gc::collect(), 1);
    let lines: Vec<String> = records().into_iter().map(|r| r.2).collect();
    assert_eq!(lines[0], "collecting generation 2...");
    assert!(
        lines[1].starts_with("objects in each generation: ["),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("done, 1 unreachable, 0 uncollectable, "),
        "{lines:?}"
    );
    assert!(
        records()
            .iter()
            .all(|r| r.1 == "recycle::gc" && r.0 == Level::Info)
    );
}

#[test]
fn collectable_names_each_object_found() {
    let _reset = capture();
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    a.link(&b);
    b.link(&a);
    drop((a, b));
    gc::set_debug(DebugFlags::COLLECTABLE);
    assert_eq!(gc::collect(), 2);
    let lines: Vec<String> = records().into_iter().map(|r| r.2).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in lines {
        assert!(
            line.starts_with("collectable <") && line.contains("common::Node at 0x"),
            "{line}"
        );
    }
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn saveall_keeps_the_garbage_intact() {
    // test_gc.test_saveall
    let _reset = capture();
    let tally = Tally::new();
    let n = Node::new(42, &tally);
    n.link(&n);
    drop(n);
    gc::set_debug(DebugFlags::SAVEALL);
    assert_eq!(gc::collect(), 1, "found and counted, but not freed");
    assert_eq!(tally.dropped(), 0);
    let saved = gc::garbage();
    assert_eq!(saved.len(), 1);
    let node = saved[0].downcast::<Node>().unwrap();
    assert_eq!(node.id, 42);
    assert!(gc::is_tracked(&node));
    assert!(Gc::ptr_eq(&node.edges.borrow()[0], &node), "intact");
    drop((node, saved));
    assert_eq!(gc::collect(), 0, "gc::garbage() keeps it reachable");
    gc::set_debug(DebugFlags::empty());
    let taken = gc::take_garbage();
    assert_eq!(taken.len(), 1);
    assert!(gc::garbage().is_empty());
    drop(taken);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

/// Reports a handle it does not own (see misuse.rs): makes an object the
/// collector cannot free.
struct Thief {
    me: RefCell<Option<Gc<Thief>>>,
    loot: Gc<Node>,
}

impl Trace for Thief {
    // SAFETY: deliberately BROKEN (it reports `loot` twice), to exercise the
    // UNCOLLECTABLE report. No borrow of the loot is held across the
    // collection, so nothing reads the dropped value.
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        self.me.trace(tracer);
        self.loot.trace(tracer);
        self.loot.trace(tracer); // once too often
    }
}

#[test]
fn uncollectable_reports_what_could_not_be_freed() {
    let _reset = capture();
    let tally = Tally::new();
    let victim = Node::new(7, &tally);
    let thief = Gc::new(Thief {
        me: RefCell::new(None),
        loot: victim.clone(),
    });
    *thief.me.borrow_mut() = Some(thief.clone());
    drop(thief);
    gc::set_debug(DebugFlags::UNCOLLECTABLE);
    let before = gc::get_stats()[2].uncollectable;
    assert_eq!(gc::collect(), 2);
    assert_eq!(gc::get_stats()[2].uncollectable, before + 1);
    let warnings: Vec<_> = records()
        .into_iter()
        .filter(|r| r.0 == Level::Warn)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].2.starts_with("uncollectable <") && warnings[0].2.contains("Node"));
    assert!(Gc::try_deref(&victim).is_none());
    drop(victim);
    assert_eq!(tally.dropped(), 1);
}
