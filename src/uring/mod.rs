//! FUSE over io_uring (`--uring`).
//!
//! Over `/dev/fuse`, a request made on one CPU wakes whichever daemon thread sleeps in read(),
//! often on the other CPU, and the reply wakes the caller back across CPUs: on a virtual
//! machine each wake-up of a halted CPU is an exit to the hypervisor, and that, not the
//! filesystem's work, is most of a create's or an unlink's cost. Here the kernel keeps one
//! queue per CPU: a request goes to the queue of the CPU it was made on, and is served by this
//! module's thread pinned to that CPU, which the caller's sleep hands the CPU to; the reply
//! leaves the caller on that CPU too (`sched`).
//!
//! Each thread has its own ring of 128-byte entries. An entry registers a header buffer and a
//! payload buffer with the kernel (`FUSE_IO_URING_CMD_REGISTER`); a completion means a request
//! sits in them. The thread rebuilds the request as `/dev/fuse` would have given it, hands it
//! to the session's dispatcher, writes the reply into the same buffers and hands the entry
//! back (`FUSE_IO_URING_CMD_COMMIT_AND_FETCH`). Forgets and interrupts still come over
//! `/dev/fuse`, to the session's own threads.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use fuser::{Dispatcher, Filesystem, ReplySink};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use log::{error, info, warn};
use parking_lot::{Condvar, Mutex};

mod sched;

/// The fuse module's switch for FUSE over io_uring (off unless the machine's owner turns it on).
pub const SWITCH: &str = "/sys/module/fuse/parameters/enable_uring";

/// Requests served over the rings since the mount; `None` until they serve (`--uring`).
static SERVED: AtomicU64 = AtomicU64::new(0);
static SERVING: AtomicBool = AtomicBool::new(false);

/// How many requests came over io_uring, if this mount serves over it.
pub fn served() -> Option<u64> {
    SERVING
        .load(Ordering::Relaxed)
        .then(|| SERVED.load(Ordering::Relaxed))
}

/// How long the `/dev/fuse` reader rests after forgets (`rest_after_forgets`). 200 µs took
/// as much off an unlink as 5 ms did; a little over that leaves room for timer slack.
const FORGET_REST: Duration = Duration::from_micros(250);

