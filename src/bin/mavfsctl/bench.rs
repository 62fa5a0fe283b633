//! `mavfsctl bench`: the same small workloads, through ordinary file I/O, on several
//! directories side by side (a mount's `vram/` and `vdisk/`, and any others given).
//!
//! Invariants: every workload runs in a fresh scratch directory `.mavfs-bench.<pid>` that this
//! module created itself, and that it removes again before moving on, whether the workload
//! finished, failed or was stopped; nothing else is ever removed. The stop flag is read
//! between operations, so a Ctrl-C ends a run after the operation in flight.
//!
//! Nothing is fsync'ed: the figures are what a program sees through the page cache and FUSE.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::IntoRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use mavfs::rng::Rng;

use crate::units::{iops, latency, mb_per_s, per_s, ratio};
use serde::Serialize;

pub const DEFAULT_SIZE: u64 = 64 << 10;
pub const DEFAULT_ITERS: u32 = 200;
pub const DEFAULT_FILES: u32 = 1000;
/// Random I/O: `RAND_OPS` reads, then as many writes, of `RAND_BLOCK` bytes each at
/// block-aligned offsets in a file of `RAND_FILE_BYTES` (written first, not timed).
pub const RAND_FILE_BYTES: u64 = 16 << 20;
pub const RAND_BLOCK: usize = 4096;
pub const RAND_OPS: u32 = 4096;
/// Scratch directories are named this plus the process id.
pub const SCRATCH_PREFIX: &str = ".mavfs-bench.";

/// Fixed, so that every column gets the same offsets and bytes.
const SEED: u64 = 0x6d61_7666_7362_656e;
/// The largest single `write`/`read` call; bigger blobs take several.
const IO_CHUNK: usize = 1 << 20;

/// How much work each workload does (see the module constants for the random I/O).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Bytes of the blob written and read by the sequential workload.
    pub size: u64,
    /// Sequential writes, then as many reads, of that blob.
    pub iters: u32,
    /// Empty files created, then stat'ed, then unlinked.
    pub files: u32,
}

impl Params {
    pub fn new(size: u64, iters: u32, files: u32) -> Result<Params, String> {
        for (name, v) in [
            ("--size", size),
            ("--iters", iters.into()),
            ("--files", files.into()),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        Ok(Params { size, iters, files })
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            size: DEFAULT_SIZE,
            iters: DEFAULT_ITERS,
            files: DEFAULT_FILES,
        }
    }
}

/// One column of the report: a directory to run in, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub label: String,
    pub path: PathBuf,
}

impl Target {
    pub fn new(label: impl Into<String>, path: impl Into<PathBuf>) -> Target {
        Target {
            label: label.into(),
            path: path.into(),
        }
    }

    /// Parses a `--dir` argument, `LABEL=PATH` (the path may itself hold `=`).
    pub fn parse(arg: &str) -> Result<Target, String> {
        let bad = |why: &str| format!("--dir {arg}: {why} (want LABEL=PATH, e.g. tmpfs=/dev/shm)");
        let (label, path) = arg.split_once('=').ok_or_else(|| bad("no '='"))?;
        if label.trim().is_empty() {
            return Err(bad("empty label"));
        }
        if path.is_empty() {
            return Err(bad("empty path"));
        }
        Ok(Target::new(label, path))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The stop flag was set; the scratch directories are gone.
    #[error("interrupted")]
    Interrupted,
    #[error("{label} ({}): {reason}", path.display())]
    BadTarget {
        label: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{}: {op}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
}

/// Latency and throughput of one direction of the sequential workload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Seq {
    pub p50_us: f64,
    pub p99_us: f64,
    /// Total bytes over total time, in 10^6 bytes per second.
    pub mb_s: f64,
}

/// Every figure of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub label: String,
    /// The directory, made absolute.
    pub path: String,
    pub seq_write: Seq,
    pub seq_read: Seq,
    pub create_per_s: f64,
    pub stat_per_s: f64,
    pub unlink_per_s: f64,
    pub rand_read_iops: f64,
    pub rand_write_iops: f64,
}

