//! Where the serving threads run, and at what policy.
//!
//! Each thread is pinned to its queue's CPU, where its callers are. It also runs as
//! `SCHED_IDLE`: when its reply wakes the caller, the scheduler then counts the CPU as free and
//! leaves the caller there, instead of moving it to the other CPU (a migration, and on a
//! virtual machine an exit to the hypervisor to wake a halted CPU, per request). Measured on a
//! 2-CPU machine: without it, every reply moved the caller.
//!
//! `SCHED_IDLE` also yields to every other task, so a CPU-bound task beside a queue would
//! starve it. A watch thread reads each thread's time spent waiting to run
//! (`/proc/self/task/TID/schedstat`) and gives a thread that waited more than a fifth of the
//! last `PERIOD` the normal policy for `RAISED_FOR`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{info, warn};
use parking_lot::Mutex;

const PERIOD: Duration = Duration::from_millis(50);
const RAISED_FOR: Duration = Duration::from_secs(1);

/// The serving threads' ids, for the watch; a thread that ends clears its slot, under the
/// slot's lock, so that the watch never sets the policy of a thread id used again.
pub struct Threads {
    tids: Vec<Mutex<libc::pid_t>>,
    running: AtomicUsize,
    /// Whether SCHED_IDLE is used: only where the watch can read how long a thread waited
    /// and may raise it again (CAP_SYS_NICE; an unprivileged thread may not leave it).
    idle: bool,
}

impl Threads {
    pub fn new(n: usize) -> Arc<Threads> {
        Arc::new(Threads {
            tids: (0..n).map(|_| Mutex::new(0)).collect(),
            running: AtomicUsize::new(n),
            idle: idle_is_safe(),
        })
    }

    /// Settles the calling thread as serving thread `n`, for `cpu`.
    pub fn settle(&self, n: usize, cpu: usize) {
        pin_to(cpu);
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        if self.idle && set_policy(tid, libc::SCHED_IDLE) {
            *self.tids[n].lock() = tid;
        }
    }

    /// The calling thread (serving thread `n`) ends.
    pub fn leave(&self, n: usize) {
        *self.tids[n].lock() = 0;
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a thread here can leave SCHED_IDLE again and its waiting can be read: tried on a
/// thread of its own, which ends either way.
fn idle_is_safe() -> bool {
    std::thread::spawn(|| {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        waited(tid).is_some()
            && set_policy(tid, libc::SCHED_IDLE)
            && set_policy(tid, libc::SCHED_OTHER)
    })
    .join()
    .unwrap_or(false)
}

fn pin_to(cpu: usize) {
    // SAFETY: the set is zeroed, then filled by CPU_SET within its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            warn!(
                "uring queue {cpu}: cannot pin to its CPU: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

fn set_policy(tid: libc::pid_t, policy: libc::c_int) -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: param is a valid sched_param for the call's duration.
    unsafe { libc::sched_setscheduler(tid, policy, &param) == 0 }
}

/// A thread's `schedstat`, kept open: the watch reads it every `PERIOD` for every CPU's
/// thread, with one `pread` instead of opening, reading and closing it each time.
struct Schedstat(File);

impl Schedstat {
    fn open(tid: libc::pid_t) -> Option<Schedstat> {
        File::open(format!("/proc/self/task/{tid}/schedstat"))
            .ok()
            .map(Schedstat)
    }

    /// Nanoseconds the thread has spent runnable but waiting for a CPU.
    fn waited(&self) -> Option<u64> {
        let mut buf = [0u8; 128];
        let n = self.0.read_at(&mut buf, 0).ok()?;
        let s = std::str::from_utf8(&buf[..n]).ok()?;
        s.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Nanoseconds thread `tid` has spent runnable but waiting for a CPU.
fn waited(tid: libc::pid_t) -> Option<u64> {
    Schedstat::open(tid)?.waited()
}

/// Starts the watch; it ends when every serving thread has.
pub fn watch(threads: Arc<Threads>) {
    let spawned = std::thread::Builder::new()
        .name("uring-watch".into())
        .spawn(move || {
            let n = threads.tids.len();
            let mut last: Vec<Option<u64>> = vec![None; n];
            let mut raised_until: Vec<Option<Instant>> = vec![None; n];
            let mut stats: Vec<Option<Schedstat>> = (0..n).map(|_| None).collect();
            while threads.running.load(Ordering::Relaxed) > 0 {
                std::thread::sleep(PERIOD);
                let now = Instant::now();
                for i in 0..n {
                    let slot = threads.tids[i].lock();
                    let tid = *slot;
                    if tid == 0 {
                        stats[i] = None;
                        continue;
                    }
                    // A slot holds one thread for its life (cleared when it ends), so its
                    // file is opened once; again only after a failed read.
                    if stats[i].is_none() {
                        stats[i] = Schedstat::open(tid);
                    }
                    let w = stats[i].as_ref().and_then(Schedstat::waited);
                    if w.is_none() {
                        stats[i] = None;
                    }
                    let delta = match (w, last[i]) {
                        (Some(w), Some(l)) => w.saturating_sub(l),
                        _ => 0,
                    };
                    last[i] = w;
                    match raised_until[i] {
                        Some(until) if now >= until => {
                            set_policy(tid, libc::SCHED_IDLE);
                            raised_until[i] = None;
                        }
                        None if delta > PERIOD.as_nanos() as u64 / 5 => {
                            if set_policy(tid, libc::SCHED_OTHER) {
                                raised_until[i] = Some(now + RAISED_FOR);
                                info!("uring thread {i}: kept waiting by other work, raised");
                            } else {
                                warn!(
                                    "uring thread {i}: kept waiting by other work, and cannot \
                                     be raised: {}",
                                    std::io::Error::last_os_error()
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
        });
    if let Err(e) = spawned {
        warn!("uring: cannot start the watch: {e}");
    }
}