thread_local! {
    /// Set on the threads that serve the rings, which must never rest.
    static ON_RING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Called after forgets were handled. On a mount served over io_uring only forgets (and
/// interrupts, which fuser answers ENOSYS) still come through `/dev/fuse`, to a single
/// reader. A forget that finds the reader asleep on the device wakes it, on the other CPU,
/// and that cost an unlink about 7 µs of its 17. A resting reader is not asleep there, so
/// the kernel queues the next forgets without a wake-up and hands them over as one batch at
/// the next read. Over `/dev/fuse` alone its readers serve every request and never rest;
/// nor does a ring thread (should forgets ever come over the rings).
pub fn rest_after_forgets() {
    if SERVING.load(Ordering::Relaxed) && !ON_RING.with(|r| r.get()) {
        std::thread::sleep(FORGET_REST);
    }
}

/// Entries per CPU: one is being served while the kernel fills the next.
const DEPTH: usize = 2;
/// The largest request or reply payload: a write or read of `max_write` (1 MiB) bytes.
const PAYLOAD: usize = 1 << 20;
/// Room before the payload for the request's header and per-operation arguments, which the
/// kernel hands over apart from it, so that the whole request lies in one buffer.
const ROOM: usize = 256;
/// `struct fuse_in_header` and `struct fuse_out_header`.
const IN_HEADER: usize = 40;
const OUT_HEADER: usize = 16;

const FUSE_FORGET: u32 = 2;
const FUSE_BATCH_FORGET: u32 = 42;

const CMD_REGISTER: u32 = 1;
const CMD_COMMIT_AND_FETCH: u32 = 2;

/// `struct fuse_uring_req_header`: what the kernel reads and writes besides the payload.
#[repr(C)]
struct Headers {
    /// The request's `fuse_in_header`, then the reply's `fuse_out_header`.
    in_out: [u8; 128],
    /// The operation's own arguments (`fuse_write_in`, ...), up to 128 bytes.
    op_in: [u8; 128],
    /// `struct fuse_uring_ent_in_out`.
    flags: u64,
    commit_id: u64,
    payload_sz: u32,
    padding: u32,
    reserved: u64,
}

/// Whether the fuse module offers FUSE over io_uring; `Err` is the one line telling how.
pub fn check_switch() -> Result<(), String> {
    check_switch_at(std::path::Path::new(SWITCH))
}

fn check_switch_at(switch: &std::path::Path) -> Result<(), String> {
    let on = std::fs::read_to_string(switch)
        .map(|s| s.trim() == "Y")
        .unwrap_or(false);
    if on {
        Ok(())
    } else {
        Err(format!(
            "--uring needs FUSE over io_uring, which this kernel has off \
             (as root: echo Y > {SWITCH})"
        ))
    }
}

/// The reply of the request an entry holds, handed over by whichever thread answers it.
#[derive(Debug, Default)]
struct Sink {
    slot: Mutex<Slot>,
    answered: Condvar,
}

#[derive(Debug, Default)]
struct Slot {
    /// Where the reply's arguments may go at once (the entry's payload), while its request
    /// brought no payload of its own: the address, as the sink may be on another thread.
    direct: Option<usize>,
    /// The reply's `fuse_out_header`, and its arguments' length, when they went there.
    header: [u8; OUT_HEADER],
    direct_len: Option<usize>,
    /// Else the whole reply.
    bytes: Vec<u8>,
    full: bool,
}

impl ReplySink for Sink {
    fn send(&self, data: &[IoSlice<'_>]) -> io::Result<()> {
        let mut slot = self.slot.lock();
        let total: usize = data.iter().map(|d| d.len()).sum();
        slot.direct_len = None;
        slot.bytes.clear();
        match slot.direct {
            Some(addr) if (OUT_HEADER..=OUT_HEADER + PAYLOAD).contains(&total) => {
                let mut at = 0;
                for part in data {
                    let mut part: &[u8] = part;
                    if at < OUT_HEADER {
                        let n = part.len().min(OUT_HEADER - at);
                        slot.header[at..at + n].copy_from_slice(&part[..n]);
                        (at, part) = (at + n, &part[n..]);
                        if part.is_empty() {
                            continue;
                        }
                    }
                    // SAFETY: `addr` is the entry's payload (PAYLOAD bytes, which `total`
                    // keeps within), which nothing else reads or writes until the reply
                    // is taken: the request it answers lies wholly before it.
                    unsafe {
                        let to = (addr as *mut u8).add(at - OUT_HEADER);
                        std::ptr::copy_nonoverlapping(part.as_ptr(), to, part.len());
                    }
                    at += part.len();
                }
                slot.direct_len = Some(total - OUT_HEADER);
            }
            _ => {
                for part in data {
                    slot.bytes.extend_from_slice(part);
                }
            }
        }
        slot.full = true;
        self.answered.notify_one();
        Ok(())
    }
}

/// One registered entry: its buffers stay where the kernel was told they are.
struct Entry {
    headers: Box<Headers>,
    /// `ROOM` bytes, then the payload the kernel reads and writes. Reached only through
    /// raw pointers, as a reply may be written into the payload while the request before it
    /// is borrowed.
    buf: *mut u8,
    iov: Box<[libc::iovec; 2]>,
    sink: Arc<Sink>,
}

/// The entry buffer's layout: page-aligned, so that a request rebuilt at `ROOM` minus its
/// header and 8-byte-multiple arguments is 8-aligned, as fuser reads it.
fn buf_layout() -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(ROOM + PAYLOAD, 4096).expect("a valid layout")
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.sink.slot.lock().direct = None;
        // SAFETY: `buf` came from alloc_zeroed with this layout.
        unsafe { std::alloc::dealloc(self.buf, buf_layout()) };
    }
}

impl Entry {
    fn new() -> Entry {
        // SAFETY: the layout has a non-zero size.
        let buf = unsafe { std::alloc::alloc_zeroed(buf_layout()) };
        if buf.is_null() {
            std::alloc::handle_alloc_error(buf_layout());
        }
        let mut e = Entry {
            // SAFETY: Headers is plain bytes and integers, for which zero is valid.
            headers: Box::new(unsafe { std::mem::zeroed() }),
            buf,
            iov: Box::new(
                [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; 2],
            ),
            sink: Arc::default(),
        };
        e.iov[0] = libc::iovec {
            iov_base: (&mut *e.headers as *mut Headers).cast(),
            iov_len: std::mem::size_of::<Headers>(),
        };
        e.iov[1] = libc::iovec {
            iov_base: e.payload().cast(),
            iov_len: PAYLOAD,
        };
        e
    }

    fn payload(&self) -> *mut u8 {
        // SAFETY: ROOM lies inside buf.
        unsafe { self.buf.add(ROOM) }
    }

    /// The request the kernel left in the entry, laid out as `/dev/fuse` gives it.
    fn request(&self) -> Option<&[u8]> {
        let payload = self.headers.payload_sz as usize;
        let h = &self.headers.in_out;
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        // The header's length counts the operation's arguments, which come apart from the
        // payload: what it counts past the header and the payload is their size.
        let args = len.checked_sub(IN_HEADER + payload)?;
        // Every operation's arguments are whole 8-byte words; others would leave the
        // rebuilt request unaligned.
        if args > self.headers.op_in.len() || payload > PAYLOAD || args % 8 != 0 {
            return None;
        }
        let start = ROOM - IN_HEADER - args;
        // SAFETY: start..ROOM + payload lies inside buf, and the copies fill start..ROOM
        // from the header buffer, which does not overlap it.
        unsafe {
            let at = self.buf.add(start);
            std::ptr::copy_nonoverlapping(h.as_ptr(), at, IN_HEADER);
            let args_at = at.add(IN_HEADER);
            std::ptr::copy_nonoverlapping(self.headers.op_in.as_ptr(), args_at, args);
            Some(std::slice::from_raw_parts(at, ROOM + payload - start))
        }
    }

    /// Lets the reply go straight into the payload if the request has none there.
    fn offer_payload(&self) {
        let free = self.headers.payload_sz == 0;
        self.sink.slot.lock().direct = free.then(|| self.payload() as usize);
    }

    /// Puts `reply` (`fuse_out_header`, then its arguments) where the kernel reads it.
    fn put_reply(&mut self, reply: &[u8]) {
        let body = &reply[OUT_HEADER..];
        self.headers.in_out[..OUT_HEADER].copy_from_slice(&reply[..OUT_HEADER]);
        // SAFETY: callers keep body within PAYLOAD; the request is no longer borrowed.
        unsafe { std::ptr::copy_nonoverlapping(body.as_ptr(), self.payload(), body.len()) };
        self.headers.payload_sz = body.len() as u32;
    }

    /// An error reply to the request with id `unique`, for a request nobody could answer.
    fn put_error(&mut self, unique: u64, errno: i32) {
        {
            let mut slot = self.sink.slot.lock();
            slot.direct = None;
            slot.full = false;
        }
        let mut reply = [0u8; OUT_HEADER];
        reply[..4].copy_from_slice(&(OUT_HEADER as u32).to_ne_bytes());
        reply[4..8].copy_from_slice(&(-errno).to_ne_bytes());
        reply[8..].copy_from_slice(&unique.to_ne_bytes());
        self.put_reply(&reply);
    }

    /// The kernel's operation code of the request in the entry.
    fn opcode(&self) -> u32 {
        let h = &self.headers.in_out;
        u32::from_ne_bytes([h[4], h[5], h[6], h[7]])
    }

    /// Moves the reply into place once it came: served requests are waited for (most are
    /// answered before `dispatch` returns); others get whatever reply they left (fuser's
    /// EIO for a handler that panicked) or EIO.
    fn finish(&mut self, served: bool, commit_id: u64) {
        // Forgets expect no reply, so none is waited for (the kernel sends them over
        // /dev/fuse today).
        let expects = !matches!(self.opcode(), FUSE_FORGET | FUSE_BATCH_FORGET);
        let full = self.sink.slot.lock().full;
        if (served && expects) || full {
            self.take_reply();
        } else {
            self.put_error(commit_id, if served { 0 } else { libc::EIO });
        }
    }

    /// Waits for the reply (most come before `dispatch` returns) and moves it into place.
    fn take_reply(&mut self) {
        let sink = self.sink.clone();
        let mut slot = sink.slot.lock();
        while !slot.full {
            sink.answered.wait(&mut slot);
        }
        slot.full = false;
        slot.direct = None;
        if let Some(n) = slot.direct_len.take() {
            self.headers.in_out[..OUT_HEADER].copy_from_slice(&slot.header);
            self.headers.payload_sz = n as u32;
        } else if slot.bytes.len() < OUT_HEADER || slot.bytes.len() - OUT_HEADER > PAYLOAD {
            let unique = self.headers.commit_id;
            drop(slot);
            self.put_error(unique, libc::EIO);
        } else {
            self.put_reply(&slot.bytes);
        }
    }
}

/// `struct fuse_uring_cmd_req`, in an entry's command bytes.
fn command(qid: u16, commit_id: u64) -> [u8; 80] {
    let mut cmd = [0u8; 80];
    cmd[8..16].copy_from_slice(&commit_id.to_ne_bytes());
    cmd[16..18].copy_from_slice(&qid.to_ne_bytes());
    cmd
}

/// The CPUs the kernel may run a caller on (its queues are numbered by them).
fn possible_cpus() -> usize {
    let listed = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            let last = s.trim().rsplit([',', '-']).next()?.parse::<usize>().ok()?;
            Some(last + 1)
        });
    // SAFETY: sysconf has no preconditions.
    listed.unwrap_or_else(|| unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as usize)
}

