//! Notices between mounts of one prefix. Each change this mount makes to a name or to an
//! inode's attributes is published on `{P}:notices`, batched on a thread of its own (never
//! on the caller's round trip); every other mount drops what its kernel and its own caches
//! hold of them as the notice arrives. While a mount hears the notices it lets its kernel
//! keep names and attributes `NOTICED_TTL` instead of `ATTR_TTL`: a `stat` of a name looked
//! up a few seconds ago asks nothing, and another mount's change still shows within a
//! notice's travel time. A notice lost (the subscription broke, Redis restarted) leaves
//! what the kernel holds stale for at most `NOTICED_TTL`. One server only: on a cluster the
//! kernel keeps `ATTR_TTL`.

use super::*;

/// How long the kernel may keep names and attributes while this mount hears notices.
pub const NOTICED_TTL: Duration = Duration::from_secs(10);

/// A mount alone on the prefix publishes nothing (its own listener is the only one), but
/// asks again this often whether another has come.
const ALONE_RECHECK: Duration = Duration::from_secs(1);

/// A new mount greets the others as it starts listening, and keeps `ATTR_TTL` this long
/// after: a mount that thought itself alone publishes again within `ALONE_RECHECK`, and
/// what it did not publish meanwhile only touches names this mount keeps `ATTR_TTL`.
const GREETING: Duration = Duration::from_secs(2);

/// A name in a directory (`N`) or an inode's attributes (`A`), as published:
/// `N <parent: u64 LE> <name> NUL` or `A <ino: u64 LE>`, after `<session> LF`.
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
    }
}

