//! Notices between mounts of one prefix. Each change this mount makes to a name or to an
//! inode's attributes is published on `{P}:notices:1:<db>`, batched on a thread of its own
//! (never on the caller's round trip); every other mount drops what its kernel and its own
//! caches hold of them as the notice arrives. While a mount hears the notices it lets its
//! kernel keep names and attributes `NOTICED_TTL` instead of `ATTR_TTL`: a `stat` of a name
//! looked up a few seconds ago asks nothing, and another mount's change still shows within
//! a notice's travel time. A mount hears while its own beat comes back; after a gap in its
//! subscription its kernel drops every name (`Foreign::Everything`), and so does every
//! mount's after a change whose answer was lost (`Inner::tell_lost_answer`). A notice lost
//! otherwise (a mount killed between a change and its notice) leaves what the kernel holds
//! stale for at most `NOTICED_TTL`. One server only: on a cluster the kernel keeps
//! `ATTR_TTL`.

use super::*;

/// How long the kernel may keep names and attributes while this mount hears notices: as
/// long as NFS's longest attribute cache, where the kernel drops every name at once after a
/// gap in the notices (`FUSE_NOTIFY_INC_EPOCH`, Linux 6.16); older kernels let names only
/// age out, so they keep them `NOTICED_TTL_OLD`. Only a notice lost for good (a mount killed
/// between a change and its notice) leaves a name that long stale.
pub(super) fn noticed_ttl() -> Duration {
    static TTL: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *TTL.get_or_init(|| {
        if kernel_at_least(6, 16) {
            NOTICED_TTL
        } else {
            NOTICED_TTL_OLD
        }
    })
}

/// `noticed_ttl` where a gap in the notices drops every name at once.
const NOTICED_TTL: Duration = Duration::from_secs(60);
/// `noticed_ttl` on kernels where names only age out after a gap.
const NOTICED_TTL_OLD: Duration = Duration::from_secs(10);

/// Whether the running kernel's release is at least `major.minor` (unreadable: no).
fn kernel_at_least(major: u32, minor: u32) -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|r| release_at_least(r.trim(), major, minor))
}

/// `6.18.0-1-amd64` and the like, compared as numbers.
fn release_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// A mount alone on the prefix publishes its notices only with its beat (its own listener
/// is the only one), and asks again this often whether another has come.
const ALONE_RECHECK: Duration = Duration::from_secs(1);

/// A new mount greets the others as it starts listening, and keeps `ATTR_TTL` this long
/// after: a mount that thought itself alone publishes again within `ALONE_RECHECK`, and
/// what it did not publish meanwhile only touches names this mount keeps `ATTR_TTL`.
const GREETING: Duration = Duration::from_secs(2);

/// A name in a directory (`N`), an inode's attributes (`A`) or every name (`E`), as
/// published: `N <parent: u64 LE> <name> NUL`, `A <ino: u64 LE>` or `E`, after
/// `<token> LF` (`Notices::token`). A mount that does not know a tag drops every name.
fn encode(out: &mut Vec<u8>, f: &Foreign) {
    match f {
        Foreign::Name(p, n) => {
            out.push(b'N');
            out.extend_from_slice(&p.to_le_bytes());
            out.extend_from_slice(n.as_bytes());
            out.push(0);
        }
        Foreign::Attrs(i) => {
            out.push(b'A');
            out.extend_from_slice(&i.to_le_bytes());
        }
        Foreign::Everything => out.push(b'E'),
    }
}