/// Starts one serving thread per CPU on the session's `/dev/fuse` file `dev`, and their
/// watch (`sched`); returns once every queue has its entries registered, or the one line
/// telling why one could not. They end when the connection does. `abort` is the
/// connection's abort file (`/sys/fs/fuse/connections/N/abort`): a queue that fails while
/// mounted ends the connection with it, as the kernel would keep its CPU's callers waiting
/// on it for good.
pub fn serve<FS: Filesystem>(
    dev: OwnedFd,
    dispatcher: Dispatcher<FS>,
    abort: Option<PathBuf>,
) -> Result<(), String> {
    let dev = Arc::new(dev);
    let dispatcher = Arc::new(dispatcher);
    let abort = Arc::new(abort);
    let queues = possible_cpus();
    let threads = sched::Threads::new(queues);
    SERVING.store(true, Ordering::Relaxed);
    let (ready, started) = mpsc::channel();
    for qid in 0..queues {
        let (dev, dispatcher, mine) = (dev.clone(), dispatcher.clone(), threads.clone());
        let (ready, abort) = (ready.clone(), abort.clone());
        std::thread::Builder::new()
            .name(format!("uring-{qid}"))
            .spawn(move || {
                mine.settle(qid, qid);
                if let Err(e) = serve_queue(qid as u16, &dev, &dispatcher, ready) {
                    error!("uring queue {qid}: {e}; ending the connection");
                    if let Some(a) = abort.as_ref() {
                        if let Err(e) = std::fs::write(a, "1") {
                            error!("cannot end the connection ({}): {e}", a.display());
                        }
                    }
                }
                mine.leave(qid);
            })
            .map_err(|e| format!("cannot serve over io_uring: a thread: {e}"))?;
    }
    for _ in 0..queues {
        match started.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("cannot serve over io_uring: {e}")),
            Err(_) => return Err("cannot serve over io_uring: a queue did not start".into()),
        }
    }
    sched::watch(threads);
    info!("serving over io_uring, {queues} queues of {DEPTH}");
    Ok(())
}