/// The notices of one message (None: garbled).
fn decode(msg: &[u8]) -> Option<Vec<Foreign>> {
    let at = msg.iter().position(|&b| b == b'\n')?;
    let mut rest = &msg[at + 1..];
    let mut out = Vec::new();
    while let Some((&tag, tail)) = rest.split_first() {
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
    queued: Mutex<Queued>,
    /// Wakes the publishing thread when the queue was empty.
    wake: Mutex<mpsc::Sender<()>>,
    /// Since when the subscription is up (None while it is not).
    listening: Mutex<Option<Instant>>,
    /// When a publication last found no other mount listening (None: others listen).
    alone: Mutex<Option<Instant>>,
    /// The store is being dropped: the listening thread ends at the next message.
    closing: AtomicBool,
    tell: std::sync::OnceLock<TellKernel>,
    channel: String,
}

impl Notices {
    /// The notices' state, and the end the publishing thread reads.
    pub(super) fn new(channel: String) -> (Notices, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let n = Notices {
            queued: Mutex::default(),
            wake: Mutex::new(tx),
            listening: Mutex::new(None),
            alone: Mutex::new(None),
            closing: AtomicBool::new(false),
            tell: std::sync::OnceLock::new(),
            channel,
        };
        (n, rx)
    }

    /// Queues notices of this mount's changes for the other mounts.
    pub(super) fn send(&self, changed: &[Foreign]) {
        let mut q = self.queued.lock();
        let was_empty = q.records.is_empty();
        for f in changed {
            if let Foreign::Attrs(i) = f {
                if !q.attrs.insert(*i) {
                    continue;
                }
            }
            encode(&mut q.records, f);
        }
        if was_empty && !q.records.is_empty() {
            let _ = self.wake.lock().send(());
        }
    }

    /// Takes what is queued.
    fn take(&self) -> Vec<u8> {
        let mut q = self.queued.lock();
        q.attrs.clear();
        std::mem::take(&mut q.records)
    }

    /// Whether every other mount's changes reach this one (so the kernel may keep long).
    pub(super) fn hearing(&self) -> bool {
        self.listening
            .lock()
            .is_some_and(|t| t.elapsed() >= GREETING)
    }

    fn set_listening(&self, on: bool) {
        *self.listening.lock() = on.then(Instant::now);
    }

    pub(super) fn set_tell(&self, tell: TellKernel) {
        let _ = self.tell.set(tell);
    }

    /// Ends the listening thread: it wakes at this mount's own last notice and stops.
    pub(super) fn close(&self, pool: &Pool, sid: &str) {
        self.closing.store(true, Ordering::Release);
        self.send_greeting(pool, sid);
    }

    /// A message of no notices: wakes listeners, this mount's own included.
    fn send_greeting(&self, pool: &Pool, sid: &str) {
        let msg = format!("{sid}\n");
        let _ = pool.run(false, |c| {
            ::redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(&msg)
                .query::<i64>(c)
        });
    }
}

/// The publishing thread: sends what is queued in one message, each time it was woken.
pub(super) fn publish(weak: Weak<Inner>, wake: mpsc::Receiver<()>) {
    while let Ok(()) = wake.recv() {
        let Some(inner) = weak.upgrade() else { return };
        let n = &inner.notices;
        let mut msg = inner.sid.as_bytes().to_vec();
        msg.push(b'\n');
        msg.extend_from_slice(&n.take());
        if n.alone.lock().is_some_and(|t| t.elapsed() < ALONE_RECHECK) {
            continue;
        }
        // Lost with Redis: the others' kernels then keep what they hold at most NOTICED_TTL.
        let heard_by = inner.pool.run(false, |c| {
            ::redis::cmd("PUBLISH")
                .arg(&n.channel)
                .arg(&msg)
                .query::<i64>(c)
        });
        if let Ok(k) = heard_by {
            let mine = i64::from(n.listening.lock().is_some());
            *n.alone.lock() = (k <= mine).then(Instant::now);
        }
    }
}

/// The listening thread: one connection subscribed to the notices, made again when it
/// breaks. Ends when the store is gone (its drop publishes a notice of its own to wake it).
pub(super) fn listen(weak: Weak<Inner>, client: ::redis::Client, timeout: Duration) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.notices.closing.load(Ordering::Acquire) {
            return;
        }
        let con = client.get_connection_with_timeout(timeout);
        let mut con = match con {
            Ok(c) => c,
            Err(e) => {
                debug!("notices: cannot connect: {e}");
                drop(inner);
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        // A subscribed connection waits for notices for as long as none come.
        let _ = con.set_read_timeout(None);
        let mut ps = con.as_pubsub();
        if let Err(e) = ps.subscribe(&inner.notices.channel) {
            debug!("notices: cannot subscribe: {e}");
            drop(inner);
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        inner.notices.set_listening(true);
        // The greeting: a mount that thought itself alone publishes again.
        inner.notices.send_greeting(&inner.pool, &inner.sid);
        let own = format!("{}\n", inner.sid);
        drop(inner);
        loop {
            let msg = ps.get_message();
            let Some(inner) = weak.upgrade() else { return };
            if inner.notices.closing.load(Ordering::Acquire) {
                return;
            }
            match msg {
                Ok(m) => {
                    let msg = m.get_payload_bytes();
                    if !msg.starts_with(own.as_bytes()) {
                        *inner.notices.alone.lock() = None;
                        if let Some(changed) = decode(msg) {
                            inner.heard(&changed);
                        }
                    }
                }
                Err(e) => {
                    inner.notices.set_listening(false);
                    info!("notices from other mounts lost ({e}); listening again");
                    break;
                }
            }
        }
    }
}

impl Inner {
    /// Another mount changed these: this mount's caches and its kernel let them go.
    fn heard(&self, changed: &[Foreign]) {
        for f in changed {
            match f {
                Foreign::Attrs(i) => {
                    self.dirs.drop(*i);
                    self.bare.end(*i);
                }
                Foreign::Name(p, _) => self.dirs.drop(*p),
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
            Foreign::Name(1, OsString::from("")),
        ];
        let mut msg = b"12\n".to_vec();
        for f in &sent {
            encode(&mut msg, f);
        }
        assert_eq!(decode(&msg), Some(sent));
        assert_eq!(decode(b"12\n"), Some(vec![]));
        assert_eq!(decode(&msg[..msg.len() - 3]), None, "cut short");
    }
}
