//! Bounded concurrency stress: a few threads doing random create / write / rename /
//! unlink / read on a small pool of colliding names in one directory, then a full
//! consistency check of what is left.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const POOL: usize = 8;
const THREADS: usize = 4;
const STRESS: Duration = Duration::from_secs(4);
/// Largest content written: kept under one page so a single read sees it whole.
const MAX_LEN: usize = 3500;

fn pool_name(i: usize) -> String {
    format!("f{i}")
}

/// The content a writer puts in a file: one unit, "name:tag:counter:reps;", `reps` times.
fn content(name: &str, tag: &str, counter: u64, reps: usize) -> Vec<u8> {
    format!("{name}:{tag}:{counter}:{reps};")
        .repeat(reps)
        .into_bytes()
}

/// A read racing the writers: as `check_whole`, or zeros, alone or after a whole content. A
/// read racing another thread's `O_TRUNC` and write can see the new size before the new
/// bytes, over a page filled with zeros past what the file held then. All-zero reads show
/// on both tiers (vdisk included, where the host file does the I/O) and on a plain libfuse
/// file system: the kernel's FUSE page cache. A whole content then zeros was seen once, on
/// `vram/` memory, most likely the same (see the README); what the store holds is checked
/// whole once the writers are done (`snapshot`). Torn, short or mixed contents still fail.
fn check_content(data: &[u8]) -> Result<(), String> {
    let text_end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    check_whole(&data[..text_end]).map_err(|e| format!("{e} ({} bytes read)", data.len()))
}

/// Ok if `data` is empty or a whole content some writer wrote (all its units, equal).
fn check_whole(data: &[u8]) -> Result<(), String> {
    if data.is_empty() {
        return Ok(());
    }
    let text = std::str::from_utf8(data).map_err(|_| format!("not UTF-8: {data:?}"))?;
    let Some(end) = text.find(';') else {
        return Err(format!("no unit terminator in {text:?}"));
    };
    let unit = &text[..=end];
    let fields: Vec<&str> = unit.trim_end_matches(';').split(':').collect();
    let reps = fields.get(3).and_then(|r| r.parse::<usize>().ok());
    let well_formed = fields.len() == 4
        && fields[0].starts_with('f')
        && fields[2].parse::<u64>().is_ok()
        && reps.is_some()
        && (0..POOL).any(|i| pool_name(i) == fields[0]);
    if !well_formed {
        return Err(format!("malformed unit {unit:?} (len {})", data.len()));
    }
    if data.len() != unit.len() * reps.unwrap_or(0)
        || !text
            .as_bytes()
            .chunks(unit.len())
            .all(|c| c == unit.as_bytes())
    {
        let first_bad = text
            .as_bytes()
            .chunks(unit.len())
            .position(|c| c != unit.as_bytes())
            .unwrap_or(0);
        let start = first_bad * unit.len();
        let shown = &text[start..text.len().min(start + 60)];
        return Err(format!(
            "torn content: {} bytes, unit {unit:?}, differs at unit {first_bad}: {shown:?}",
            data.len()
        ));
    }
    Ok(())
}

/// A read on a mount other than the writer's: as `check_content`, or a content's units cut
/// at a stale size. The reading kernel caches the file's size for the attribute TTL (1 s on
/// Redis, as NFS does with its attribute cache) and reads up to that size: after another
/// mount shortened the file it may show bytes past the new end (zeros or the bytes of an
/// earlier content of this file), after it lengthened it, the new content's first units
/// only. Each unit read must still be whole and the same.
fn check_content_across_mounts(data: &[u8]) -> Result<(), String> {
    let Err(torn) = check_content(data) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(data);
    let Some(end) = text.find(';') else {
        return Err(torn);
    };
    let unit = &data[..=end];
    let whole = data.chunks(unit.len()).take_while(|c| *c == unit).count() * unit.len();
    let name = &unit[..unit.iter().position(|&b| b == b':').unwrap_or(0) + 1];
    let tail = &data[whole..];
    let earlier_bytes = tail.iter().all(|&b| b == 0)
        || tail
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b':' || b == b';')
            && tail
                .split(|&b| b == b';')
                .skip(1)
                .filter(|u| !u.is_empty())
                .all(|u| u.starts_with(name) || name.starts_with(u));
    if earlier_bytes {
        Ok(())
    } else {
        Err(torn)
    }
}

/// One read() call with a buffer larger than any content: never a mix of two reads.
fn read_once(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let n = f.read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    create: u64,
    write: u64,
    rename: u64,
    unlink: u64,
    read: u64,
    vanished: u64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.create + self.write + self.rename + self.unlink + self.read
    }
    fn add(&mut self, o: &Counts) {
        self.create += o.create;
        self.write += o.write;
        self.rename += o.rename;
        self.unlink += o.unlink;
        self.read += o.read;
        self.vanished += o.vanished;
    }
}

/// Errors that are normal when other threads race on the same names.
fn expected(e: &io::Error, allowed: &[i32]) -> bool {
    e.raw_os_error().is_some_and(|c| allowed.contains(&c))
}