type Ring = IoUring<squeue::Entry128, cqueue::Entry>;

/// Registers queue `qid`'s entries, says on `ready` whether the kernel took them, then
/// serves until the connection ends.
fn serve_queue<FS: Filesystem>(
    qid: u16,
    dev: &OwnedFd,
    dispatcher: &Dispatcher<FS>,
    ready: mpsc::Sender<Result<(), String>>,
) -> io::Result<()> {
    ON_RING.with(|r| r.set(true));
    let fd = types::Fd(dev.as_raw_fd());
    // The kernel may write into an entry until it completes with the connection's end,
    // whatever this thread meets first: the entries are never freed (the daemon ends
    // with its mount).
    let entries: &mut [Entry] =
        Box::leak((0..DEPTH).map(|_| Entry::new()).collect::<Box<[Entry]>>());
    let (mut ring, mut done) = match register(qid, fd, entries) {
        Ok(r) => {
            let _ = ready.send(Ok(()));
            r
        }
        // Unmounted already: nothing to serve, and nothing wrong.
        Err(e) if e.raw_os_error().is_some_and(connection_ended) => {
            let _ = ready.send(Ok(()));
            return Ok(());
        }
        Err(e) => {
            let _ = ready.send(Err(format!(
                "queue {qid}: {}",
                crate::host::plain_message(&e)
            )));
            return Ok(());
        }
    };
    loop {
        let batch = done.len();
        for (k, (i, res)) in done.drain(..).enumerate() {
            if res < 0 {
                return match -res {
                    errno if connection_ended(errno) => Ok(()),
                    errno => Err(io::Error::from_raw_os_error(errno)),
                };
            }
            SERVED.fetch_add(1, Ordering::Relaxed);
            let e = entries
                .get_mut(i)
                .ok_or_else(|| io::Error::other("unknown entry"))?;
            let commit_id = e.headers.commit_id;
            let sink: Arc<dyn ReplySink> = e.sink.clone();
            e.offer_payload();
            // A handler that panics answers EIO; the queue goes on serving.
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                e.request()
                    .is_some_and(|req| dispatcher.dispatch(req, sink))
            }))
            .unwrap_or_else(|_| {
                error!("uring queue {qid}: a request's handler panicked");
                false
            });
            if !served {
                warn!("uring queue {qid}: a request not served, answered EIO");
            }
            e.finish(served, commit_id);
            let sqe = opcode::UringCmd80::new(fd, CMD_COMMIT_AND_FETCH)
                .cmd(command(qid, commit_id))
                .build()
                .user_data(i as u64);
            push(&mut ring, sqe)?;
            // Handed back before the next request of the batch is served; the last one
            // goes with the wait below.
            if k + 1 < batch {
                ring.submit()?;
            }
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
        done.extend(
            ring.completion()
                .map(|c| (c.user_data() as usize, c.result())),
        );
    }
}