/// A whole run: its parameters and one column per target, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub size: u64,
    pub iters: u32,
    pub files: u32,
    pub rand_file_bytes: u64,
    pub rand_block: usize,
    pub rand_ops: u32,
    pub columns: Vec<Column>,
}

/// Runs every workload on every target, one target after the other. Targets are checked
/// (unique labels, existing directories) before anything is written. Returns
/// `BenchError::Interrupted` soon after `stop` is set.
pub fn run(params: &Params, targets: &[Target], stop: &AtomicBool) -> Result<Report, BenchError> {
    let dirs = resolve(targets)?;
    let bench = Bench::new(params, stop);
    let columns = targets
        .iter()
        .zip(&dirs)
        .map(|(t, dir)| bench.column(&t.label, dir))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Report {
        size: params.size,
        iters: params.iters,
        files: params.files,
        rand_file_bytes: RAND_FILE_BYTES,
        rand_block: RAND_BLOCK,
        rand_ops: RAND_OPS,
        columns,
    })
}

/// The targets' directories made absolute, or the first target that is not usable.
fn resolve(targets: &[Target]) -> Result<Vec<PathBuf>, BenchError> {
    let mut dirs = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let refuse = |reason: String| BenchError::BadTarget {
            label: t.label.clone(),
            path: t.path.clone(),
            reason,
        };
        if targets[..i].iter().any(|o| o.label == t.label) {
            return Err(refuse("label given twice".into()));
        }
        let dir = t.path.canonicalize().map_err(|e| refuse(e.to_string()))?;
        if !dir.is_dir() {
            return Err(refuse("not a directory".into()));
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

/// A directory this run created; removed (with all inside) by `remove`, or else on drop.
struct Scratch {
    path: PathBuf,
    armed: bool,
}

impl Scratch {
    fn create(parent: &Path) -> Result<Scratch, BenchError> {
        let path = parent.join(format!("{SCRATCH_PREFIX}{}", std::process::id()));
        // create_dir, not create_dir_all: an existing directory is not ours to remove.
        match fs::create_dir(&path) {
            Ok(()) => Ok(Scratch { path, armed: true }),
            Err(source) => Err(BenchError::Io {
                path,
                op: "mkdir",
                source,
            }),
        }
    }

    fn remove(mut self) -> Result<(), BenchError> {
        self.armed = false;
        fs::remove_dir_all(&self.path).map_err(|source| BenchError::Io {
            path: self.path.clone(),
            op: "remove",
            source,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Only reached on a panic; `remove` reports its errors otherwise.
        if self.armed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The workloads, with what they share: parameters, the stop flag, the bytes to write.
struct Bench<'a> {
    params: &'a Params,
    stop: &'a AtomicBool,
    data: Vec<u8>,
}

impl<'a> Bench<'a> {
    fn new(params: &'a Params, stop: &'a AtomicBool) -> Bench<'a> {
        let len = IO_CHUNK.max(RAND_BLOCK);
        Bench {
            params,
            stop,
            data: Rng::new(SEED).bytes(len),
        }
    }

    fn column(&self, label: &str, dir: &Path) -> Result<Column, BenchError> {
        let (seq_write, seq_read) = self.in_scratch(dir, |d| self.sequential(d))?;
        let [create_per_s, stat_per_s, unlink_per_s] =
            self.in_scratch(dir, |d| self.small_files(d))?;
        let [rand_read_iops, rand_write_iops] = self.in_scratch(dir, |d| self.random_io(d))?;
        Ok(Column {
            label: label.to_owned(),
            path: dir.to_string_lossy().into_owned(),
            seq_write,
            seq_read,
            create_per_s,
            stat_per_s,
            unlink_per_s,
            rand_read_iops,
            rand_write_iops,
        })
    }

    /// Runs `work` in a fresh scratch directory under `dir`, then removes it. The
    /// workload's own error wins over a failure to clean up after it.
    fn in_scratch<T>(
        &self,
        dir: &Path,
        work: impl FnOnce(&Path) -> Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        self.check()?;
        let scratch = Scratch::create(dir)?;
        let result = work(&scratch.path);
        let removed = scratch.remove();
        let value = result?;
        removed?;
        Ok(value)
    }

    fn check(&self) -> Result<(), BenchError> {
        if self.stop.load(Ordering::Relaxed) {
            Err(BenchError::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Names a failed call; once stopped, any failure (EINTR from FUSE, say) is the stop.
    fn io<T>(&self, r: io::Result<T>, path: &Path, op: &'static str) -> Result<T, BenchError> {
        r.map_err(|source| {
            if self.stop.load(Ordering::Relaxed) {
                BenchError::Interrupted
            } else {
                BenchError::Io {
                    path: path.to_owned(),
                    op,
                    source,
                }
            }
        })
    }

    /// `iters` times open+write+close of the blob, then `iters` times open+read+close.
    fn sequential(&self, dir: &Path) -> Result<(Seq, Seq), BenchError> {
        let path = dir.join("blob");
        let iters = self.params.iters as usize;
        let mut writes = Vec::with_capacity(iters);
        for _ in 0..iters {
            self.check()?;
            let t = Instant::now();
            self.write_blob(&path)?;
            writes.push(t.elapsed());
        }
        let mut reads = Vec::with_capacity(iters);
        let mut buf = vec![0u8; IO_CHUNK.min(self.params.size as usize)];
        for _ in 0..iters {
            self.check()?;
            let t = Instant::now();
            self.read_blob(&path, &mut buf)?;
            reads.push(t.elapsed());
        }
        Ok((
            Seq::from_samples(writes, self.params.size),
            Seq::from_samples(reads, self.params.size),
        ))
    }

    fn write_blob(&self, path: &Path) -> Result<(), BenchError> {
        let mut f = self.io(File::create(path), path, "create")?;
        self.write_bytes(&mut f, path, self.params.size)?;
        self.io(close(f), path, "close")
    }

    /// Writes `len` bytes of `data` at the file position, in calls of at most `IO_CHUNK`.
    fn write_bytes(&self, f: &mut File, path: &Path, len: u64) -> Result<(), BenchError> {
        let mut left = len;
        while left > 0 {
            self.check()?;
            let n = left.min(self.data.len() as u64) as usize;
            self.io(f.write_all(&self.data[..n]), path, "write")?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Reads the whole blob to end of file; a length other than `size` is an error.
    fn read_blob(&self, path: &Path, buf: &mut [u8]) -> Result<(), BenchError> {
        let mut f = self.io(File::open(path), path, "open")?;
        let mut total = 0u64;
        loop {
            self.check()?;
            match self.io(f.read(buf), path, "read")? {
                0 => break,
                n => total += n as u64,
            }
        }
        self.io(close(f), path, "close")?;
        if total != self.params.size {
            let msg = format!("read {total} bytes, wrote {}", self.params.size);
            return self.io(Err(io::Error::other(msg)), path, "read");
        }
        Ok(())
    }

    /// Creates, then stats, then unlinks `files` empty files: each phase's operations/s.
    fn small_files(&self, dir: &Path) -> Result<[f64; 3], BenchError> {
        let names: Vec<PathBuf> = (0..self.params.files)
            .map(|i| dir.join(format!("f{i}")))
            .collect();
        let create = self.per_second(&names, |p| self.io(create_empty(p), p, "create"))?;
        let stat = self.per_second(&names, |p| {
            self.io(fs::symlink_metadata(p).map(drop), p, "stat")
        })?;
        let unlink = self.per_second(&names, |p| self.io(fs::remove_file(p), p, "unlink"))?;
        Ok([create, stat, unlink])
    }

    /// Random block reads, then writes, with pread/pwrite on one open file: each one's IOPS.
    fn random_io(&self, dir: &Path) -> Result<[f64; 2], BenchError> {
        let path = dir.join("random");
        let open = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path);
        let mut f = self.io(open, &path, "create")?;
        self.write_bytes(&mut f, &path, RAND_FILE_BYTES)?;
        let offsets = block_offsets(RAND_OPS, RAND_FILE_BYTES, RAND_BLOCK);
        let mut buf = vec![0u8; RAND_BLOCK];
        let reads = self.per_second(&offsets, |&off| {
            self.io(f.read_exact_at(&mut buf, off), &path, "pread")
        })?;
        let block = &self.data[..RAND_BLOCK];
        let writes = self.per_second(&offsets, |&off| {
            self.io(f.write_all_at(block, off), &path, "pwrite")
        })?;
        self.io(close(f), &path, "close")?;
        Ok([reads, writes])
    }

    /// Runs `op` on each item, checking the stop flag in between: items per second.
    fn per_second<T>(
        &self,
        items: &[T],
        mut op: impl FnMut(&T) -> Result<(), BenchError>,
    ) -> Result<f64, BenchError> {
        let started = Instant::now();
        for item in items {
            self.check()?;
            op(item)?;
        }
        Ok(items.len() as f64 / secs(started.elapsed()))
    }
}

impl Seq {
    fn from_samples(mut samples: Vec<Duration>, bytes_each: u64) -> Seq {
        let total: Duration = samples.iter().sum();
        samples.sort_unstable();
        let bytes = bytes_each as f64 * samples.len() as f64;
        Seq {
            p50_us: micros(percentile(&samples, 50)),
            p99_us: micros(percentile(&samples, 99)),
            mb_s: bytes / secs(total) / 1e6,
        }
    }
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Seconds, never zero, so that a rate stays finite on a coarse clock.
fn secs(d: Duration) -> f64 {
    d.as_secs_f64().max(1e-9)
}

fn create_empty(path: &Path) -> io::Result<()> {
    let f = OpenOptions::new().write(true).create_new(true).open(path)?;
    close(f)
}

/// Closes `f` and reports the error `File`'s drop would ignore (FUSE reports some, such as
/// a failed flush, only here).
fn close(f: File) -> io::Result<()> {
    let fd = f.into_raw_fd();
    // SAFETY: `fd` came from `into_raw_fd`, so it is open and nothing else owns it.
    if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `n` block-aligned offsets inside a file of `file_bytes`, the same on every call.
fn block_offsets(n: u32, file_bytes: u64, block: usize) -> Vec<u64> {
    let blocks = file_bytes / block as u64;
    let mut rng = Rng::new(SEED);
    (0..n).map(|_| rng.below(blocks) * block as u64).collect()
}

// ------------------------------------------------------------------------------------------
// The table

/// One row of the table: its name, the figure it shows, and how.
struct Row {
    name: &'static str,
    value: fn(&Column) -> f64,
    show: fn(f64) -> String,
}

const ROWS: [Row; 11] = [
    row("seq write p50", |c| c.seq_write.p50_us, latency),
    row("seq write p99", |c| c.seq_write.p99_us, latency),
    row("seq write", |c| c.seq_write.mb_s, mb_per_s),
    row("seq read p50", |c| c.seq_read.p50_us, latency),
    row("seq read p99", |c| c.seq_read.p99_us, latency),
    row("seq read", |c| c.seq_read.mb_s, mb_per_s),
    row("create", |c| c.create_per_s, per_s),
    row("stat", |c| c.stat_per_s, per_s),
    row("unlink", |c| c.unlink_per_s, per_s),
    row("rand read 4K", |c| c.rand_read_iops, iops),
    row("rand write 4K", |c| c.rand_write_iops, iops),
];

const fn row(name: &'static str, value: fn(&Column) -> f64, show: fn(f64) -> String) -> Row {
    Row { name, value, show }
}

impl Report {
    /// The report as a text table: a line on the parameters, then one row per figure and
    /// one column per target; cells after the first column carry their ratio to it.
    pub fn table(&self) -> String {
        let mut grid: Vec<Vec<String>> = vec![std::iter::once("metric".to_owned())
            .chain(self.columns.iter().map(|c| c.label.clone()))
            .collect()];
        for row in &ROWS {
            grid.push(self.cells(row));
        }
        let widths: Vec<usize> = (0..grid[0].len())
            .map(|i| grid.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!("{}\n", self.summary());
        for r in &grid {
            let mut line = format!("{:<w$}", r[0], w = widths[0]);
            for (cell, w) in r.iter().zip(&widths).skip(1) {
                line.push_str(&format!("   {cell:>w$}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn summary(&self) -> String {
        let first = self.columns.first().map_or("", |c| c.label.as_str());
        format!(
            "{} × {} writes and reads; {} files; {} random {} reads and writes in {}; ratios to {first}",
            HumanBytes(self.size),
            self.iters,
            self.files,
            self.rand_ops,
            HumanBytes(self.rand_block as u64),
            HumanBytes(self.rand_file_bytes),
        )
    }

    fn cells(&self, row: &Row) -> Vec<String> {
        let base = self.columns.first().map(|c| (row.value)(c));
        let mut cells = vec![row.name.to_owned()];
        for (i, c) in self.columns.iter().enumerate() {
            let v = (row.value)(c);
            let mut cell = (row.show)(v);
            if let Some(b) = base.filter(|b| i > 0 && *b > 0.0) {
                cell.push_str(&format!(" ({})", ratio(v / b)));
            }
            cells.push(cell);
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Params {
        Params::new(3000, 3, 5).unwrap()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(SCRATCH_PREFIX))
            .collect()
    }

    #[test]
    fn dir_argument_is_label_equals_path() {
        assert_eq!(
            Target::parse("tmpfs=/dev/shm").unwrap(),
            Target::new("tmpfs", "/dev/shm")
        );
        assert_eq!(Target::parse("a=b=c").unwrap(), Target::new("a", "b=c"));
        for bad in ["noequals", "=/tmp", "host=", " =/tmp"] {
            let e = Target::parse(bad).unwrap_err();
            assert!(e.starts_with("--dir ") && e.contains("LABEL=PATH"), "{e}");
        }
    }

    #[test]
    fn zero_counts_are_refused() {
        assert!(Params::new(0, 1, 1).unwrap_err().contains("--size"));
        assert!(Params::new(1, 0, 1).unwrap_err().contains("--iters"));
        assert!(Params::new(1, 1, 0).unwrap_err().contains("--files"));
        assert_eq!(Params::default(), Params::new(65536, 200, 1000).unwrap());
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&d, 50), Duration::from_micros(50));
        assert_eq!(percentile(&d, 99), Duration::from_micros(99));
        let few: Vec<Duration> = (1..=5).map(Duration::from_micros).collect();
        assert_eq!(percentile(&few, 50), Duration::from_micros(3));
        assert_eq!(percentile(&few, 99), Duration::from_micros(5));
        assert_eq!(percentile(&few[..1], 50), Duration::from_micros(1));
    }

    #[test]
    fn random_offsets_are_aligned_inside_the_file_and_repeatable() {
        let offs = block_offsets(1000, RAND_FILE_BYTES, RAND_BLOCK);
        assert!(offs
            .iter()
            .all(|&o| o % RAND_BLOCK as u64 == 0 && o + RAND_BLOCK as u64 <= RAND_FILE_BYTES));
        assert_eq!(offs, block_offsets(1000, RAND_FILE_BYTES, RAND_BLOCK));
        let distinct: std::collections::BTreeSet<_> = offs.iter().collect();
        // 1000 draws from 4096 blocks: about 887 distinct expected.
        assert!(
            distinct.len() > 800,
            "offsets barely scatter: {}",
            distinct.len()
        );
    }

    #[test]
    fn run_reports_every_figure_and_leaves_nothing() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let targets = [Target::new("a", a.path()), Target::new("b", b.path())];
        let r = run(&small(), &targets, &AtomicBool::new(false)).unwrap();
        assert_eq!(r.columns.len(), 2);
        for (c, dir) in r.columns.iter().zip([&a, &b]) {
            assert_eq!(Path::new(&c.path), dir.path().canonicalize().unwrap());
            let json = serde_json::to_value(c).unwrap();
            let figures = [
                c.seq_write.p50_us,
                c.seq_write.p99_us,
                c.seq_write.mb_s,
                c.seq_read.p50_us,
                c.seq_read.p99_us,
                c.seq_read.mb_s,
                c.create_per_s,
                c.stat_per_s,
                c.unlink_per_s,
                c.rand_read_iops,
                c.rand_write_iops,
            ];
            assert!(figures.iter().all(|v| v.is_finite() && *v > 0.0), "{json}");
            assert!(c.seq_write.p50_us <= c.seq_write.p99_us);
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_set_stop_flag_interrupts_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let err = run(
            &small(),
            &[Target::new("d", d.path())],
            &AtomicBool::new(true),
        );
        assert!(matches!(err, Err(BenchError::Interrupted)), "{err:?}");
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
    }

    #[test]
    fn stopping_mid_workload_removes_its_scratch_dir() {
        let d = tempfile::tempdir().unwrap();
        let (params, stop) = (Params::default(), AtomicBool::new(false));
        let bench = Bench::new(&params, &stop);
        let err = bench.in_scratch(d.path(), |s| {
            fs::write(s.join("x"), b"x").unwrap();
            stop.store(true, Ordering::Relaxed);
            bench.small_files(s)
        });
        assert!(matches!(err, Err(BenchError::Interrupted)), "{err:?}");
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
    }

    #[test]
    fn unusable_targets_are_refused_before_anything_is_written() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("file");
        fs::write(&file, b"").unwrap();
        let stop = AtomicBool::new(false);
        let cases = [
            (
                vec![Target::new("ok", d.path()), Target::new("f", &file)],
                "not a directory",
            ),
            (
                vec![
                    Target::new("ok", d.path()),
                    Target::new("m", d.path().join("nope")),
                ],
                "No such file",
            ),
            (
                vec![Target::new("ok", d.path()), Target::new("ok", d.path())],
                "given twice",
            ),
        ];
        for (targets, why) in cases {
            let e = run(&small(), &targets, &stop).unwrap_err();
            assert!(matches!(e, BenchError::BadTarget { .. }), "{e:?}");
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(leftovers(d.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn a_scratch_dir_already_there_is_an_error_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let theirs = d
            .path()
            .join(format!("{SCRATCH_PREFIX}{}", std::process::id()));
        fs::create_dir(&theirs).unwrap();
        let e = run(
            &small(),
            &[Target::new("d", d.path())],
            &AtomicBool::new(false),
        );
        assert!(
            matches!(e, Err(BenchError::Io { op: "mkdir", .. })),
            "{e:?}"
        );
        assert!(theirs.is_dir());
    }

    fn column(label: &str, scale: f64) -> Column {
        let seq = Seq {
            p50_us: 50.0 * scale,
            p99_us: 2500.0 * scale,
            mb_s: 800.0 * scale,
        };
        Column {
            label: label.into(),
            path: format!("/{label}"),
            seq_write: seq,
            seq_read: seq,
            create_per_s: 69_900.0 * scale,
            stat_per_s: 1_500_000.0 * scale,
            unlink_per_s: 500.0 * scale,
            rand_read_iops: 12_000.0 * scale,
            rand_write_iops: 9_000.0 * scale,
        }
    }

    #[test]
    fn table_has_a_column_per_target_and_ratios_after_the_first() {
        let r = Report {
            size: 65536,
            iters: 200,
            files: 1000,
            rand_file_bytes: RAND_FILE_BYTES,
            rand_block: RAND_BLOCK,
            rand_ops: RAND_OPS,
            columns: vec![column("vram", 1.0), column("tmpfs", 2.0)],
        };
        let t = r.table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2 + ROWS.len(), "{t}");
        assert!(lines[0].ends_with("ratios to vram"), "{t}");
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(header, ["metric", "vram", "tmpfs"]);
        assert!(lines[2].starts_with("seq write p50") && lines[2].ends_with("100.0 µs (2.0×)"));
        assert!(lines[3].contains("2.50 ms") && lines[3].ends_with("5.00 ms (2.0×)"));
        assert!(lines[4].ends_with("1600 MB/s (2.0×)"), "{t}");
        assert!(lines[8].contains("69.9k/s"), "{t}");
        assert!(lines[9].contains("1.50M/s"), "{t}");
        assert!(lines[12].ends_with("18.0k IOPS (2.0×)"), "{t}");
    }

    #[test]
    fn units_read_well() {
        assert_eq!(latency(12.34), "12.3 µs");
        assert_eq!(latency(1234.0), "1.23 ms");
        assert_eq!(latency(2_500_000.0), "2.50 s");
        assert_eq!(mb_per_s(42.0), "42.0 MB/s");
        assert_eq!(per_s(999.0), "999/s");
        assert_eq!(ratio(0.163), "0.16×");
        assert_eq!(ratio(1.94), "1.9×");
        assert_eq!(ratio(12.4), "12×");
    }
}
