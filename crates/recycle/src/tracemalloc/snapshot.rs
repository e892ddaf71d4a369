//! Snapshots of the traced allocations, grouped and compared.

use core::cmp::Reverse;
use core::fmt;
use core::panic::Location;
use std::collections::HashMap;

/// One traced allocation (Python's `tracemalloc.Trace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Bytes of the allocation: object header plus value.
    pub size: usize,
    /// The `Gc::new` call that made it.
    pub location: &'static Location<'static>,
    /// `core::any::type_name` of the value.
    pub type_name: &'static str,
}

/// How [`Snapshot::statistics`] groups allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// By source file (Python's `'filename'`).
    File,
    /// By source file and line (Python's `'lineno'`).
    Line,
    /// By the allocated type.
    TypeName,
}

/// What a [`Statistic`] is about: a file, a line, or a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    /// Allocations made in this file.
    File(&'static str),
    /// Allocations made at this file and line.
    Line(&'static str, u32),
    /// Allocations of this type.
    TypeName(&'static str),
}

impl GroupKey {
    fn of(key_type: KeyType, a: &Allocation) -> GroupKey {
        match key_type {
            KeyType::File => GroupKey::File(a.location.file()),
            KeyType::Line => GroupKey::Line(a.location.file(), a.location.line()),
            KeyType::TypeName => GroupKey::TypeName(a.type_name),
        }
    }

    /// The source file, unless grouped by type.
    pub fn file(&self) -> Option<&'static str> {
        match *self {
            GroupKey::File(file) | GroupKey::Line(file, _) => Some(file),
            GroupKey::TypeName(_) => None,
        }
    }

    /// The line, when grouped by line.
    pub fn line(&self) -> Option<u32> {
        match *self {
            GroupKey::Line(_, line) => Some(line),
            _ => None,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::File(file) => f.write_str(file),
            GroupKey::Line(file, line) => write!(f, "{file}:{line}"),
            GroupKey::TypeName(name) => f.write_str(name),
        }
    }
}

/// The allocations of one group (Python's `tracemalloc.Statistic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statistic {
    /// The group.
    pub key: GroupKey,
    /// Bytes allocated by the group.
    pub size: usize,
    /// Allocations in the group.
    pub count: usize,
}

impl fmt::Display for Statistic {
    /// As Python prints one: `src/main.rs:12: size=1536 B, count=3, average=512 B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: size={}, count={}",
            self.key,
            Size(self.size as i128, false),
            self.count
        )?;
        if let Some(average) = self.size.checked_div(self.count) {
            write!(f, ", average={}", Size(average as i128, false))?;
        }
        Ok(())
    }
}

/// How one group changed between two snapshots (Python's
/// `tracemalloc.StatisticDiff`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatisticDiff {
    /// The group.
    pub key: GroupKey,
    /// Bytes in the newer snapshot.
    pub size: usize,
    /// Bytes gained (negative: lost) since the older one.
    pub size_diff: isize,
    /// Allocations in the newer snapshot.
    pub count: usize,
    /// Allocations gained (negative: lost) since the older one.
    pub count_diff: isize,
}

impl fmt::Display for StatisticDiff {
    /// `src/main.rs:12: size=15.0 KiB (+15.0 KiB), count=30 (+30), average=512 B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: size={} ({}), count={} ({:+})",
            self.key,
            Size(self.size as i128, false),
            Size(self.size_diff as i128, true),
            self.count,
            self.count_diff
        )?;
        if let Some(average) = self.size.checked_div(self.count) {
            write!(f, ", average={}", Size(average as i128, false))?;
        }
        Ok(())
    }
}

/// A byte count in the largest unit that keeps it short: `9000 B`,
/// `15.0 KiB`, `230 KiB`, `12.0 MiB`; with a sign if `.1`.
struct Size(i128, bool);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Size(bytes, signed) = *self;
        let mut value = bytes as f64;
        let mut unit = 0;
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        // Below 10 KiB in bytes, then the first unit that holds the value in
        // under four digits; tenths when it is under 100.
        while value.abs() >= 10.0 * 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        let decimals = if unit > 0 && value.abs() < 100.0 {
            1
        } else {
            0
        };
        if signed {
            write!(f, "{value:+.decimals$} {}", UNITS[unit])
        } else {
            write!(f, "{value:.decimals$} {}", UNITS[unit])
        }
    }
}

