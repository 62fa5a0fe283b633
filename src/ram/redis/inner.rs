use super::*;

// ---------------------------------------------------------------------------------------------
// The store

pub(super) struct Inner {
    pub(super) pool: Pool,
    pub(super) keys: Keys,
    pub(super) scripts: Scripts,
    pub(super) limit: u64,
    /// This mount's session id.
    pub(super) sid: String,
    /// Last usage read, served while Redis cannot be asked.
    pub(super) usage: Mutex<Usage>,
    /// Slice ids taken from `{P}:meta` and not used yet: `[next, end)`.
    pub(super) sids: Mutex<(u64, u64)>,
    /// Who owns a root directory made anew (`revive`).
    pub(super) root_owner: (u32, u32),
    /// Why changes are refused while Redis runs an evicting memory policy (lifted when it is
    /// noeviction again).
    pub(super) evicting: Mutex<Option<String>>,
    /// Why changes are refused after Redis lost part of the prefix (until a remount).
    pub(super) damaged: Mutex<Option<String>>,
    /// A script found the prefix's metadata gone: the watch thread looks into it (`revive`),
    /// off the thread that met it.
    pub(super) lost: AtomicBool,
    /// Directories' attributes as this mount's last change left them.
    pub(super) dirs: DirCache,
    /// Inodes seen without extended attributes.
    pub(super) bare: Bare,
    /// Small writes kept back, to send together.
    pub(super) behind: Behind,
    /// Directories made here, with every name in them.
    pub(super) known: Known,
    /// What this mount tells the others of its changes, and hears of theirs.
    pub(super) notices: Notices,
    /// The version of each file the kernel's pages on this mount are of.
    pub(super) versions: Versions,
    /// Small files' bytes brought back by their opens.
    pub(super) prefetch: Prefetch,
    /// A cluster's masters as last counted for stats, and when.
    pub(super) nodes_seen: Mutex<Option<(Instant, Vec<NodeStats>)>>,
    /// Slices to give up that Redis could not be asked about (`abandon`): inode, then
    /// (chunk index, slice id) pairs.
    pub(super) to_abandon: Mutex<Vec<Sent>>,
    /// Whether any master had a replica, and when that was seen (fsync asks nothing while
    /// none has, for `REPLICAS_EVERY`).
    pub(super) replicas_seen: Mutex<Option<(Instant, bool)>>,
    /// Where the deletion of an older format's per-directory sets goes on (`dc_sweep.lua`).
    pub(super) dc_cursor: Mutex<String>,
    /// The pack this mount fills with small files' bytes (`pack.rs`), and those whose
    /// sealing failed, to seal at the next sweep.
    pub(super) pack: Mutex<Option<u64>>,
    pub(super) to_seal: Mutex<Vec<u64>>,
}

/// How a write's publication went.
pub(super) enum Published {
    /// The script's answer.
    Done(Value),
    /// Its slices, or its pack, were no longer listed as this mount's.
    Unlisted,
    /// Its pack had no room left.
    Full,
}

/// Slices sent for an inode: (chunk index, slice id) pairs.
pub(super) type Sent = (Ino, Vec<(u64, u64)>);

/// Where inode numbers start again after Redis lost them: past any this or another mount
/// handed out before (a kernel may still hold those), by starting from the clock (16,384 a
/// second since 1970). Below 10^14: the scripts' numbers print exactly only up to there.
/// Slice ids restart from 64 times that, past any id another mount may still hold in its
/// batch (they stay strings in the scripts, and below 2^53, exact as Redis integers).
pub(super) fn fresh_inodes() -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    (secs << 14).min(99_999_999_999_999)
}

/// One `name:value` field of an INFO answer.
pub(super) fn info_field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// Why a memory policy is unsafe, or None for noeviction. Every other policy drops keys
/// when Redis fills up: file data (allkeys-*), or this mount's heartbeat (volatile-*).
pub(super) fn evicting_policy_error(addr: &str, policy: &str) -> Option<String> {
    (!policy.is_empty() && policy != "noeviction").then(|| {
        format!(
            "Redis at {addr} has maxmemory-policy {policy}: when it fills up it evicts keys, \
             and with them file data"
        )
    })
}

/// `redis://user:secret@h` → `redis://user:***@h`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// Some key under the prefix when there is no `{P}:meta`: data of another program.
pub(super) fn foreign_key(con: &mut Link, keys: &Keys) -> RedisResult<Option<String>> {
    first_key(
        con,
        &[
            format!("{}:*", Keys::glob_escape(&keys.plain)),
            format!("{}:*", Keys::glob_escape(&keys.tag)),
        ],
    )
}