/// The notices of one message (None: garbled).
fn decode(msg: &[u8]) -> Option<Vec<Foreign>> {
    let at = msg.iter().position(|&b| b == b'\n')?;
    let mut rest = &msg[at + 1..];
    let mut out = Vec::new();
    while let Some((&tag, tail)) = rest.split_first() {
        if tag == b'E' {
            out.push(Foreign::Everything);
            rest = tail;
            continue;
        }
        let ino = Ino::from_le_bytes(tail.get(..8)?.try_into().ok()?);
        rest = &tail[8..];
        match tag {
            b'A' => out.push(Foreign::Attrs(ino)),
            b'N' => {
                let end = rest.iter().position(|&b| b == 0)?;
                out.push(Foreign::Name(
                    ino,
                    OsStr::from_bytes(&rest[..end]).to_os_string(),
                ));
                rest = &rest[end + 1..];
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Notices queued and not yet published; an inode's attributes once however often they
/// changed meanwhile (a run of writes).
#[derive(Default)]
struct Queued {
    records: Vec<u8>,
    attrs: HashSet<Ino>,
}

pub(super) struct Notices {
    /// Off on a cluster, and once Redis refused a publication (its ACL, a renamed
    /// command): nothing is queued or published, and the kernel keeps `ATTR_TTL`.
    enabled: AtomicBool,
    /// This process's mark on its messages: a session id may come again (a revived or
    /// restored prefix), this does not.
    token: String,
    queued: Mutex<Queued>,
    /// Wakes the publishing thread when the queue was empty.
    wake: Mutex<mpsc::Sender<()>>,
    state: Mutex<State>,
    /// Other mounts' notices heard so far: a reply read from Redis before one arrived may
    /// be stale, and the kernel keeps it only `ATTR_TTL` (see `kernel_ttl`).
    heard: AtomicU64,
    /// Messages heard from other mounts (greetings too): a publication that found no other
    /// listener proves this mount alone only if none came in the meantime.
    others_heard: AtomicU64,
    /// The store is being dropped: the threads end.
    closing: AtomicBool,
    tell: std::sync::OnceLock<TellKernel>,
    channel: String,
}

#[derive(Default)]
struct State {
    /// Since when the subscription is up (None while it is not).
    listening: Option<Instant>,
    /// When this mount last heard its own message back (its beat or its notices).
    own_heard: Option<Instant>,
    /// When a publication last found no other mount listening (None: others listen).
    alone: Option<Instant>,
    /// When this mount last published.
    published: Option<Instant>,
    /// The subscription was up before (a new one follows a gap).
    listened: bool,
}

/// Notices queued beyond this (Redis unreachable for long) are dropped: the other mounts
/// hold what they concern `NOTICED_TTL` at most.
const QUEUE_MAX: usize = 4 << 20;

impl Notices {
    /// The notices' state, and the end the publishing thread reads.
    pub(super) fn new(channel: String, enabled: bool) -> (Notices, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let n = Notices {
            enabled: AtomicBool::new(enabled),
            token: format!("{:016x}", random_u64()),
            queued: Mutex::default(),
            wake: Mutex::new(tx),
            state: Mutex::default(),
            heard: AtomicU64::new(0),
            others_heard: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            tell: std::sync::OnceLock::new(),
            channel,
        };
        (n, rx)
    }

    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    fn alone(&self) -> bool {
        let st = self.state.lock();
        st.alone.is_some_and(|t| t.elapsed() < ALONE_RECHECK)
    }

    /// Queues notices of this mount's changes for the other mounts. Alone, the publishing
    /// thread is not woken: the queue goes with the next beat.
    pub(super) fn send(&self, changed: &[Foreign]) {
        if !self.enabled() {
            return;
        }
        let alone = self.alone();
        let mut q = self.queued.lock();
        let was_empty = q.records.is_empty();
        for f in changed {
            match f {
                Foreign::Attrs(0) | Foreign::Name(0, _) => continue,
                Foreign::Attrs(i) if !q.attrs.insert(*i) => continue,
                _ => {}
            }
            encode(&mut q.records, f);
        }
        if was_empty && !q.records.is_empty() && !alone {
            let _ = self.wake.lock().send(());
        }
    }

    /// Takes what is queued.
    fn take(&self) -> Vec<u8> {
        let mut q = self.queued.lock();
        q.attrs.clear();
        std::mem::take(&mut q.records)
    }

    /// Other mounts' notices heard so far.
    pub(super) fn heard(&self) -> u64 {
        self.heard.load(Ordering::Acquire)
    }

    /// Whether every other mount's changes reach this one (so the kernel may keep long):
    /// listening past the greeting, and this mount's own messages come back.
    pub(super) fn hearing(&self) -> bool {
        if !self.enabled() {
            return false;
        }
        let st = self.state.lock();
        st.listening.is_some_and(|t| t.elapsed() >= GREETING)
            && st.own_heard.is_some_and(|t| t.elapsed() < 3 * BEAT)
    }

    pub(super) fn set_tell(&self, tell: TellKernel) {
        let _ = self.tell.set(tell);
    }

    /// Publishes what is still queued, and ends the threads.
    pub(super) fn close(&self, pool: &Pool) {
        if !self.enabled() {
            return;
        }
        self.closing.store(true, Ordering::Release);
        let _ = self.wake.lock().send(());
        self.publish(pool, self.take());
    }

    /// Redis refused a publication or the subscription: notices are off for good.
    fn refused(&self, e: &RedisError) {
        if self.enabled.swap(false, Ordering::AcqRel) {
            warn!(
                "Redis refused the notices between mounts ({e}): they are off, and names \
                 and attributes are kept {} s",
                ATTR_TTL.as_secs()
            );
        }
        self.take();
    }

    /// Publishes `records` (none: a beat or a greeting) and notes whether any other mount
    /// listens.
    fn publish(&self, pool: &Pool, records: Vec<u8>) {
        let mut msg = Vec::with_capacity(self.token.len() + 1 + records.len());
        msg.extend_from_slice(self.token.as_bytes());
        msg.push(b'\n');
        msg.extend_from_slice(&records);
        let others_before = self.others_heard.load(Ordering::Acquire);
        let listening_before = self.state.lock().listening;
        let sent = Instant::now();
        let heard_by = pool.run(false, |c| {
            ::redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(&msg)
                .query::<i64>(c)
        });
        let k = match heard_by {
            Ok(k) => k,
            Err(Failure::Server(e)) => {
                self.refused(&e);
                return;
            }
            Err(_) => {
                // Sent with the next ones (the others hold the old state meanwhile).
                let mut q = self.queued.lock();
                if q.records.len() + records.len() <= QUEUE_MAX {
                    let later = std::mem::replace(&mut q.records, records);
                    q.records.extend_from_slice(&later);
                } else {
                    // Too many to keep: the others drop every name instead.
                    q.records.clear();
                    q.attrs.clear();
                    encode(&mut q.records, &Foreign::Everything);
                }
                return;
            }
        };
        let mut st = self.state.lock();
        st.published = Some(sent);
        // This mount's own listener counts in `k` only if it was up throughout and hears.
        let mine_sure = listening_before.is_some()
            && st.listening == listening_before
            && st.own_heard.is_some_and(|t| t.elapsed() < BEAT + BEAT / 2);
        let greeted = self.others_heard.load(Ordering::Acquire) != others_before;
        let alone = !greeted && (k == 0 || (k == 1 && mine_sure));
        st.alone = alone.then_some(sent);
    }
}

/// Eight bytes from the kernel's random pool (else the clock and the pid, enough to tell
/// two processes apart).
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: the buffer is 8 bytes long, as said.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 8 {
        return u64::from_le_bytes(b);
    }
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32)
}

/// How often a mount publishes at least something (a beat when it has nothing to say): its
/// own messages coming back show its listener hears, and a mount alone asks again whether
/// another has come.
const BEAT: Duration = Duration::from_secs(1);

/// How long the publishing thread lets notices gather once woken: a change a few hundred
/// µs after another goes in the same message, not a `PUBLISH` and a thread switch of its
/// own. The other mounts hear of it that much later, well inside their kernels' 1 s.
const GATHER: Duration = Duration::from_millis(2);

/// The publishing thread: sends what is queued in one message each time it is woken, and
/// a beat (with whatever a mount alone queued) when nothing was sent for that long.
pub(super) fn publish(weak: Weak<Inner>, wake: mpsc::Receiver<()>) {
    loop {
        let woken = wake.recv_timeout(BEAT);
        if woken == Err(mpsc::RecvTimeoutError::Disconnected) {
            return;
        }
        if woken.is_ok() {
            std::thread::sleep(GATHER);
        }
        let Some(inner) = weak.upgrade() else { return };
        let n = &inner.notices;
        if n.closing.load(Ordering::Acquire) || !n.enabled() {
            return;
        }
        let beat_due = n.state.lock().published.is_none_or(|t| t.elapsed() >= BEAT);
        if beat_due || !n.alone() {
            n.publish(&inner.pool, n.take());
        }
    }
}

/// The listening thread: one connection subscribed to the notices, made again when it
/// breaks or falls silent (this mount's own beats stop coming back).
pub(super) fn listen(weak: Weak<Inner>, client: ::redis::Client, timeout: Duration) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.notices.closing.load(Ordering::Acquire) || !inner.notices.enabled() {
            return;
        }
        let con = client.get_connection_with_timeout(timeout);
        let mut con = match con {
            Ok(c) => c,
            Err(e) => {
                debug!("notices: cannot connect: {e}");
                drop(inner);
                std::thread::sleep(BEAT);
                continue;
            }
        };
        let mut ps = con.as_pubsub();
        // Beats come every second: three missed and no answer to a ping mean the
        // connection is dead or hung.
        let subscribed = ps
            .set_read_timeout(Some(3 * BEAT))
            .and_then(|()| ps.subscribe(&inner.notices.channel));
        if let Err(e) = subscribed {
            if e.code().is_some() {
                inner.notices.refused(&e);
                return;
            }
            debug!("notices: cannot subscribe: {e}");
            drop(inner);
            std::thread::sleep(BEAT);
            continue;
        }
        let again = {
            let mut st = inner.notices.state.lock();
            st.listening = Some(Instant::now());
            std::mem::replace(&mut st.listened, true)
        };
        // What went by while the connection was down is not known: the kernel looks every
        // name up again (and keeps names ATTR_TTL meanwhile, until the greeting is over).
        if again {
            inner.heard(&[Foreign::Everything]);
        }
        // The greeting: a mount that thought itself alone publishes again.
        inner.notices.publish(&inner.pool, Vec::new());
        let own = format!("{}\n", inner.notices.token);
        drop(inner);
        loop {
            let msg = ps.get_message();
            let Some(inner) = weak.upgrade() else { return };
            let n = &inner.notices;
            if n.closing.load(Ordering::Acquire) {
                return;
            }
            match msg {
                Ok(m) => {
                    let msg = m.get_payload_bytes();
                    if msg.starts_with(own.as_bytes()) {
                        n.state.lock().own_heard = Some(Instant::now());
                        continue;
                    }
                    n.others_heard.fetch_add(1, Ordering::AcqRel);
                    n.state.lock().alone = None;
                    match decode(msg) {
                        Some(changed) => inner.heard(&changed),
                        None => {
                            debug!("notices: a message not understood: every name dropped");
                            inner.heard(&[Foreign::Everything]);
                        }
                    }
                }
                // Quiet for three beats: a ping tells a live connection from a dead one.
                Err(e) if e.is_timeout() && ps.ping::<Value>().is_ok() => {}
                Err(e) => {
                    {
                        let mut st = n.state.lock();
                        st.listening = None;
                        st.own_heard = None;
                    }
                    inner.heard(&[Foreign::Everything]);
                    info!("notices from other mounts lost ({e}); listening again");
                    break;
                }
            }
        }
    }
}