/// A ring with queue `qid`'s `entries` registered, and what completed meanwhile. A
/// registration the kernel refuses completes as it is submitted, with its error; one it
/// takes completes with a request.
fn register(
    qid: u16,
    fd: types::Fd,
    entries: &mut [Entry],
) -> io::Result<(Ring, Vec<(usize, i32)>)> {
    let size = (DEPTH * 2) as u32;
    // One thread submits and reaps, so completions can wait for it to ask (fewer
    // interruptions); kernels without these flags get a plain ring.
    let mut ring: Ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(size)
        .or_else(|_| IoUring::builder().build(size))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => io::Error::other(
                "io_uring is off for this process (sysctl kernel.io_uring_disabled)",
            ),
            _ => e,
        })?;
    for (i, e) in entries.iter_mut().enumerate() {
        let sqe = opcode::UringCmd80::new(fd, CMD_REGISTER)
            .cmd(command(qid, 0))
            .addr(Some(e.iov.as_ptr() as u64))
            .build()
            .user_data(i as u64);
        push(&mut ring, with_len(sqe, 2))?;
    }
    ring.submit()?;
    let done: Vec<(usize, i32)> = ring
        .completion()
        .map(|c| (c.user_data() as usize, c.result()))
        .collect();
    if let Some((_, res)) = done.iter().find(|(_, res)| *res < 0) {
        return Err(io::Error::from_raw_os_error(-res));
    }
    Ok((ring, done))
}

