//! Test helpers: values that count their drops, and a graph node.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::{Gc, Trace, Tracer};

/// Picks the normal size, or the small one under Miri.
pub(crate) fn size(normal: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { normal }
}

/// Counts drops of the `Token`s made from it.
#[derive(Clone, Default)]
pub(crate) struct Tally(Rc<Cell<usize>>);

impl Tally {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn token(&self) -> Token {
        Token(self.clone())
    }

    pub(crate) fn dropped(&self) -> usize {
        self.0.get()
    }
}

/// Adds one to its tally when dropped.
pub(crate) struct Token(Tally);

impl Drop for Token {
    fn drop(&mut self) {
        let c = &(self.0).0;
        c.set(c.get() + 1);
    }
}

impl Trace for Token {
    const MAY_CONTAIN_GC: bool = false;
    fn trace(&self, _: &mut Tracer) {}
}

/// A graph node with any number of outgoing edges.
#[derive(Trace)]
pub(crate) struct Node {
    pub(crate) id: usize,
    pub(crate) edges: RefCell<Vec<Gc<Node>>>,
    #[trace(skip)]
    pub(crate) token: Token,
}

impl Node {
    pub(crate) fn new(id: usize, tally: &Tally) -> Gc<Node> {
        Gc::new(Node {
            id,
            edges: RefCell::new(Vec::new()),
            token: tally.token(),
        })
    }

    pub(crate) fn link(&self, to: &Gc<Node>) {
        self.edges.borrow_mut().push(to.clone());
    }
}

/// Runs `f` on a new thread with an 8 MiB stack (the main thread's size on
/// Linux) and waits for it, so that deep recursion would show as a crash.
pub(crate) fn on_8mib_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawn test thread")
        .join()
        .expect("test thread panicked")
}

/// A tiny deterministic generator (xorshift64*), for reproducible graphs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}
