//! `WeakValueMap` beside a plain `HashMap<u32, rc::Weak<V>>`, in the same
//! run: inserting 10,000 entries, and an entry's removal when its value
//! dies (for the plain map: removing the key by hand and dropping the
//! value), with the values dying in the order they were made and in a
//! shuffled order.
//!
//! `cargo bench -p recycle --bench weak_maps`

#[path = "shared/mod.rs"]
mod shared;

use shared::shuffled;

use std::collections::HashMap;
use std::rc::{Rc, Weak};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use recycle::Gc;
use recycle::weakref::WeakValueMap;

const ENTRIES: u32 = 10_000;

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("weak_map_insert_10k");
    group.bench_function("HashMap<u32, rc::Weak>", |b| {
        let values: Vec<Rc<u64>> = (0..u64::from(ENTRIES)).map(Rc::new).collect();
        b.iter_batched(
            HashMap::new,
            |mut map: HashMap<u32, Weak<u64>>| {
                for (key, value) in (0..ENTRIES).zip(&values) {
                    map.insert(key, Rc::downgrade(value));
                }
                map
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("WeakValueMap", |b| {
        let values: Vec<Gc<u64>> = (0..u64::from(ENTRIES)).map(Gc::new).collect();
        b.iter_batched(
            WeakValueMap::new,
            |map: WeakValueMap<u32, u64>| {
                for (key, value) in (0..ENTRIES).zip(&values) {
                    map.insert(key, value);
                }
                map
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn death(c: &mut Criterion) {
    let mut group = c.benchmark_group("weak_map_death_10k");
    group.bench_function("HashMap<u32, rc::Weak> (removed by hand)", |b| {
        b.iter_batched(
            || {
                let values: Vec<Rc<u64>> = (0..u64::from(ENTRIES)).map(Rc::new).collect();
                let map: HashMap<u32, Weak<u64>> = (0..ENTRIES)
                    .zip(&values)
                    .map(|(k, v)| (k, Rc::downgrade(v)))
                    .collect();
                (map, values)
            },
            |(mut map, values)| {
                for (key, value) in (0..ENTRIES).zip(values) {
                    map.remove(&key);
                    drop(value);
                }
                map
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("WeakValueMap (removed by its callback)", |b| {
        b.iter_batched(
            || {
                let values: Vec<Gc<u64>> = (0..u64::from(ENTRIES)).map(Gc::new).collect();
                let map = WeakValueMap::new();
                for (key, value) in (0..ENTRIES).zip(&values) {
                    map.insert(key, value);
                }
                (map, values)
            },
            |(map, values)| {
                drop(values);
                assert!(map.is_empty());
                map
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn death_shuffled(c: &mut Criterion) {
    let order = shuffled(ENTRIES as usize, 0x9e37_79b9_7f4a_7c15);
    let mut group = c.benchmark_group("weak_map_death_shuffled_10k");
    group.bench_function("HashMap<u32, rc::Weak> (removed by hand)", |b| {
        b.iter_batched(
            || {
                let values: Vec<Option<Rc<u64>>> =
                    (0..u64::from(ENTRIES)).map(|v| Some(Rc::new(v))).collect();
                let map: HashMap<u32, Weak<u64>> = (0..ENTRIES)
                    .zip(&values)
                    .map(|(k, v)| (k, Rc::downgrade(v.as_ref().unwrap())))
                    .collect();
                (map, values)
            },
            |(mut map, mut values)| {
                for &i in &order {
                    map.remove(&(i as u32));
                    values[i] = None;
                }
                (map, values)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("WeakValueMap (removed by its callback)", |b| {
        b.iter_batched(
            || {
                let values: Vec<Option<Gc<u64>>> =
                    (0..u64::from(ENTRIES)).map(|v| Some(Gc::new(v))).collect();
                let map = WeakValueMap::new();
                for (key, value) in (0..ENTRIES).zip(&values) {
                    map.insert(key, value.as_ref().unwrap());
                }
                (map, values)
            },
            |(map, mut values)| {
                for &i in &order {
                    values[i] = None;
                }
                assert!(map.is_empty());
                (map, values)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, insert, death, death_shuffled);
criterion_main!(benches);
