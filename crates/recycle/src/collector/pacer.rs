//! Pacing: how much of its examining automatic collection does, learned
//! from what its last collections found.
//!
//! CPython decides when to collect from allocation counts alone (its
//! thresholds, and a full collection when generation 2 has grown by 25%
//! since the last one). On a heap that only grows, that examines every
//! object about five times: twice while young, and three more times on
//! average in the full collections, each 25% larger than the one before.
//! That doubles the cost of building a large structure, in CPython as
//! here, and none of those collections finds anything.
//!
//! A pacer in the manner of the JVM's adaptive size policy or Go's GC
//! pacer trades memory for time according to what collecting has yielded:
//!
//! - **Young generations.** An automatic young collection that examined
//!   candidates and found no garbage makes the next ones skip their
//!   examination, 1, 3, 7, ... up to [`MAX_YOUNG_SKIPS`] in a row; the
//!   skipped collections promote their objects unexamined (with their
//!   generations still marked, so nothing is forgotten: the candidates move
//!   on to the older generation, whose collections see them). One that
//!   finds garbage resets the skipping.
//! - **Generation 2.** An incremental cycle starts once generation 2 has
//!   grown by a factor since the last one ended: 25% (CPython's rule) after
//!   a cycle that found garbage, and four times more after each cycle that
//!   found none, up to [`MAX_OLD_GROWTH_SHIFT`]. The growth allowed is
//!   also capped, at [`MAX_OLD_SLACK`] objects or [`MAX_OLD_SLACK_RATIO`]
//!   times the generation's size, whichever is more, so that garbage made
//!   after a long fruitless build waits a bounded time (bounded in
//!   proportion to the heap on a large heap, as Go's pacer bounds it).
//!
//! - **The rate of a cycle.** A cycle's steps run with the automatic young
//!   collections. After a cycle that found garbage they go as fast as
//!   `incremental` allows (a cycle takes about sixteen young collections,
//!   whatever the heap's size). Otherwise (on a fresh heap too, which has no
//!   history yet) every [`ALLOCATIONS_PER_SLOW_UNIT`] allocations earn the
//!   cycle one unit of work, a member traced or an edge followed, and its
//!   steps spend no more than that, as Go's pacer bounds the collector's
//!   share of the program's time: a program that builds a large structure
//!   pays at most that much per object it makes for cycles that find
//!   nothing, whatever the structure's size and wherever its build ends
//!   relative to the last cycle. The price is promptness: a slow cycle over
//!   `n` members with `e` edges takes about `8 (n + e)` allocations, so
//!   garbage that reached generation 2 waits that long, once; when it is
//!   found, the next cycle is fast again.
//!
//! A program that makes cyclic garbage keeps finding some, and is collected
//! as promptly as with CPython's rules; one that only builds pays for a few
//! small collections. `gc::collect()` and `gc::collect_generation` are not
//! paced, and do not change the pacing.

use core::cell::Cell;

/// At most this many automatic young collections in a row skip examining.
const MAX_YOUNG_SKIPS: u32 = 63;
/// Generation 2 may grow by `2^shift / 4` of its size before a cycle: from
/// 25% (shift 0) up to 64 times (shift 8).
const MAX_OLD_GROWTH_SHIFT: u32 = 8;
/// Each fruitless cycle multiplies the growth allowed by `2^this`.
const OLD_GROWTH_STEP: u32 = 4;
/// The growth allowed beyond 25% is at most this many objects, or
/// [`MAX_OLD_SLACK_RATIO`] times the generation's size if that is more.
const MAX_OLD_SLACK: usize = 1 << 20;
/// On a large generation 2, the growth allowed beyond 25% is at most this
/// multiple of its size. (A bound in objects alone would make every cycle
/// of a large heap that keeps growing examine the whole of it for each
/// `MAX_OLD_SLACK` objects added: work quadratic in the heap's size.)
const MAX_OLD_SLACK_RATIO: usize = 4;

/// A slow cycle earns one unit of work per this many allocations. A unit
/// is a member traced or an edge followed from one (each member is traced
/// twice: once to scan it, once to mark it), about 10 ns each where members
/// are spread over memory; making an object of a large structure costs
/// about 50 ns.
const ALLOCATIONS_PER_SLOW_UNIT: isize = 4;
/// A slow cycle steps once it has earned this many units, or enough for
/// what is left of its phase (a step has a fixed cost: callbacks,
/// statistics, the clock; and the first objects of a step come from a cold
/// cache: 512 cost the breadth-first DOM build about 4% more).
const MIN_SLOW_STEP: isize = 2048;