/// The first key found that matches one of `patterns`.
pub(super) fn first_key(con: &mut Link, patterns: &[String]) -> RedisResult<Option<String>> {
    // A cluster's keys are spread over its masters: each is scanned.
    let masters = con.masters()?;
    for pattern in patterns {
        for node in &masters {
            let mut cursor: u64 = 0;
            loop {
                let mut scan = ::redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(10_000);
                let (next, found): (u64, Vec<Vec<u8>>) =
                    ::redis::from_redis_value(con.on(node, &scan)?)?;
                if let Some(k) = found.first() {
                    return Ok(Some(String::from_utf8_lossy(k).into_owned()));
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
    }
    Ok(None)
}

/// The mount's background duties: while Redis hangs, probe it often so that the pool opens
/// again soon after it answers; otherwise refresh the heartbeat, check the memory policy,
/// and now and then give back dead mounts' opens and collect garbage.
pub(super) fn watch(inner: Weak<Inner>, stop: mpsc::Receiver<()>) {
    let mut beats = 0u32;
    let mut last_beat = Instant::now();
    loop {
        match stop.recv_timeout(PROBE_EVERY) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.pool.hung.load(Ordering::Acquire) {
            if inner.pool.probe() {
                inner.check_policy();
            }
            continue;
        }
        if inner.lost.swap(false, Ordering::AcqRel) {
            inner.revive();
        }
        // `unsure` first: set after `down`, so `down` then reads as the failure left it.
        if inner.pool.unsure.load(Ordering::Acquire)
            && !inner.pool.down.load(Ordering::Acquire)
            && inner.pool.unsure.swap(false, Ordering::AcqRel)
        {
            inner.tell_lost_answer();
        }
        if last_beat.elapsed() < heartbeat() {
            continue;
        }
        last_beat = Instant::now();
        beats += 1;
        let alive = inner.keys.alive(&inner.sid);
        let sessions = inner.keys.sessions();
        let sid = inner.sid.clone();
        // Run twice, it does what it does once.
        let r = inner.pool.run(true, |c| {
            ::redis::pipe()
                .cmd("SET")
                .arg(&alive)
                .arg(ALIVE)
                .arg("PX")
                .arg(4 * heartbeat().as_millis() as u64)
                .ignore()
                .cmd("SADD")
                .arg(&sessions)
                .arg(&sid)
                .ignore()
                .query::<()>(c)
        });
        if r.is_ok() {
            inner.revive();
            inner.abandon_later();
            inner.check_policy();
            if beats.is_multiple_of(SWEEP_EVERY) {
                inner.sweep();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A clean unmount: this session ends now instead of when its heartbeat expires.
        let alive = self.keys.alive(&self.sid);
        let _ = self
            .pool
            .run(false, |c| ::redis::cmd("DEL").arg(&alive).query::<()>(c));
        self.sweep_with("");
    }
}

impl Inner {
    pub(super) fn now() -> String {
        time_str(SystemTime::now())
    }

    /// Notices of this mount's change for the other mounts; what it changes no longer
    /// holds as made here (`Behind::unmade`).
    pub(super) fn tell(&self, changed: &[Foreign]) {
        for f in changed {
            match f {
                Foreign::Attrs(i) => self.behind.unmade(Some(*i)),
                Foreign::Everything => self.behind.unmade(None),
                Foreign::Name(..) => {}
            }
        }
        self.notices.send(changed);
    }

    /// After a change whose answer was lost (`Pool::unsure`), once Redis answers again:
    /// Redis may have made it, yet nobody was told. This mount's kernel and caches and
    /// every other mount's drop every name and attribute, and ask Redis anew.
    pub(super) fn tell_lost_answer(&self) {
        info!(
            "a change's answer was lost while Redis at {} did not answer: every mount looks \
             its names up again",
            self.pool.addr
        );
        self.heard(&[Foreign::Everything]);
        self.tell(&[Foreign::Everything]);
    }

    /// An inode's attributes in a script's answer to a call made at `epoch` (of `bare`);
    /// whether it held extended attributes is noted.
    pub(super) fn attr(&self, ino: Ino, v: &Value, epoch: u64) -> StoreResult<Attr> {
        let a = parse_attr(ino, v)?;
        self.bare.saw(a.ino, xattr_bytes(v), a.perm, epoch);
        Ok(a)
    }

    /// After Redis lost the prefix's data under the mount (FLUSHALL, a restart without
    /// persistence): with no inode or slice left, `vram/` starts again empty, said in one
    /// logged error; with some left (someone deleted keys by hand), `vram/` turns read-only
    /// rather than build on half a tree.
    pub(super) fn revive(&self) {
        let meta = self.keys.meta();
        let root = self.keys.inode(ROOT_INO);
        let Ok(n) = self.pool.run(true, |c| {
            ::redis::cmd("EXISTS").arg(&meta).arg(&root).query::<u64>(c)
        }) else {
            return;
        };
        if n == 2 {
            return;
        }
        self.dirs.clear();
        self.bare.clear();
        self.versions.clear();
        let patterns = [
            format!("{}:i:*", Keys::glob_escape(&self.keys.tag)),
            format!("{}:l:*", Keys::glob_escape(&self.keys.tag)),
            format!("{}:s:*", Keys::glob_escape(&self.keys.plain)),
        ];
        match self.pool.run(true, |c| first_key(c, &patterns)) {
            Ok(None) if n == 0 => {
                let (uid, gid) = self.root_owner;
                let answer = self.pool.run(false, |c| {
                    self.scripts
                        .init
                        .key(&meta)
                        .arg(FORMAT)
                        .arg(uid)
                        .arg(gid)
                        .arg(Self::now())
                        .arg(fresh_inodes())
                        .arg(fresh_inodes() << 6)
                        .invoke::<Value>(c)
                });
                if answer.is_ok() {
                    *self.sids.lock() = (0, 0);
                    *self.pack.lock() = None;
                    // What the kernel holds of vram/ is gone from Redis.
                    self.heard(&[Foreign::Everything]);
                    log::error!(
                        "Redis at {} lost all of vram/ (prefix {}: FLUSHALL, or a restart \
                         without persistence); vram/ starts again, empty",
                        self.pool.addr,
                        self.keys.plain
                    );
                }
            }
            Ok(_) => {
                let why = format!(
                    "Redis at {} lost part of prefix {} (its {} is gone)",
                    self.pool.addr,
                    self.keys.plain,
                    if n == 0 {
                        "meta and root"
                    } else {
                        "meta or root"
                    }
                );
                let mut ro = self.damaged.lock();
                if ro.is_none() {
                    self.heard(&[Foreign::Everything]);
                    log::error!("{why}; vram/ is read-only, remount once it is repaired");
                    *ro = Some(why);
                }
            }
            Err(_) => {}
        }
    }

    /// Refuses a change while Redis runs an evicting memory policy.
    pub(super) fn writable(&self) -> StoreResult<()> {
        for why in [&self.evicting, &self.damaged] {
            if let Some(why) = &*why.lock() {
                return Err(StoreError::ReadOnly(why.clone()));
            }
        }
        Ok(())
    }

    /// Gives back one open (or kernel hold) of this session for each of `inos`.
    /// Returns the slices of inodes it reaped, to delete.
    pub(super) fn release(&self, inos: &[Ino]) -> Value {
        let nums: Vec<String> = inos.iter().map(Ino::to_string).collect();
        let mut args: Vec<&[u8]> = Vec::with_capacity(1 + nums.len());
        args.push(self.sid.as_bytes());
        args.extend(nums.iter().map(|n| n.as_bytes()));
        match self.script(&self.scripts.release, false, &args) {
            Ok(v) => v,
            // The opens stay counted in this session; they are given back when it ends.
            Err(e) => {
                debug!("release of inodes {inos:?}: {e}");
                Value::Nil
            }
        }
    }

    pub(super) fn fail(&self, f: Failure) -> StoreError {
        match f {
            Failure::Hung => StoreError::Unavailable(format!(
                "Redis at {} does not answer (waiting for it to)",
                self.pool.addr
            )),
            Failure::Unreachable(e) | Failure::Lost(e) => StoreError::Backend {
                context: format!("Redis at {}", self.pool.addr),
                source: Box::new(e),
            },
            Failure::Server(e) => {
                let code = server_code(&e).unwrap_or_default();
                match code.as_str() {
                    "ENOENT" => StoreError::NotFound,
                    "EEXIST" => StoreError::Exists,
                    "ENOTDIR" => StoreError::NotDir,
                    "EISDIR" => StoreError::IsDir,
                    "ENOTEMPTY" => StoreError::NotEmpty,
                    "ENOSPC" | "OOM" => StoreError::NoSpace,
                    "EINVAL" => StoreError::Invalid,
                    "ENAMETOOLONG" => StoreError::NameTooLong,
                    "EPERM" => StoreError::NotPermitted,
                    "ENODATA" => StoreError::NoAttr,
                    "EOPNOTSUPP" => StoreError::NotSupported,
                    "EFBIG" => StoreError::TooLarge,
                    "EMLINK" => StoreError::TooManyLinks,
                    "ELOST" => {
                        // An id counter would start again over live data: never. What
                        // happened is looked into on the watch thread.
                        self.lost.store(true, Ordering::Release);
                        StoreError::Unavailable(format!(
                            "Redis at {} lost prefix {}'s metadata",
                            self.pool.addr, self.keys.plain
                        ))
                    }
                    _ => StoreError::Backend {
                        context: format!("Redis at {}", self.pool.addr),
                        source: Box::new(e),
                    },
                }
            }
        }
    }

    /// Runs a script with `args`; `read_only` scripts may be retried on a fresh connection.
    pub(super) fn script(&self, s: &Script, read_only: bool, args: &[&[u8]]) -> StoreResult<Value> {
        let meta = self.keys.meta();
        self.pool
            .run(read_only, |c| {
                let mut inv = s.key(&meta);
                for a in args {
                    inv.arg(*a);
                }
                inv.invoke::<Value>(c)
            })
            .map_err(|e| self.fail(if read_only { e } else { self.pool.noted(e) }))
    }

    pub(super) fn pipe(&self, read_only: bool, p: &::redis::Pipeline) -> StoreResult<Vec<Value>> {
        self.pool
            .run_replies(read_only, replies(p), |c| p.query::<Vec<Value>>(c))
            .map_err(|e| self.fail(if read_only { e } else { self.pool.noted(e) }))
    }

    /// Deletes chunks a script put in the gc set, then takes them off it. A failure leaves
    /// them listed for a later sweep.
    pub(super) fn drop_chunks(&self, members: &[Value]) {
        let members: Vec<&[u8]> = members.iter().filter_map(bytes).collect();
        self.drop_members(&members);
    }

    /// Deletes the slices and unlists them; false if Redis did not take it all.
    pub(super) fn drop_members(&self, members: &[&[u8]]) -> bool {
        // Two replies a batch (one DEL of many keys, one SREM), so a batch waits no more
        // than a single call for a slow server. On a cluster the slices lie in many slots:
        // one DEL each, all answered before they are unlisted.
        for part in members.chunks(1000) {
            let keys: Vec<Vec<u8>> = part.iter().map(|m| self.keys.gc_slice(m)).collect();
            let mut unlist = ::redis::pipe();
            unlist.cmd("SREM").arg(self.keys.gc()).arg(part).ignore();
            let done = if self.cluster() {
                let mut b = Batch::new(true);
                for k in &keys {
                    let mut del = ::redis::cmd("DEL");
                    del.arg(k);
                    b.add(del);
                }
                self.pool
                    .run_replies(false, b.len(), |c| c.batch(&b).map(drop))
                    .and_then(|()| self.pool.run(false, |c| unlist.query::<()>(c)))
            } else {
                let mut p = ::redis::pipe();
                p.cmd("DEL").arg(&keys).ignore();
                p.cmd("SREM").arg(self.keys.gc()).arg(part).ignore();
                self.pool
                    .run_replies(false, replies(&p), |c| p.query::<()>(c))
            };
            if let Err(e) = done {
                debug!("deleting slices: {}", self.fail(e));
                return false;
            }
        }
        true
    }

    /// Gives up the slices `(chunk index, slice id)` this mount sent for inode `ino` and did
    /// not publish (a refused or unanswered publication) and deletes them; those published
    /// meanwhile stay (`abandon.lua`). If Redis cannot be asked now, the watch thread asks
    /// again after its next heartbeat (else they are collected with the session).
    pub(super) fn abandon(&self, ino: Ino, slices: &[(u64, u64)]) {
        if slices.is_empty() {
            return;
        }
        let nums: Vec<String> = slices
            .iter()
            .flat_map(|(idx, sid)| [idx.to_string(), sid.to_string()])
            .collect();
        let ino_s = ino.to_string();
        let mut args: Vec<&[u8]> = vec![self.sid.as_bytes(), ino_s.as_bytes()];
        args.extend(nums.iter().map(|n| n.as_bytes()));
        match self.script(&self.scripts.abandon, false, &args) {
            Ok(v) => self.drop_chunks(array(&v)),
            Err(e) => {
                debug!("giving up unpublished slices: {e}; later");
                self.to_abandon.lock().push((ino, slices.to_vec()));
            }
        }
    }

    /// Gives up what `abandon` could not, earlier (on the watch thread).
    pub(super) fn abandon_later(&self) {
        let todo = std::mem::take(&mut *self.to_abandon.lock());
        for (ino, slices) in todo {
            self.abandon(ino, &slices);
        }
    }

    /// True on a Redis Cluster: slices lie in other slots than the metadata, so no script
    /// may touch them.
    pub(super) fn cluster(&self) -> bool {
        matches!(self.pool.dialer, Dialer::Cluster(_))
    }

    /// `n` fresh slice ids. Ids are never reused, so a reader holding a chunk list never
    /// meets another slice under an id it names. This mount takes them from `{P}:meta`
    /// `next_slice` a batch at a time.
    pub(super) fn take_sids(&self, n: usize) -> StoreResult<Vec<u64>> {
        let n = n as u64;
        loop {
            {
                let mut ids = self.sids.lock();
                if ids.1 - ids.0 >= n {
                    let first = ids.0;
                    ids.0 += n;
                    return Ok((first..first + n).collect());
                }
            }
            // Not under the lock: other writers go on from the batch meanwhile. If one of
            // them refilled it first, this batch is dropped (ids are plentiful, never reused).
            let want = SID_BATCH.max(n);
            let end = self.new_sids(want)?;
            let mut ids = self.sids.lock();
            if ids.1 - ids.0 < n {
                *ids = (end - want + 1, end + 1);
            }
        }
    }

    /// Sends each piece as a new slice and publishes them with the write script: a write is
    /// published whole or not at all, atomically against every other operation on the
    /// file, whatever the number of writers. Slices not published are given up. Unless
    /// `Done`, nothing was published and the write may be sent again (see `write.lua`).
    pub(super) fn commit_write(
        &self,
        ino: Ino,
        args: &[&[u8]],
        slices: &[(String, &[u8])],
        sent: &[(u64, u64)],
        pack: Option<&str>,
    ) -> StoreResult<Published> {
        match self.publish(&self.scripts.write, slices, pack, args) {
            Ok(v) => Ok(Published::Done(v)),
            Err(f) => {
                self.abandon(ino, sent);
                match f {
                    Failure::Server(e) if has_code(&e, "EUNLISTED") => Ok(Published::Unlisted),
                    Failure::Server(e) if has_code(&e, "EFULL") => Ok(Published::Full),
                    f => Err(self.fail(f)),
                }
            }
        }
    }

    /// Stores each `(key, bytes)` as a new slice (its id already listed as this mount's
    /// unpublished, by `take_sids`), then runs `script` (KEYS: meta, that list, and on one
    /// server the slices, else the pack `pack` if given; ARGV: `args`), which publishes them. On one server that is one
    /// round trip, the script after the slices, checking they landed (Redis may refuse a
    /// string for memory). On a cluster the slices go to their nodes first, and the script
    /// runs once all answered. Both steps may run again after a lost answer: the slices are
    /// the same bytes, and a publication run twice finds its ids unlisted the second time
    /// (one into a pack appends its bytes again, and names those: the first are unnamed).
    pub(super) fn publish(
        &self,
        script: &Script,
        sets: &[(String, &[u8])],
        pack: Option<&str>,
        args: &[&[u8]],
    ) -> Result<Value, Failure> {
        self.publish_once(script, sets, pack, args)
            .map_err(|f| self.pool.noted(f))
    }

    fn publish_once(
        &self,
        script: &Script,
        sets: &[(String, &[u8])],
        pack: Option<&str>,
        args: &[&[u8]],
    ) -> Result<Value, Failure> {
        let meta = self.keys.meta();
        let pending = self.keys.pending(&self.sid);
        let cluster = self.cluster();
        let mut keys: Vec<&str> = vec![&meta, &pending];
        if !cluster {
            keys.extend(sets.iter().map(|(k, _)| k.as_str()));
        }
        keys.extend(pack);
        let mut inv = script.prepare_invoke();
        for k in &keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(*a);
        }
        if cluster {
            let mut b = Batch::new(true);
            for (key, bytes) in sets {
                let mut set = ::redis::cmd("SET");
                set.arg(key).arg(*bytes);
                b.add(set);
            }
            self.pool
                .run_replies(true, b.len(), |c| c.batch(&b).map(drop))?;
            return self.pool.run(true, |c| inv.invoke::<Value>(c));
        }
        // The script's EVALSHA, as `inv` would send it.
        let mut eval = ::redis::cmd("EVALSHA");
        eval.arg(script.get_hash()).arg(keys.len());
        for k in &keys {
            eval.arg(*k);
        }
        for a in args {
            eval.arg(*a);
        }
        match self
            .pool
            .run_replies(true, sets.len() + 1, |c| c.sets_then(sets, &eval))
        {
            Ok(v) => Ok(v),
            // EVALSHA does not load a script Redis does not know yet (a new server, a
            // restart): the SETs landed, so only the script runs again (invoke loads it).
            Err(Failure::Server(e)) if has_code(&e, "NOSCRIPT") => {
                self.pool.run(true, |c| inv.invoke::<Value>(c))
            }
            Err(f) => Err(f),
        }
    }

    /// Runs a read-only script whose answer starts with an inode's kind and size.
    pub(super) fn read_script(
        &self,
        s: &Script,
        args: &[String],
    ) -> StoreResult<(Value, Kind, u64)> {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let v = self.script(s, true, &refs)?;
        let a = array(&v);
        let kind = a.first().and_then(bytes).ok_or(StoreError::NotFound)?;
        let kind = kind_of(kind).ok_or_else(|| garbled("inode kind"))?;
        let size = a.get(1).and_then(number).unwrap_or(0);
        Ok((v, kind, size))
    }

    /// Reads the chunk spans `(index, first, end)` of a file in one atomic step: one script
    /// that reads the slices too (see `read_spans`).
    pub(super) fn read_spans_in_script(
        &self,
        ino: Ino,
        parts: &[(u64, u64, u64)],
    ) -> StoreResult<ReadOut> {
        let mut args: Vec<String> = Vec::with_capacity(1 + 3 * parts.len());
        args.push(ino.to_string());
        for (idx, from, to) in parts {
            args.push(idx.to_string());
            args.push(from.to_string());
            args.push(to.to_string());
        }
        let (v, kind, size) = self.read_script(&self.scripts.read, &args)?;
        let a = array(&v);
        let mut chunks = Vec::with_capacity(parts.len());
        let mut entries = Vec::with_capacity(parts.len());
        for (j, &(_, from, to)) in parts.iter().enumerate() {
            let Some(got) = a.get(2 + j) else {
                chunks.push(None);
                entries.push(None);
                continue;
            };
            let (entry, buf) = span_of(got, from, to)?;
            entries.push(entry);
            chunks.push(Some(buf));
        }
        Ok(ReadOut {
            kind,
            size,
            chunks,
            entries,
        })
    }
}

/// A span's entry and bytes from `[from, to)` of a chunk, as the prelude's `span_bytes`
/// returns them: zeros where no slice lies.
pub(super) fn span_of(got: &Value, from: u64, to: u64) -> StoreResult<(Option<Vec<u8>>, Vec<u8>)> {
    let mut buf = vec![0u8; to.saturating_sub(from) as usize];
    let (entry, pairs) = array(got).split_first().ok_or_else(|| garbled("read"))?;
    for pair in pairs.chunks_exact(2) {
        let (Some(at), Some(data)) = (number(&pair[0]), bytes(&pair[1])) else {
            return Err(garbled("read"));
        };
        let Some(dst) = at.checked_sub(from).map(|d| d as usize) else {
            return Err(garbled("read"));
        };
        if dst + data.len() > buf.len() {
            return Err(garbled("read"));
        }
        buf[dst..dst + data.len()].copy_from_slice(data);
    }
    Ok((bytes(entry).map(<[u8]>::to_vec), buf))
}

/// What `read_spans` found: the inode's kind and size, and each span's bytes.
pub(super) struct ReadOut {
    pub(super) kind: Kind,
    pub(super) size: u64,
    /// Each span's bytes, zeros where no slice lies; it may stop where its chunk ends.
    pub(super) chunks: Vec<Option<Vec<u8>>>,
    /// Each chunk's entry in `{P}:l:<ino>` as the bytes were read (None: no such chunk).
    pub(super) entries: Vec<Option<Vec<u8>>>,
}