/// One worker: random ops on `dir` until `stop`; returns its counts, pushes failures.
fn worker(
    dir: PathBuf,
    tag: String,
    seed: u64,
    stop: Arc<AtomicBool>,
    errors: Arc<Mutex<Vec<String>>>,
    write_turn: Arc<Mutex<()>>,
    across_mounts: bool,
) -> Counts {
    let check = if across_mounts {
        check_content_across_mounts
    } else {
        check_content
    };
    // Another mount's unlink does not know what this mount's kernel holds: the kernel may
    // then meet ESTALE, retry the path once, and give ESTALE if the name went again (NFS
    // behaves so too). On one mount an unlinked inode stays while its kernel holds it.
    let gone: &[i32] = if across_mounts {
        &[libc::ENOENT, libc::ESTALE]
    } else {
        &[libc::ENOENT]
    };
    let mut rng = Rng::new(seed);
    let mut c = Counts::default();
    let mut counter = 0u64;
    let fail = |msg: String| {
        let mut e = errors.lock().unwrap();
        if e.len() < 20 {
            e.push(msg);
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let name = pool_name(rng.below(POOL as u64) as usize);
        let path = dir.join(&name);
        match rng.below(10) {
            0 | 1 => {
                c.create += 1;
                match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(_) => {}
                    Err(e) if expected(&e, &[libc::EEXIST]) => {}
                    Err(e) => fail(format!("[{tag}] create {name}: {e}")),
                }
            }
            2..=4 => {
                c.write += 1;
                counter += 1;
                // The longest the unit can be (reps has at most 4 digits).
                let unit_len = format!("{name}:{tag}:{counter}:9999;").len();
                let reps = 1 + rng.below((MAX_LEN / unit_len) as u64) as usize;
                let data = content(&name, &tag, counter, reps);
                // Two concurrent O_TRUNC + write at offset 0 legitimately overlay each
                // other (the shorter one over the longer one), so the test's writers take
                // turns; reads, renames, unlinks and creates still race with them.
                let _turn = write_turn.lock().unwrap();
                match OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                {
                    Ok(mut f) => {
                        if let Err(e) = f.write_all(&data) {
                            fail(format!(
                                "[{tag}] write {name} ({} bytes) on an open fd: {e}",
                                data.len()
                            ));
                        }
                    }
                    Err(e) if across_mounts && expected(&e, &[libc::ESTALE]) => c.vanished += 1,
                    Err(e) => fail(format!("[{tag}] open(O_CREAT|O_TRUNC) {name}: {e}")),
                }
            }
            5 => {
                c.rename += 1;
                let to = pool_name(rng.below(POOL as u64) as usize);
                match fs::rename(&path, dir.join(&to)) {
                    Ok(()) => {}
                    Err(e) if expected(&e, gone) => c.vanished += 1,
                    Err(e) => fail(format!("[{tag}] rename {name} -> {to}: {e}")),
                }
            }
            6 => {
                c.unlink += 1;
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if expected(&e, gone) => c.vanished += 1,
                    Err(e) => fail(format!("[{tag}] unlink {name}: {e}")),
                }
            }
            _ => {
                c.read += 1;
                match read_once(&path) {
                    Ok(data) => {
                        if let Err(msg) = check(&data) {
                            fail(format!("[{tag}] read {name}: {msg}"));
                        }
                    }
                    Err(e) if expected(&e, gone) => c.vanished += 1,
                    Err(e) => fail(format!("[{tag}] read {name}: {e}")),
                }
            }
        }
    }
    c
}