/// The pacing state of one heap.
pub(crate) struct Pacer {
    /// Pacing is on (`gc::set_adaptive_pacing`).
    adaptive: Cell<bool>,
    /// Automatic young collections to skip, from now.
    young_skips_left: Cell<u32>,
    /// How many the next fruitless young collection makes skip.
    young_skips_next: Cell<u32>,
    /// Generation 2 may grow by `2^shift / 4` before the next cycle.
    old_growth_shift: Cell<u32>,
    /// The last cycle found garbage: the running one steps at full speed.
    old_cycles_fruitful: Cell<bool>,
    /// Allocations a slow cycle has earned its units of work with and not
    /// spent (negative: a step cost more than had been earned).
    old_credit: Cell<isize>,
}

impl Pacer {
    pub(crate) const fn new() -> Self {
        Pacer {
            adaptive: Cell::new(true),
            young_skips_left: Cell::new(0),
            young_skips_next: Cell::new(1),
            old_growth_shift: Cell::new(0),
            old_cycles_fruitful: Cell::new(false),
            old_credit: Cell::new(0),
        }
    }

    /// Turns pacing on or off; either way, from CPython's schedule.
    pub(crate) fn set_adaptive(&self, on: bool) {
        self.adaptive.set(on);
        self.young_skips_left.set(0);
        self.young_skips_next.set(1);
        self.old_growth_shift.set(0);
        self.old_cycles_fruitful.set(false);
        self.old_credit.set(0);
    }

    pub(crate) fn is_adaptive(&self) -> bool {
        self.adaptive.get()
    }

    /// Should this automatic young collection skip examining? (Counts it.)
    pub(crate) fn skip_young_examination(&self) -> bool {
        let left = self.young_skips_left.get();
        if left == 0 || !self.adaptive.get() {
            return false;
        }
        self.young_skips_left.set(left - 1);
        true
    }

    /// An automatic young collection examined its candidates and found
    /// `unreachable` objects.
    pub(crate) fn note_young_yield(&self, unreachable: usize) {
        if unreachable > 0 || !self.adaptive.get() {
            self.young_skips_left.set(0);
            self.young_skips_next.set(1);
        } else {
            let skips = self.young_skips_next.get();
            self.young_skips_left.set(skips);
            self.young_skips_next
                .set((skips * 2 + 1).min(MAX_YOUNG_SKIPS));
        }
    }

    /// Has generation 2 grown enough for the next cycle, at `pending`
    /// objects promoted into it since the last one ended with `total`?
    pub(crate) fn old_generation_grown(&self, pending: usize, total: usize) -> bool {
        let quarter = total / 4;
        if !self.adaptive.get() {
            return pending >= quarter;
        }
        let shift = self.old_growth_shift.get();
        let allowed = quarter << shift;
        let slack = MAX_OLD_SLACK.max(total.saturating_mul(MAX_OLD_SLACK_RATIO));
        let allowed = allowed.min(quarter.saturating_add(slack));
        pending >= allowed
    }

    /// How many members the next step of the running cycle may handle, at
    /// most `budget` (its full-speed budget), `allocations` objects after
    /// the last automatic collection, with about `left` members left in
    /// its phase. Zero: no step now. What a slow step cost is then
    /// [charged](Self::charge_old_step).
    pub(crate) fn old_step_budget(&self, allocations: usize, budget: usize, left: usize) -> usize {
        if !self.is_slow() {
            return budget;
        }
        // The credit is kept in allocations, so that a small threshold (a
        // few allocations between collections) earns its fractions too.
        let earned = isize::try_from(allocations).unwrap_or(isize::MAX);
        let credit = self.old_credit.get().saturating_add(earned);
        self.old_credit.set(credit);
        let units = credit / ALLOCATIONS_PER_SLOW_UNIT;
        let budget = isize::try_from(budget).unwrap_or(isize::MAX);
        // A small cycle need not wait for a step's worth of credit.
        let left = isize::try_from(left.max(1)).unwrap_or(isize::MAX);
        if units < MIN_SLOW_STEP.min(budget).min(left) {
            return 0;
        }
        // A member costs at least one unit: the step stops within its
        // credit in members, and its edges run the credit into debt.
        units.min(budget) as usize
    }

