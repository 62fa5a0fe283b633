//! Operation counters kept without a lock on the hot path: each thread adds to its own
//! cache-line-padded shard; a reader sums the shards.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What is counted, per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    Ops = 0,
    ReadBytes = 1,
    WriteBytes = 2,
    Errors = 3,
}
const COUNTERS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Place {
    Vram = 0,
    Vdisk = 1,
}
const PLACES: usize = 2;
const SHARDS: usize = 16;

#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard([[AtomicU64; COUNTERS]; PLACES]);

#[derive(Debug)]
pub struct Counters {
    shards: Box<[Shard]>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Totals of one tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub ops: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub errors: u64,
}

impl Counters {
    pub fn add(&self, place: Place, what: Counter, n: u64) {
        self.shards[my_shard()].0[place as usize][what as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn totals(&self, place: Place) -> Totals {
        let sum = |what: Counter| {
            self.shards
                .iter()
                .map(|s| s.0[place as usize][what as usize].load(Ordering::Relaxed))
                .sum()
        };
        Totals {
            ops: sum(Counter::Ops),
            read_bytes: sum(Counter::ReadBytes),
            write_bytes: sum(Counter::WriteBytes),
            errors: sum(Counter::Errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_every_thread() {
        let c = std::sync::Arc::new(Counters::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.add(Place::Vram, Counter::Ops, 1);
                        c.add(Place::Vdisk, Counter::WriteBytes, 3);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.totals(Place::Vram).ops, 8000);
        assert_eq!(c.totals(Place::Vdisk).write_bytes, 24000);
        assert_eq!(c.totals(Place::Vdisk).ops, 0);
    }
}