/// Runs `per_dir` workers on each of `dirs` for `dur`; panics on any failure.
fn run_stress(label: &str, dirs: &[PathBuf], per_dir: usize, dur: Duration, seed: u64) -> Counts {
    let across_mounts = dirs.len() > 1;
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let write_turn = Arc::new(Mutex::new(()));
    let mut handles = Vec::new();
    for (d, dir) in dirs.iter().enumerate() {
        for t in 0..per_dir {
            let (dir, stop, errors, turn) = (
                dir.clone(),
                stop.clone(),
                errors.clone(),
                write_turn.clone(),
            );
            let tag = format!("m{d}t{t}");
            let s = seed
                .wrapping_mul(31)
                .wrapping_add((d * per_dir + t) as u64 + 1);
            handles.push(thread::spawn(move || {
                worker(dir, tag, s, stop, errors, turn, across_mounts)
            }));
        }
    }
    let start = Instant::now();
    while start.elapsed() < dur && errors.lock().unwrap().is_empty() {
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    let mut total = Counts::default();
    for h in handles {
        total.add(&h.join().expect("worker panicked"));
    }
    eprintln!(
        "stress {label}: {} ops ({total:?}) in {:?}",
        total.total(),
        start.elapsed()
    );
    let errors = errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "stress {label} (seed {seed}): {} failure(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
    total
}

/// The quiescent state of `dir`: name -> content; checks every consistency rule.
fn snapshot(label: &str, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let listed: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{label}: read_dir {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .collect();
    let set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        set.len(),
        listed.len(),
        "{label}: a name listed twice: {listed:?}"
    );
    assert!(
        !set.contains(".") && !set.contains(".."),
        "{label}: read_dir gave . or .."
    );
    let mut out = BTreeMap::new();
    for name in &listed {
        let path = dir.join(name);
        let md = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{label}: listed {name} but stat fails: {e}"));
        assert!(md.is_file(), "{label}: {name} is not a regular file");
        assert_eq!(md.nlink(), 1, "{label}: {name} has nlink {}", md.nlink());
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{label}: read {name}: {e}"));
        assert_eq!(
            md.len(),
            data.len() as u64,
            "{label}: {name}: stat size {} != read length {}",
            md.len(),
            data.len()
        );
        if let Err(msg) = check_whole(&data) {
            panic!("{label}: {name} after the stress: {msg}");
        }
        out.insert(name.clone(), data);
    }
    let stat_found: BTreeSet<String> = (0..POOL)
        .map(pool_name)
        .filter(|n| fs::symlink_metadata(dir.join(n)).is_ok())
        .collect();
    assert_eq!(
        set, stat_found,
        "{label}: listing differs from what stat finds among the pool"
    );
    out
}

fn seed() -> u64 {
    std::env::var("MAVFS_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234)
}

fn overlapping_names(label: &str, dir: PathBuf) {
    let dir = dir.join("stress");
    fs::create_dir(&dir).expect("create stress dir");
    let seed = seed();
    let counts = run_stress(label, std::slice::from_ref(&dir), THREADS, STRESS, seed);
    assert!(counts.total() > 0, "{label}: no ops ran");
    let snap = snapshot(label, &dir);
    eprintln!(
        "stress {label}: {} file(s) left: {:?}",
        snap.len(),
        snap.keys().collect::<Vec<_>>()
    );
}

#[test]
fn stress_overlapping_names_vram_memory() {
    let m = TestMount::memory();
    overlapping_names("vram/memory", m.vram());
}

#[test]
fn stress_overlapping_names_vram_redis() {
    let m = TestMount::redis();
    overlapping_names("vram/redis", m.vram());
}

#[test]
fn stress_overlapping_names_vdisk() {
    let m = TestMount::memory();
    overlapping_names("vdisk", m.vdisk());
}

#[test]
fn stress_two_mounts_on_one_redis() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let (da, db) = (a.vram().join("stress"), b.vram().join("stress"));
    fs::create_dir(&da).expect("create stress dir on mount a");
    let end = Instant::now() + Duration::from_secs(5);
    while !db.is_dir() {
        assert!(Instant::now() < end, "mount b never sees the stress dir");
        thread::sleep(Duration::from_millis(100));
    }
    let seed = seed();
    let counts = run_stress(
        "two mounts/redis",
        &[da.clone(), db.clone()],
        2,
        Duration::from_secs(3),
        seed,
    );
    assert!(counts.total() > 0, "no ops ran");
    // Let the attribute and entry caches (1 s on redis) expire.
    thread::sleep(Duration::from_millis(1500));
    let sa = snapshot("mount a", &da);
    let sb = snapshot("mount b", &db);
    let names = |s: &BTreeMap<String, Vec<u8>>| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&sa),
        names(&sb),
        "the two mounts list different names"
    );
    for (name, data) in &sa {
        let other = &sb[name];
        assert!(
            data == other,
            "{name}: mount a reads {} bytes ({:x}), mount b {} bytes ({:x}): a {:?}..., b {:?}...",
            data.len(),
            checksum(data),
            other.len(),
            checksum(other),
            String::from_utf8_lossy(&data[..data.len().min(40)]),
            String::from_utf8_lossy(&other[..other.len().min(40)]),
        );
    }
    eprintln!(
        "stress two mounts/redis: {} file(s) left, same on both mounts",
        sa.len()
    );
}

#[test]
fn racing_reads_may_end_in_zeros_but_files_read_whole() {
    let a = content("f0", "m0t1", 2619, 58);
    let b = content("f0", "m0t0", 7, 3);
    let mut zero_tail = a.clone();
    zero_tail.resize(2990, 0);
    let mixed = [&a[..], &b[..]].concat();
    let mut torn_then_zeros = a[..a.len() - 5].to_vec();
    torn_then_zeros.resize(2990, 0);
    // Whole units, but fewer than were written: a tail lost.
    let mut short_then_zeros = a[..a.len() / 58 * 57].to_vec();
    short_then_zeros.resize(2990, 0);
    assert!(check_whole(&a).is_ok() && check_content(&a).is_ok());
    assert!(check_content(&[0; 100]).is_ok() && check_content(&zero_tail).is_ok());
    assert!(
        check_whole(&zero_tail).is_err(),
        "a file at rest ends in zeros"
    );
    assert!(check_content(&mixed).is_err(), "two contents in one read");
    assert!(check_content(&torn_then_zeros).is_err(), "a unit cut short");
    assert!(check_content(&short_then_zeros).is_err(), "a unit missing");
}