/// Whether a ring command's error means the connection ended (unmounted or aborted).
fn connection_ended(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOTCONN | libc::ECANCELED | libc::ENODEV | libc::ECONNABORTED
    )
}

/// Sets an entry's `len` field (the register command's count of buffers), which the
/// builder leaves at zero.
fn with_len(sqe: squeue::Entry128, len: u32) -> squeue::Entry128 {
    // SAFETY: Entry128 is the kernel's 128-byte SQE (repr(C)); `len` is the u32 at byte 24.
    unsafe {
        let mut bytes: [u8; 128] = std::mem::transmute(sqe);
        bytes[24..28].copy_from_slice(&len.to_ne_bytes());
        std::mem::transmute::<[u8; 128], squeue::Entry128>(bytes)
    }
}

fn push(
    ring: &mut IoUring<squeue::Entry128, cqueue::Entry>,
    sqe: squeue::Entry128,
) -> io::Result<()> {
    // SAFETY: every buffer an entry names lives in `entries`, which outlives the ring.
    while unsafe { ring.submission().push(&sqe) }.is_err() {
        ring.submit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_are_laid_out_as_the_kernel_reads_them() {
        assert_eq!(std::mem::size_of::<Headers>(), 288);
        assert_eq!(std::mem::offset_of!(Headers, payload_sz), 272);
    }

    #[test]
    fn a_request_is_rebuilt_whole_and_a_reply_split_back() {
        let mut e = Entry::new();
        // A write of 5 bytes: 40-byte header, 40-byte fuse_write_in, payload.
        let len = (IN_HEADER + 40 + 5) as u32;
        e.headers.in_out[..4].copy_from_slice(&len.to_ne_bytes());
        e.headers.in_out[4] = 16;
        e.headers.op_in[..40].copy_from_slice(&[7u8; 40]);
        e.headers.payload_sz = 5;
        // SAFETY: the payload has room for 5 bytes.
        unsafe { std::ptr::copy_nonoverlapping(b"hello".as_ptr(), e.payload(), 5) };
        let req = e.request().expect("a request").to_vec();
        assert_eq!(req.len(), len as usize);
        assert_eq!(&req[..4], &len.to_ne_bytes());
        assert_eq!(req[4], 16);
        assert_eq!(&req[IN_HEADER..IN_HEADER + 40], &[7u8; 40]);
        assert_eq!(&req[IN_HEADER + 40..], b"hello");

        // A header that counts less than the payload is refused, not read past.
        e.headers.payload_sz = 100;
        assert!(e.request().is_none());

        let mut reply = vec![1u8; OUT_HEADER];
        reply.extend_from_slice(b"attr");
        e.sink
            .send(&[IoSlice::new(&reply[..OUT_HEADER]), IoSlice::new(b"attr")])
            .unwrap();
        e.take_reply();
        assert_eq!(&e.headers.in_out[..OUT_HEADER], &[1u8; OUT_HEADER]);
        assert_eq!(e.headers.payload_sz, 4);
        assert_eq!(payload(&e, 4), b"attr");

        e.put_error(9, libc::ENOENT);
        assert_eq!(&e.headers.in_out[4..8], &(-libc::ENOENT).to_ne_bytes());
        assert_eq!(&e.headers.in_out[8..16], &9u64.to_ne_bytes());
        assert_eq!(e.headers.payload_sz, 0);
    }

    fn payload(e: &Entry, n: usize) -> &[u8] {
        // SAFETY: n is within the payload.
        unsafe { std::slice::from_raw_parts(e.payload(), n) }
    }

    #[test]
    fn a_reply_to_a_request_without_payload_goes_straight_into_it() {
        let mut e = Entry::new();
        e.headers.payload_sz = 0;
        e.offer_payload();
        // The out-header split over two slices, then the data in two more.
        let header = [3u8; OUT_HEADER];
        e.sink
            .send(&[
                IoSlice::new(&header[..10]),
                IoSlice::new(&header[10..]),
                IoSlice::new(b"read "),
                IoSlice::new(b"data"),
            ])
            .unwrap();
        assert!(e.sink.slot.lock().bytes.is_empty(), "copied aside");
        e.take_reply();
        assert_eq!(&e.headers.in_out[..OUT_HEADER], &header);
        assert_eq!(e.headers.payload_sz, 9);
        assert_eq!(payload(&e, 9), b"read data");

        // A request with payload (a write) keeps its bytes: the reply is copied aside first.
        e.headers.payload_sz = 3;
        e.offer_payload();
        e.sink
            .send(&[IoSlice::new(&header), IoSlice::new(b"xy")])
            .unwrap();
        assert_eq!(e.sink.slot.lock().bytes.len(), OUT_HEADER + 2);
        assert_eq!(payload(&e, 9), b"read data");
        e.take_reply();
        assert_eq!(e.headers.payload_sz, 2);
        assert_eq!(payload(&e, 2), b"xy");
    }

    #[test]
    fn requests_not_served_get_an_answer_without_waiting() {
        let mut e = Entry::new();
        // Nothing answered (a request that could not be read): EIO.
        e.finish(false, 5);
        assert_eq!(&e.headers.in_out[4..8], &(-libc::EIO).to_ne_bytes());
        assert_eq!(&e.headers.in_out[8..16], &5u64.to_ne_bytes());

        // A handler that panicked after fuser answered EIO for it: that answer is taken.
        let mut header = [0u8; OUT_HEADER];
        header[4..8].copy_from_slice(&(-libc::EIO).to_ne_bytes());
        header[8..].copy_from_slice(&6u64.to_ne_bytes());
        e.sink.send(&[IoSlice::new(&header)]).unwrap();
        e.finish(false, 6);
        assert_eq!(&e.headers.in_out[..OUT_HEADER], &header);
        assert!(!e.sink.slot.lock().full);

        // A forget expects no reply: nothing is waited for.
        e.headers.in_out[4..8].copy_from_slice(&FUSE_FORGET.to_ne_bytes());
        e.finish(true, 7);
        assert_eq!(&e.headers.in_out[4..8], &0i32.to_ne_bytes());
    }

    #[test]
    fn arguments_that_are_not_whole_words_are_refused() {
        let mut e = Entry::new();
        let len = (IN_HEADER + 12) as u32;
        e.headers.in_out[..4].copy_from_slice(&len.to_ne_bytes());
        e.headers.payload_sz = 0;
        assert!(e.request().is_none());
        let len = (IN_HEADER + 16) as u32;
        e.headers.in_out[..4].copy_from_slice(&len.to_ne_bytes());
        let req = e.request().expect("a request");
        assert_eq!(req.as_ptr() as usize % 8, 0, "rebuilt unaligned");
    }

    #[test]
    fn the_switch_is_read_and_named_when_off() {
        let dir = tempfile::tempdir().unwrap();
        let switch = dir.path().join("enable_uring");
        assert!(
            check_switch_at(&switch).is_err(),
            "a kernel without the switch"
        );
        std::fs::write(&switch, "N\n").unwrap();
        let e = check_switch_at(&switch).unwrap_err();
        assert!(
            e.contains("echo Y > /sys/module/fuse/parameters/enable_uring"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        std::fs::write(&switch, "Y\n").unwrap();
        assert_eq!(check_switch_at(&switch), Ok(()));
    }

    #[test]
    fn the_command_carries_the_queue_and_the_commit_id() {
        let c = command(3, 0x1122);
        assert_eq!(&c[8..16], &0x1122u64.to_ne_bytes());
        assert_eq!(&c[16..18], &3u16.to_ne_bytes());
        assert!(c[..8].iter().chain(&c[18..]).all(|&b| b == 0));
    }
}
