//! Helpers shared by the benches and `tests/fragmentation_rss.rs` (each
//! includes this module by path).

/// A random permutation of `0..n` (Fisher–Yates over xorshift64), the same
/// for the same `seed`.
pub(crate) fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    order
}