/// The traced allocations at one moment (Python's `tracemalloc.Snapshot`).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    traces: Vec<Allocation>,
}

impl Snapshot {
    pub(super) fn new(traces: Vec<Allocation>) -> Self {
        Snapshot { traces }
    }

    /// Every allocation in the snapshot, in no particular order.
    pub fn traces(&self) -> &[Allocation] {
        &self.traces
    }

    /// A snapshot of the allocations for which `keep` returns `true`
    /// (Python's `Snapshot.filter_traces`).
    pub fn filter(&self, mut keep: impl FnMut(&Allocation) -> bool) -> Snapshot {
        Snapshot::new(self.traces.iter().copied().filter(|a| keep(a)).collect())
    }

    fn groups(&self, key_type: KeyType) -> HashMap<GroupKey, (usize, usize)> {
        let mut groups: HashMap<GroupKey, (usize, usize)> = HashMap::new();
        for a in &self.traces {
            let entry = groups.entry(GroupKey::of(key_type, a)).or_default();
            entry.0 += a.size;
            entry.1 += 1;
        }
        groups
    }

    /// The allocations grouped by `key_type`, biggest first (by size, then
    /// count).
    ///
    /// ```
    /// use recycle::{Gc, tracemalloc};
    /// use recycle::tracemalloc::{GroupKey, KeyType};
    ///
    /// tracemalloc::start();
    /// let small: Vec<_> = (0..10).map(|i| Gc::new(i as u8)).collect();
    /// let big: Vec<_> = (0..10).map(|_| Gc::new([0u64; 8])).collect();
    /// let top = tracemalloc::take_snapshot().statistics(KeyType::TypeName);
    /// assert_eq!(top[0].key, GroupKey::TypeName("[u64; 8]"));
    /// assert_eq!(top[1].key, GroupKey::TypeName("u8"));
    /// assert_eq!((top[0].count, top[1].count), (10, 10));
    /// tracemalloc::stop();
    /// ```
    pub fn statistics(&self, key_type: KeyType) -> Vec<Statistic> {
        let mut stats: Vec<Statistic> = self
            .groups(key_type)
            .into_iter()
            .map(|(key, (size, count))| Statistic { key, size, count })
            .collect();
        stats.sort_by_key(|s| (Reverse(s.size), Reverse(s.count), s.key));
        stats
    }

    /// How each group changed since `old`, the biggest change first (by the
    /// size of the change, then size, then the count's change). Groups only
    /// in `old` appear with size 0.
    pub fn compare_to(&self, old: &Snapshot, key_type: KeyType) -> Vec<StatisticDiff> {
        let new_groups = self.groups(key_type);
        let mut old_groups = old.groups(key_type);
        let mut diffs = Vec::with_capacity(new_groups.len() + old_groups.len());
        for (key, (size, count)) in new_groups {
            let (old_size, old_count) = old_groups.remove(&key).unwrap_or((0, 0));
            diffs.push(StatisticDiff {
                key,
                size,
                size_diff: size as isize - old_size as isize,
                count,
                count_diff: count as isize - old_count as isize,
            });
        }
        for (key, (old_size, old_count)) in old_groups {
            diffs.push(StatisticDiff {
                key,
                size: 0,
                size_diff: -(old_size as isize),
                count: 0,
                count_diff: -(old_count as isize),
            });
        }
        diffs.sort_by_key(|d| {
            (
                Reverse(d.size_diff.unsigned_abs()),
                Reverse(d.size),
                Reverse(d.count_diff.unsigned_abs()),
                Reverse(d.count),
                d.key,
            )
        });
        diffs
    }
}

#[cfg(test)]
mod tests {
    use super::Size;

    #[test]
    fn sizes_read_like_pythons() {
        let show = |b: i128, s: bool| Size(b, s).to_string();
        assert_eq!(show(512, false), "512 B");
        assert_eq!(show(10_000, false), "10000 B");
        assert_eq!(show(1536 * 10, false), "15.0 KiB");
        assert_eq!(show(230 * 1024, false), "230 KiB");
        assert_eq!(show(12 * 1024 * 1024, false), "12.0 MiB");
        assert_eq!(show(-2048 * 10, true), "-20.0 KiB");
        assert_eq!(show(48, true), "+48 B");
    }
}