impl Inner {
    /// Another mount changed these (or Redis lost them): this mount's caches and its
    /// kernel let them go.
    pub(super) fn heard(&self, changed: &[Foreign]) {
        if changed.is_empty() {
            return;
        }
        // First: a reply read before this and answered after is kept short.
        self.notices.heard.fetch_add(1, Ordering::AcqRel);
        for f in changed {
            match f {
                Foreign::Attrs(i) => {
                    self.prefetch.forget(*i);
                    self.dirs.foreign(*i);
                    self.bare.end(*i);
                    self.behind.unmade(Some(*i));
                    // A build that tells a new name only as its directory's change.
                    self.known.forget(*i);
                }
                Foreign::Name(p, _) => {
                    self.dirs.foreign(*p);
                    self.known.forget(*p);
                }
                Foreign::Everything => {
                    self.prefetch.forget_all();
                    self.dirs.clear();
                    self.known.clear();
                    self.behind.unmade(None);
                }
            }
        }
        if let Some(tell) = self.notices.tell.get() {
            tell(changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let sent = vec![
            Foreign::Name(7, OsString::from("a b\nc")),
            Foreign::Attrs(u64::MAX),
            Foreign::Everything,
            Foreign::Name(1, OsString::from("")),
        ];
        let mut msg = b"12\n".to_vec();
        for f in &sent {
            encode(&mut msg, f);
        }
        assert_eq!(decode(&msg), Some(sent));
        assert_eq!(decode(b"12\n"), Some(vec![]));
        assert_eq!(decode(&msg[..msg.len() - 3]), None, "cut short");
        assert_eq!(decode(b"12\nX"), None, "a tag not known");
    }

    #[test]
    fn kernel_releases_compare_as_numbers() {
        assert!(release_at_least("6.18.0-1-amd64", 6, 16));
        assert!(release_at_least("6.16", 6, 16));
        assert!(release_at_least("7.0.1", 6, 16));
        assert!(!release_at_least("6.9.12", 6, 16), "9 < 16 as numbers");
        assert!(!release_at_least("5.19.0", 6, 16));
        assert!(!release_at_least("garbled", 6, 16));
        assert!(!release_at_least("6", 6, 16));
    }
}