    /// A paced step did `units` of work (members traced and edges
    /// followed): a slow cycle pays for them.
    pub(crate) fn charge_old_step(&self, units: usize) {
        if self.is_slow() {
            let cost = isize::try_from(units)
                .unwrap_or(isize::MAX)
                .saturating_mul(ALLOCATIONS_PER_SLOW_UNIT);
            self.old_credit
                .set(self.old_credit.get().saturating_sub(cost));
        }
    }

    /// Does the running cycle go at the slow rate?
    fn is_slow(&self) -> bool {
        self.adaptive.get() && !self.old_cycles_fruitful.get()
    }

    /// An automatic cycle of generation 2 ended, having found
    /// `unreachable` objects.
    pub(crate) fn note_old_yield(&self, unreachable: usize) {
        self.old_cycles_fruitful
            .set(unreachable > 0 || !self.adaptive.get());
        // Unspent credit is not carried to the next cycle; a debt is.
        self.old_credit.set(self.old_credit.get().min(0));
        let shift = if unreachable > 0 || !self.adaptive.get() {
            0
        } else {
            (self.old_growth_shift.get() + OLD_GROWTH_STEP).min(MAX_OLD_GROWTH_SHIFT)
        };
        self.old_growth_shift.set(shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pacer after enough fruitless cycles for the largest growth.
    fn after_fruitless_cycles() -> Pacer {
        let pacer = Pacer::new();
        for _ in 0..MAX_OLD_GROWTH_SHIFT.div_ceil(OLD_GROWTH_STEP) {
            pacer.note_old_yield(0);
        }
        pacer
    }

    #[test]
    fn the_growth_allowed_is_capped_in_objects_on_a_small_generation() {
        let pacer = after_fruitless_cycles();
        let total = 100_000;
        assert!(!pacer.old_generation_grown(MAX_OLD_SLACK, total));
        assert!(pacer.old_generation_grown(total / 4 + MAX_OLD_SLACK, total));
    }

    #[test]
    fn the_growth_allowed_is_proportional_on_a_large_generation() {
        let pacer = after_fruitless_cycles();
        let total = 64 * MAX_OLD_SLACK;
        assert!(!pacer.old_generation_grown(MAX_OLD_SLACK_RATIO * total, total));
        assert!(pacer.old_generation_grown(total / 4 + MAX_OLD_SLACK_RATIO * total, total));
    }

    #[test]
    fn a_slow_cycle_steps_within_what_allocations_earned() {
        let pacer = Pacer::new();
        let per = ALLOCATIONS_PER_SLOW_UNIT as usize;
        let min = MIN_SLOW_STEP as usize;
        // Not enough for a step yet, then enough: the step may handle what
        // was earned in all, no more.
        assert_eq!(pacer.old_step_budget(per * (min - 1), 4096, 100_000), 0);
        assert_eq!(pacer.old_step_budget(per, 4096, 100_000), min);
        // It handled `min` members and followed `3 * min` edges: the debt
        // is paid before the next step.
        pacer.charge_old_step(4 * min);
        assert_eq!(pacer.old_step_budget(per * 3 * min, 4096, 100_000), 0);
        assert_eq!(pacer.old_step_budget(per * min, 4096, 100_000), min);
        // A phase with little left steps as soon as that little is earned.
        pacer.charge_old_step(min);
        assert_eq!(pacer.old_step_budget(per * 3, 4096, 2), 3);
    }

    #[test]
    fn collections_a_few_allocations_apart_earn_their_fractions() {
        let pacer = Pacer::new();
        for _ in 1..ALLOCATIONS_PER_SLOW_UNIT {
            assert_eq!(pacer.old_step_budget(1, 4096, 1), 0);
        }
        assert_eq!(pacer.old_step_budget(1, 4096, 1), 1);
    }

    #[test]
    fn a_cycle_after_a_fruitful_one_and_unpaced_cycles_go_at_full_speed() {
        let pacer = Pacer::new();
        pacer.note_old_yield(1);
        assert_eq!(pacer.old_step_budget(0, 4096, 100_000), 4096);
        pacer.note_old_yield(0);
        assert_eq!(pacer.old_step_budget(0, 4096, 100_000), 0);
        pacer.set_adaptive(false);
        assert_eq!(pacer.old_step_budget(0, 4096, 100_000), 4096);
    }

    #[test]
    fn garbage_found_brings_back_cpython_s_rule() {
        let pacer = after_fruitless_cycles();
        pacer.note_old_yield(1);
        assert!(pacer.old_generation_grown(250, 1000));
        assert!(!pacer.old_generation_grown(249, 1000));
    }
}
