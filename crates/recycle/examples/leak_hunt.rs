//! Hunting a leak the way one does in Python: `tracemalloc` says which line
//! keeps allocating memory that stays, SAVEALL keeps what the collector
//! finds so that you can look at it, and `gc::snapshot` shows who holds
//! what.
//!
//! The program is a session cache with a bug: every session holds a handle
//! to its user, and the user keeps a list of its sessions, so closed
//! sessions form cycles that counting alone never frees.
//!
//! `cargo run -p recycle --example leak_hunt`

use std::cell::RefCell;

use recycle::gc::{self, DebugFlags};
use recycle::tracemalloc::{self, KeyType};
use recycle::{Gc, Trace};

#[derive(Trace)]
struct User {
    name: String,
    sessions: RefCell<Vec<Gc<Session>>>,
}

#[derive(Trace)]
struct Session {
    id: u32,
    user: Gc<User>,
    #[trace(skip)]
    payload: [u8; 200],
}

/// Opens a session for a new user and "closes" it: drops the handles the
/// caller has. The user and the session still hold each other.
fn serve_one_request(id: u32) {
    let user = Gc::new(User {
        name: format!("user{id}"),
        sessions: RefCell::new(Vec::new()),
    });
    let session = Gc::new(Session {
        id,
        user: user.clone(),
        payload: [0; 200],
    });
    user.sessions.borrow_mut().push(session.clone());
    assert_eq!(session.user.name, format!("user{id}"));
    assert_eq!(session.payload.len(), 200);
}

fn main() {
    // Automatic collection off: we want to see the leak grow first.
    gc::disable();
    tracemalloc::start();
    let before = tracemalloc::take_snapshot();
    for id in 0..1_000 {
        serve_one_request(id);
    }
    let after = tracemalloc::take_snapshot();

    println!("Memory that stayed after 1,000 requests, by line:");
    for diff in after.compare_to(&before, KeyType::Line).iter().take(3) {
        println!("  {diff}");
    }
    let (current, peak) = tracemalloc::get_traced_memory();
    println!("traced now: {current} bytes (peak {peak})\n");

    // What is keeping it? Let the collector find the garbage, but keep it
    // (SAVEALL) so that we can look at it before it goes.
    gc::set_debug(DebugFlags::SAVEALL);
    let found = gc::collect();
    gc::set_debug(DebugFlags::empty());
    println!("gc::collect() found {found} unreachable objects; a sample:");
    let snapshot = gc::snapshot_with(|o| {
        if let Some(s) = o.downcast::<Session>() {
            Some(format!("Session {}", s.id))
        } else {
            o.downcast::<User>().map(|u| format!("User {}", u.name))
        }
    });
    let garbage: Vec<_> = snapshot.objects.iter().filter(|o| o.garbage).collect();
    for cycle in snapshot.cycles.iter().take(2) {
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| snapshot.objects[i].caption().0)
            .collect();
        println!("  cycle: {}", names.join(" <-> "));
    }
    println!(
        "{} garbage objects in {} cycles: each user and its session hold each other.",
        garbage.len(),
        snapshot.cycles.len()
    );
    assert_eq!(garbage.len(), 2_000);
    assert_eq!(snapshot.cycles.len(), 1_000);

    // The fix would be a `Weak<User>` in `Session`; here, let them go.
    drop(gc::take_garbage());
    assert_eq!(gc::collect(), 2_000);
    println!(
        "\nafter freeing them: {} bytes traced",
        tracemalloc::get_traced_memory().0
    );
    assert_eq!(tracemalloc::get_traced_memory().0, 0);
    tracemalloc::stop();
    gc::enable();
}
