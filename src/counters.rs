//! Operation counters kept without a lock on the hot path: threads add with relaxed atomics
//! to one of 16 cache-line-padded shards (picked once per thread, in turn), so two threads
//! rarely share a line; a reader sums the shards. Per tier and
//! kind of operation: count, errors, bytes and a latency histogram; per tier: errors by errno.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

pub use crate::node::{Place, PLACES};

macro_rules! op_kinds {
    ($($v:ident => $n:literal,)*) => {
        /// The kinds of operation counted: the FUSE requests a tier serves, and the bytes a
        /// push or pull moves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum OpKind { $($v,)* }
        pub const OP_KINDS: &[OpKind] = &[$(OpKind::$v,)*];
        impl OpKind {
            pub fn name(self) -> &'static str {
                match self { $(OpKind::$v => $n,)* }
            }
        }
    };
}

op_kinds! {
    Lookup => "lookup",
    Getattr => "getattr",
    Setattr => "setattr",
    Readlink => "readlink",
    Mknod => "mknod",
    Mkdir => "mkdir",
    Unlink => "unlink",
    Rmdir => "rmdir",
    Symlink => "symlink",
    Rename => "rename",
    Link => "link",
    Open => "open",
    Read => "read",
    Write => "write",
    Flush => "flush",
    Release => "release",
    Fsync => "fsync",
    Opendir => "opendir",
    Readdir => "readdir",
    Readdirplus => "readdirplus",
    Releasedir => "releasedir",
    Statfs => "statfs",
    Setxattr => "setxattr",
    Getxattr => "getxattr",
    Listxattr => "listxattr",
    Removexattr => "removexattr",
    Create => "create",
    Fallocate => "fallocate",
    Forget => "forget",
    // Not FUSE requests: the bytes a push or pull reads from and writes to a tier.
    JobRead => "job_read",
    JobWrite => "job_write",
}
const KINDS: usize = OP_KINDS.len();

/// Latency buckets: the upper bounds are 1 µs, 2 µs, 4 µs, ... 2^23 µs (about 8 s), and
/// one more for anything slower.
pub const BUCKETS: usize = 25;

/// The upper bound of bucket `i` in seconds (infinite for the last).
pub fn bucket_bound(i: usize) -> f64 {
    if i + 1 >= BUCKETS {
        f64::INFINITY
    } else {
        (1u64 << i) as f64 / 1e6
    }
}

fn bucket_of(d: Duration) -> usize {
    // Rounded up, so that a bucket's bound is never below what it holds.
    let us = (d.as_nanos() as u64).div_ceil(1000);
    if us <= 1 {
        return 0;
    }
    // The smallest i with 2^i >= us.
    ((64 - (us - 1).leading_zeros()) as usize).min(BUCKETS - 1)
}

/// Errno values counted one by one (Linux has fewer); slot `ERRNOS` counts any other.
const ERRNOS: usize = 134;

#[derive(Debug, Default)]
struct Cell {
    ops: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
    nanos: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    cells: [[Cell; KINDS]; 2],
    errnos: [[AtomicU64; ERRNOS + 1]; 2],
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            cells: std::array::from_fn(|_| std::array::from_fn(|_| Cell::default())),
            errnos: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

const SHARDS: usize = 16;

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

/// One kind of operation on one tier, summed over the shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindTotals {
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub nanos: u64,
    pub buckets: [u64; BUCKETS],
}

impl KindTotals {
    /// The upper bound (seconds) of the bucket holding quantile `q` of the latencies; for
    /// the open-ended last bucket, its lower bound (the figure is then "at least").
    pub fn quantile(&self, q: f64) -> f64 {
        let n: u64 = self.buckets.iter().sum();
        if n == 0 {
            return 0.0;
        }
        let rank = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_bound(i.min(BUCKETS - 2));
            }
        }
        bucket_bound(BUCKETS - 2)
    }
}

/// Everything counted on one tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub kinds: [KindTotals; KINDS],
    /// errno -> failed operations.
    pub errnos: Vec<(i32, u64)>,
}

impl Totals {
    pub fn ops(&self) -> u64 {
        self.kinds.iter().map(|k| k.ops).sum()
    }

    pub fn errors(&self) -> u64 {
        self.kinds.iter().map(|k| k.errors).sum()
    }

    pub fn kind(&self, k: OpKind) -> &KindTotals {
        &self.kinds[k as usize]
    }
}

impl Counters {
    /// One operation done: its latency, and its errno if it failed.
    pub fn op(&self, place: Place, kind: OpKind, took: Duration, errno: Option<i32>) {
        let shard = &self.shards[my_shard()];
        let c = &shard.cells[place as usize][kind as usize];
        c.ops.fetch_add(1, Ordering::Relaxed);
        c.nanos.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        c.buckets[bucket_of(took)].fetch_add(1, Ordering::Relaxed);
        if let Some(e) = errno {
            c.errors.fetch_add(1, Ordering::Relaxed);
            let slot = usize::try_from(e).map_or(ERRNOS, |e| e.min(ERRNOS));
            shard.errnos[place as usize][slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Bytes moved by a read or write.
    pub fn bytes(&self, place: Place, kind: OpKind, n: u64) {
        self.shards[my_shard()].cells[place as usize][kind as usize]
            .bytes
            .fetch_add(n, Ordering::Relaxed);
    }

    pub fn totals(&self, place: Place) -> Totals {
        let p = place as usize;
        let kinds = std::array::from_fn(|k| {
            let mut t = KindTotals::default();
            for s in self.shards.iter() {
                let c = &s.cells[p][k];
                t.ops += c.ops.load(Ordering::Relaxed);
                t.errors += c.errors.load(Ordering::Relaxed);
                t.bytes += c.bytes.load(Ordering::Relaxed);
                t.nanos += c.nanos.load(Ordering::Relaxed);
                for (b, v) in t.buckets.iter_mut().zip(&c.buckets) {
                    *b += v.load(Ordering::Relaxed);
                }
            }
            t
        });
        let errnos = (0..=ERRNOS)
            .filter_map(|e| {
                let n: u64 = self
                    .shards
                    .iter()
                    .map(|s| s.errnos[p][e].load(Ordering::Relaxed))
                    .sum();
                (n > 0).then_some((e as i32, n))
            })
            .collect();
        Totals { kinds, errnos }
    }
}

/// The symbolic name of an errno (`ENOENT`), or `E<n>` for one without a common name.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::ENOTTY => "ENOTTY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ESTALE => "ESTALE",
        libc::EDQUOT => "EDQUOT",
        libc::ECANCELED => "ECANCELED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ if e >= ERRNOS as i32 || e < 0 => "other",
        _ => return format!("E{e}"),
    };
    name.to_owned()
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
                        c.op(Place::Vram, OpKind::Lookup, Duration::from_micros(3), None);
                        c.op(
                            Place::Vdisk,
                            OpKind::Write,
                            Duration::from_micros(100),
                            Some(libc::ENOSPC),
                        );
                        c.bytes(Place::Vdisk, OpKind::Write, 3);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let vram = c.totals(Place::Vram);
        assert_eq!(vram.ops(), 8000);
        assert_eq!(vram.errors(), 0);
        assert_eq!(vram.kind(OpKind::Lookup).ops, 8000);
        assert_eq!(vram.kind(OpKind::Read).ops, 0);
        // 3 µs falls in the bucket bounded by 4 µs.
        assert_eq!(vram.kind(OpKind::Lookup).buckets[2], 8000);
        assert_eq!(vram.kind(OpKind::Lookup).quantile(0.99), 4e-6);
        let vdisk = c.totals(Place::Vdisk);
        assert_eq!(vdisk.kind(OpKind::Write).bytes, 24000);
        assert_eq!(vdisk.kind(OpKind::Write).errors, 8000);
        assert_eq!(vdisk.errnos, vec![(libc::ENOSPC, 8000)]);
        assert_eq!(vdisk.kind(OpKind::Write).nanos, 8000 * 100_000);
    }

    #[test]
    fn buckets_are_powers_of_two_microseconds() {
        assert_eq!(bucket_of(Duration::from_nanos(10)), 0);
        assert_eq!(bucket_of(Duration::from_micros(1)), 0);
        assert_eq!(bucket_of(Duration::from_micros(2)), 1);
        assert_eq!(bucket_of(Duration::from_micros(3)), 2);
        assert_eq!(bucket_of(Duration::from_micros(1024)), 10);
        assert_eq!(bucket_of(Duration::from_micros(1025)), 11);
        assert_eq!(bucket_of(Duration::from_secs(3600)), BUCKETS - 1);
        assert_eq!(bucket_bound(10), 1024e-6);
        assert!(bucket_bound(BUCKETS - 1).is_infinite());
    }

    #[test]
    fn a_very_slow_operation_has_a_finite_quantile() {
        let c = Counters::default();
        c.op(
            Place::Vram,
            OpKind::Fsync,
            Duration::from_secs(30),
            Some(9999),
        );
        let t = c.totals(Place::Vram);
        let q = t.kind(OpKind::Fsync).quantile(0.99);
        assert!(q.is_finite() && q > 8.0, "{q}");
        assert_eq!(t.errnos, vec![(ERRNOS as i32, 1)]);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::ENOENT), "ENOENT");
        assert_eq!(errno_name(libc::EHWPOISON), "E133");
        assert_eq!(errno_name(ERRNOS as i32), "other");
    }
}
