//! File data on Redis: reads, writes and fallocate over the slices (see the module header).

use super::*;

/// A write of at most this many parts may have them cut (`sizes.rs`).
const CUT_PARTS_MAX: usize = 4;
/// A part of at least this many bytes may be cut, in a write of any number of parts.
const CUT_ANY_FROM: u64 = 64 << 10;
/// Reads of at least this many bytes fetch the slices themselves (`Inner::read_spans`):
/// a byte read in a script costs Redis about 2.6 µs a KiB (into Lua and out again), and
/// from here on that outweighs the second round trip.
const DIRECT_READ: u64 = 32 << 10;
/// How often a read on a cluster starts over when a slice it was to read went meanwhile.
const CLUSTER_READ_TRIES: usize = 100;

/// A chunk's entry in `{P}:l:<ino>`: its length, and its slices as `[sid, pos, n, soff]`
/// (bytes `[pos, pos+n)` of the chunk are bytes `[soff, soff+n)` of slice `sid`), disjoint:
/// the overlays an entry ends in (see the prelude) each cover what comes before them.
pub(super) fn parse_entry(entry: &[u8]) -> Option<(u64, Vec<[u64; 4]>)> {
    let text = std::str::from_utf8(entry).ok()?;
    let (base, over) = text.split_once('/').unwrap_or((text, ""));
    let mut parts = base.split('|');
    let len = parts.next()?.parse().ok()?;
    let item = |p: &str| -> Option<[u64; 4]> {
        let mut f = p.split(':').map(|x| x.parse::<u64>().ok());
        Some([f.next()??, f.next()??, f.next()??, f.next()??])
    };
    let mut list = parts.map(item).collect::<Option<Vec<_>>>()?;
    for p in over.split('/').filter(|_| !over.is_empty()) {
        let s = item(p)?;
        let (a, b) = (s[1], s[1].checked_add(s[2])?);
        let mut kept = Vec::with_capacity(list.len() + 2);
        for [sid, pos, n, soff] in list {
            let e = pos.checked_add(n)?;
            if e <= a || pos >= b {
                kept.push([sid, pos, n, soff]);
                continue;
            }
            if pos < a {
                kept.push([sid, pos, a - pos, soff]);
            }
            if e > b {
                kept.push([sid, b, e - b, soff.checked_add(b - pos)?]);
            }
        }
        kept.push(s);
        list = kept;
    }
    Some((len, list))
}

impl Inner {
    /// Reads the chunk spans `(index, first, end)` of a file as one consistent view. A big
    /// read takes the chunks' entries in one script and then the slices' bytes in one
    /// pipeline of GETRANGEs: Redis then sends the bytes straight from the slices, where a
    /// script would copy each into Lua and out again (a 1 MiB read took 3 ms so, and blocked
    /// Redis meanwhile). Slices never change and their ids are never used again, so bytes
    /// read whole are the ones the entries named; a slice gone meanwhile (a write or a
    /// compaction replaced it, and it was collected) makes the read start over in one script.
    pub(super) fn read_spans(&self, ino: Ino, parts: &[(u64, u64, u64)]) -> StoreResult<ReadOut> {
        if self.cluster() {
            // No script can read slices in other slots: the two steps again, until no
            // slice went in between (that takes a write and its collection inside one
            // round trip).
            for _ in 0..CLUSTER_READ_TRIES {
                if let Some(out) = self.read_spans_direct(ino, parts)? {
                    return Ok(out);
                }
            }
            warn!("a read of inode {ino} kept meeting slices replaced under it; EIO");
            return Err(StoreError::Unavailable(format!(
                "inode {ino} was rewritten under each of {CLUSTER_READ_TRIES} reads"
            )));
        }
        let bytes_wanted: u64 = parts.iter().map(|(_, from, to)| to - from).sum();
        if bytes_wanted >= DIRECT_READ {
            if let Some(out) = self.read_spans_direct(ino, parts)? {
                return Ok(out);
            }
        }
        self.read_spans_in_script(ino, parts)
    }

    /// `read_spans` in two steps; None if a slice went away in between.
    fn read_spans_direct(
        &self,
        ino: Ino,
        parts: &[(u64, u64, u64)],
    ) -> StoreResult<Option<ReadOut>> {
        let mut args: Vec<String> = Vec::with_capacity(1 + parts.len());
        args.push(ino.to_string());
        args.extend(parts.iter().map(|(idx, _, _)| idx.to_string()));
        let (v, kind, size) = self.read_script(&self.scripts.chunks, &args)?;
        let a = array(&v);
        let mut entries = Vec::with_capacity(parts.len());
        // Each span's bytes up to where its chunk ends.
        let mut lens = Vec::with_capacity(parts.len());
        // Per GETRANGE: the span it fills, where in it, and how many bytes must come.
        let mut plan: Vec<(usize, usize, usize)> = Vec::new();
        let mut p = Batch::new(self.cluster());
        for (j, &(_, from, to)) in parts.iter().enumerate() {
            let Some(entry) = a.get(2 + j).and_then(bytes) else {
                entries.push(None);
                lens.push(0);
                continue;
            };
            let (len, list) = parse_entry(entry).ok_or_else(|| garbled("chunk entry"))?;
            let end = to.min(len);
            lens.push((end.max(from) - from) as usize);
            for [sid, pos, n, soff] in list {
                let (x, y) = (from.max(pos), end.min(pos.saturating_add(n)));
                if x < y {
                    let first = soff.checked_add(x - pos);
                    let last = soff.checked_add(y - pos - 1);
                    let (Some(first), Some(last)) = (first, last) else {
                        return Err(garbled("chunk entry"));
                    };
                    let mut get = ::redis::cmd("GETRANGE");
                    get.arg(self.keys.slice(sid)).arg(first).arg(last);
                    p.add(get);
                    plan.push((j, (x - from) as usize, (y - x) as usize));
                }
            }
            entries.push(Some(entry.to_vec()));
        }
        let mut pieces: Vec<(usize, usize, Vec<u8>)> = Vec::with_capacity(plan.len());
        if !plan.is_empty() {
            let got = self
                .pool
                .run_replies(true, p.len(), |c| c.batch(&p))
                .map_err(|e| self.fail(e))?;
            if got.len() != plan.len() {
                return Err(garbled("read"));
            }
            for ((j, at, n), v) in plan.into_iter().zip(got) {
                let data = match v {
                    Value::BulkString(b) => b,
                    _ => Vec::new(),
                };
                if data.len() != n {
                    return Ok(None);
                }
                pieces.push((j, at, data));
            }
        }
        Ok(Some(ReadOut {
            kind,
            size,
            chunks: assemble(lens.into_iter(), pieces)
                .into_iter()
                .map(Some)
                .collect(),
            entries,
        }))
    }
}

/// Each span's bytes, `len` long, from its pieces `(span, position, bytes)`: zeros where no
/// piece lies. A piece that starts its span is taken as it came (not copied again), and the
/// zeros are written only where no piece lies.
fn assemble(
    lens: impl Iterator<Item = usize>,
    mut pieces: Vec<(usize, usize, Vec<u8>)>,
) -> Vec<Vec<u8>> {
    pieces.sort_unstable_by_key(|p| (p.0, p.1));
    let mut pieces = pieces.into_iter().peekable();
    let mut out = Vec::new();
    for (j, len) in lens.enumerate() {
        let mut buf: Vec<u8> = Vec::new();
        while let Some((_, at, data)) = pieces.next_if(|p| p.0 == j) {
            if buf.is_empty() && at == 0 {
                buf = data;
            } else {
                // The span's room at once (nothing where there is enough already).
                buf.reserve_exact(len.saturating_sub(buf.len()));
                if at >= buf.len() {
                    buf.resize(at, 0);
                    buf.extend_from_slice(&data);
                } else {
                    // Pieces of one span are disjoint; should two overlap, the later wins.
                    let end = at + data.len();
                    if end > buf.len() {
                        buf.resize(end, 0);
                    }
                    buf[at..end].copy_from_slice(&data);
                }
            }
        }
        buf.resize(len, 0);
        out.push(buf);
    }
    out
}

impl RedisStore {
    pub(super) fn read_data(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>> {
        self.send_kept(ino)?;
        let end = offset.saturating_add(u64::from(size)).min(MAX_FILE_SIZE);
        let parts = spans(offset, end);
        let got = self.inner.read_spans(ino, &parts)?;
        match got.kind {
            Kind::File => {}
            Kind::Dir => return Err(StoreError::IsDir),
            _ => return Err(StoreError::Invalid),
        }
        if offset >= got.size {
            return Ok(Vec::new());
        }
        let stop = end.min(got.size);
        let mut out: Vec<u8> = Vec::new();
        for ((idx, from, _), chunk) in parts.iter().zip(got.chunks) {
            let base = idx * CHUNK + from;
            if base >= stop {
                break;
            }
            let chunk = chunk.unwrap_or_default();
            let n = (stop - base).min(chunk.len() as u64) as usize;
            // The first span's bytes are the reply's start as they are: no copy.
            if out.is_empty() && base == offset {
                out = chunk;
                out.truncate(n);
            } else {
                out.resize((base - offset) as usize, 0);
                out.extend_from_slice(&chunk[..n]);
            }
        }
        out.resize((stop - offset) as usize, 0);
        Ok(out)
    }

    /// The chunks a file holds, as byte ranges within its size (one round trip).
    pub(super) fn held_ranges(&self, ino: Ino) -> StoreResult<Vec<(u64, u64)>> {
        self.send_kept(ino)?;
        let mut p = ::redis::pipe();
        p.cmd("HMGET")
            .arg(self.inner.keys.inode(ino))
            .arg("k")
            .arg("s")
            .arg("l");
        p.cmd("HKEYS").arg(self.inner.keys.chunks(ino));
        let v = self.inner.pipe(true, &p)?;
        let f = v.first().map(array).unwrap_or(&[]);
        match f.first().and_then(bytes) {
            None => return Err(StoreError::NotFound),
            Some(b"f") => {}
            Some(b"d") => return Err(StoreError::IsDir),
            Some(_) => return Err(StoreError::Invalid),
        }
        let size = f
            .get(1)
            .and_then(bytes)
            .and_then(|b| std::str::from_utf8(b).ok()?.parse::<u64>().ok())
            .unwrap_or(0);
        let mut idxs: Vec<u64> = v
            .get(1)
            .map(array)
            .unwrap_or(&[])
            .iter()
            .filter_map(|b| std::str::from_utf8(bytes(b)?).ok()?.parse().ok())
            .collect();
        // Chunk 0 kept in the inode (see the prelude's `chunk_set`).
        if f.get(2).and_then(bytes).is_some() {
            idxs.push(0);
        }
        idxs.sort_unstable();
        idxs.dedup();
        Ok(crate::ram::join_ranges(
            idxs.into_iter()
                .map(|idx| (idx * CHUNK, ((idx + 1) * CHUNK).min(size))),
        ))
    }

    /// `kernel`: the write came through this mount's kernel (see `Versions::moved`).
    pub(super) fn write_data(
        &self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        kernel: bool,
    ) -> StoreResult<Attr> {
        self.inner.writable()?;
        self.send_kept(ino)?;
        self.out()
            .write_pieces(ino, &[(offset, data)], None, kernel)
    }

    /// `write`, kept back where it is small and the caller needs no attributes (`privs`:
    /// unless the file is known to have no setuid or setgid bit to drop): None then.
    pub(super) fn keep_or_write(
        &self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        privs: bool,
    ) -> StoreResult<Option<Attr>> {
        // A kept setattr's mode is not Redis's yet: a lookup may record Redis's meanwhile.
        let plain = !privs
            || (self.inner.bare.perm(ino).is_some_and(|p| p & 0o6000 == 0)
                && !self.inner.behind.has_set(ino));
        if plain {
            self.inner.writable()?;
            let b = &self.inner.behind;
            if b.brimful(ino) {
                // A sending is on its way (or about to be): this write waits for it.
                drop(b.order(ino));
            }
            let mut full = false;
            if b.keep(ino, offset, data, &mut full) {
                // Sent on the sending thread while the next writes come; where it is gone
                // (unmount), here. Failing, they stay kept: the error shows at close or
                // fsync, or at the next write.
                if full && !self.queue_send(ino) {
                    self.send_quietly(ino);
                }
                return Ok(None);
            }
        }
        self.write_data(ino, offset, data, true).map(Some)
    }

    /// Sends `ino`'s kept writes and waits for a sending of them under way, so that what
    /// follows sees them; true if it sent any. Failing, they stay kept.
    pub(super) fn send_kept(&self, ino: Ino) -> StoreResult<bool> {
        self.send_kept_then(ino, None).map(|a| a.is_some())
    }

    /// `send_kept`, the same script then setting what a setattr asks (`then`, see
    /// write.lua): the file's attributes after both, or None where no writes were kept
    /// (nothing was set then).
    pub(super) fn send_kept_then(
        &self,
        ino: Ino,
        then: Option<&SetArgs>,
    ) -> StoreResult<Option<Attr>> {
        self.out().send_kept_then(ino, then)
    }

    /// Queues `ino`'s kept writes for the sending thread; false if that thread is gone.
    fn queue_send(&self, ino: Ino) -> bool {
        !self.inner.behind.queue(ino) || self.to_send.send(ino).is_ok()
    }

    fn out(&self) -> Out<'_> {
        Out {
            inner: &self.inner,
            janitor: &self.janitor,
        }
    }

    /// A setattr kept with the file's kept writes (see `Behind::keep_set`): the attributes
    /// to tell the kernel, or None if it must go to Redis. Only for a file seen without
    /// xattrs (a chmod of one with an ACL changes the ACL too).
    pub(super) fn keep_set(&self, ino: Ino, set: &SetAttr, now: SystemTime) -> Option<Attr> {
        let b = &self.inner.behind;
        let bare = &self.inner.bare;
        // Taken first: an xattr change that ends meanwhile keeps the sighting from being
        // recorded below.
        let epoch = bare.epoch();
        if b.idle() || !bare.is_bare(ino) {
            return None;
        }
        let _order = b.order(ino);
        let a = b.keep_set(ino, set, now)?;
        bare.saw(ino, 0, a.perm, epoch);
        Some(a)
    }

    /// Sends the file's kept writes if a setattr is kept with them: what changes the inode
    /// in Redis must come after it (an ACL after a chmod).
    pub(super) fn send_kept_set(&self, ino: Ino) -> StoreResult<()> {
        if self.inner.behind.has_set(ino) {
            self.send_kept(ino)?;
        }
        Ok(())
    }

    /// `send_kept`, where a failure is no reason to fail the caller: the kept writes stay
    /// for the close, which says so.
    pub(super) fn send_quietly(&self, ino: Ino) {
        if let Err(e) = self.send_kept(ino) {
            debug!("writes kept for inode {ino} not sent yet: {e}");
        }
    }

    /// `send_kept` of every file; the first error after trying all.
    pub(super) fn send_all_kept(&self) -> StoreResult<()> {
        let mut first = Ok(());
        for ino in self.inner.behind.files() {
            if let Err(e) = self.send_kept(ino) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    pub(super) fn fallocate_data(
        &self,
        ino: Ino,
        offset: u64,
        len: u64,
        mode: Falloc,
    ) -> StoreResult<()> {
        self.inner.writable()?;
        self.send_kept(ino)?;
        let end = offset.checked_add(len).filter(|&e| e <= MAX_FILE_SIZE);
        let pre = match (end, len) {
            (None, _) => "EFBIG",
            (_, 0) => "EINVAL",
            _ => "",
        };
        let end = end.unwrap_or(offset);
        let ino_s = ino.to_string();
        let now = Inner::now();
        match mode {
            Falloc::Allocate { keep_size } => {
                // More than the whole store: refused before the script walks its chunks.
                if pre.is_empty() && len > self.inner.limit {
                    return Err(StoreError::NoSpace);
                }
                let (first, last, last_len) = if pre.is_empty() {
                    let last = (end - 1) / CHUNK;
                    (offset / CHUNK, last, end - last * CHUNK)
                } else {
                    (0, 0, 0)
                };
                let args = [
                    ino_s,
                    now,
                    self.inner.limit.to_string(),
                    pre.to_owned(),
                    if keep_size { "1" } else { "0" }.to_owned(),
                    end.to_string(),
                    first.to_string(),
                    last.to_string(),
                    last_len.to_string(),
                ];
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                self.inner
                    .script(&self.inner.scripts.allocate, false, &refs)?;
                self.tell(&[Foreign::Attrs(ino)]);
                Ok(())
            }
            Falloc::PunchHole | Falloc::ZeroRange { .. } => {
                let grow = matches!(mode, Falloc::ZeroRange { keep_size: false });
                let last = end.saturating_sub(1) / CHUNK;
                let args = [
                    ino_s,
                    now,
                    pre.to_owned(),
                    if grow { "1" } else { "0" }.to_owned(),
                    offset.to_string(),
                    end.to_string(),
                    (offset / CHUNK).to_string(),
                    (offset % CHUNK).to_string(),
                    last.to_string(),
                    (end - last * CHUNK).to_string(),
                ];
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let v = self.inner.script(&self.inner.scripts.zero, false, &refs)?;
                self.tell(&[Foreign::Attrs(ino)]);
                let a = array(&v);
                if let Some(gc) = a.first() {
                    self.janitor.drop_slices(array(gc));
                }
                self.compact_cut(ino, a.get(1));
                Ok(())
            }
        }
    }
}

/// What sends a file's writes to Redis: the store's, on a FUSE thread, and the sending
/// thread's.
pub(super) struct Out<'a> {
    pub(super) inner: &'a Inner,
    pub(super) janitor: &'a Janitor,
}

impl Out<'_> {
    /// `send_kept`, the same script then setting what a setattr asks (`then`, see
    /// write.lua): the file's attributes after both, or None where no writes were kept
    /// (nothing was set then).
    pub(super) fn send_kept_then(
        &self,
        ino: Ino,
        then: Option<&SetArgs>,
    ) -> StoreResult<Option<Attr>> {
        let b = &self.inner.behind;
        if b.idle() {
            return Ok(None);
        }
        let _order = b.order(ino);
        // A sending's worth at a time; the setattrs go with the last.
        let mut last = None;
        while let Some(taken) = b.take(ino) {
            let all = taken.all;
            // Setattrs kept with the writes, then this one.
            let args = match (taken.set.as_ref().map(KeptSet::args), then) {
                (Some(kept), Some(t)) => Some(set_args_then(&kept, t)),
                (kept, t) if all => kept.or_else(|| t.cloned()),
                _ => None,
            };
            let tail: Option<String> = args.map(|a| a.iter().map(|x| format!("{x},")).collect());
            let refs: Vec<(u64, &[u8])> =
                taken.pieces.iter().map(|(at, d)| (*at, &d[..])).collect();
            // Kept writes all came through the kernel.
            let r = self.write_pieces(ino, &refs, tail.as_deref(), true);
            drop(refs);
            let ok = r.is_ok();
            if ok {
                b.recycle(taken.pieces);
            } else {
                b.restore(ino, taken);
            }
            b.sent(ino, ok);
            last = Some(r?);
            if all {
                break;
            }
        }
        Ok(last)
    }

    /// Writes disjoint `(offset, bytes)` pieces in offset order, all or none, in one
    /// publication (which then sets `then`, a setattr's changes: see write.lua). `kernel`:
    /// they came through this mount's kernel, whose pages hold them.
    pub(super) fn write_pieces(
        &self,
        ino: Ino,
        pieces: &[(u64, &[u8])],
        then: Option<&str>,
        kernel: bool,
    ) -> StoreResult<Attr> {
        let mut pre = "";
        let mut end = 0;
        // Per part: chunk index, first byte, end byte, and where its bytes are.
        let mut parts: Vec<Part> = Vec::new();
        for (j, &(offset, data)) in pieces.iter().enumerate() {
            match offset.checked_add(data.len() as u64) {
                Some(e) if e <= MAX_FILE_SIZE => {
                    if !data.is_empty() {
                        end = end.max(e);
                    }
                    let mut pos = 0usize;
                    for (idx, from, to) in spans(offset, e) {
                        parts.push((idx, from, to, j, pos));
                        pos += (to - from) as usize;
                    }
                }
                _ => pre = "EFBIG",
            }
        }
        if !pre.is_empty() {
            parts.clear();
        }
        let end_s = if end == 0 || !pre.is_empty() {
            String::new()
        } else {
            end.to_string()
        };
        // A small write goes into this mount's pack (see `pack.rs`), on one server.
        let total: usize = parts.iter().map(|p| (p.2 - p.1) as usize).sum();
        let mut packed = !self.inner.cluster()
            && total > 0
            && total <= PACK_PIECE_MAX
            && parts.iter().all(|p| p.0 == 0);
        // A publication that finds its slices no longer listed as this mount's (a failover
        // lost the listing, or they were given up) is sent again whole, with new slices; one
        // that finds its pack full or no longer this mount's (collected), with another.
        // Out of a pack, a part whose block would waste much is sent as two slices; not in a
        // sending of many small pieces (random writes kept back), whose chunks compaction
        // rewrites soon, and where cutting each cost a third of the writes' speed. A big
        // part (a sequential writer's chunk) is, however many there are.
        let cut_parts = cut_parts(&parts);
        // Publications tried with a pack, and without.
        let (mut in_pack, mut tries) = (0, 0);
        let epoch = self.inner.bare.epoch();
        let (v, pack) = loop {
            let pack = if packed {
                Some(self.inner.open_pack()?)
            } else {
                None
            };
            let (ps, sids) = match pack {
                Some(p) => (&parts, vec![p; parts.len()]),
                None => (&cut_parts, self.inner.take_sids(cut_parts.len())?),
            };
            let mut args: Vec<String> = vec![
                ino.to_string(),
                Inner::now(),
                self.inner.limit.to_string(),
                pre.to_owned(),
                end_s.clone(),
                pack.map(|p| p.to_string()).unwrap_or_default(),
            ];
            let mut blob: Vec<u8> = Vec::new();
            let mut slices: Vec<(String, &[u8])> = Vec::with_capacity(ps.len());
            let mut sent = Vec::with_capacity(ps.len());
            let mut nums: Vec<String> = Vec::with_capacity(4 * ps.len());
            for (&(idx, from, to, j, pos), sid) in ps.iter().zip(sids) {
                nums.push(idx.to_string());
                nums.push(from.to_string());
                nums.push(to.to_string());
                nums.push(sid.to_string());
                let bytes = &pieces[j].1[pos..pos + (to - from) as usize];
                if pack.is_some() {
                    blob.extend_from_slice(bytes);
                } else {
                    slices.push((self.inner.keys.slice(sid), bytes));
                    sent.push((idx, sid));
                }
            }
            args.append(&mut nums);
            let mut refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            refs.insert(6, &blob);
            if let Some(t) = then {
                refs.push(t.as_bytes());
            }
            let pack_key = pack.map(|p| self.inner.keys.slice(p));
            if pack.is_some() {
                in_pack += 1;
            } else {
                tries += 1;
            }
            let got = self
                .inner
                .commit_write(ino, &refs, &slices, &sent, pack_key.as_deref())?;
            match (got, pack) {
                (Published::Done(v), _) => break (v, pack),
                // Another pack then; after two, none.
                (Published::Full, Some(p)) => self.inner.seal_pack(p),
                // Collected, or its listing lost (a failover): sealed all the same.
                (Published::Unlisted, Some(p)) => self.inner.seal_pack(p),
                _ if tries >= 3 => {
                    return Err(StoreError::Unavailable(
                        "a write's slices were given up under it three times (failovers?)".into(),
                    ))
                }
                _ => {}
            }
            if in_pack >= 2 {
                packed = false;
            }
        };
        let a = array(&v);
        let fields = a.first().ok_or_else(|| garbled("write"))?;
        let attr = self.inner.attr(ino, fields, epoch)?;
        if let (true, Some(before)) = (kernel, a.get(5).and_then(bytes)) {
            self.inner.versions.moved(ino, before, fields, true);
        }
        self.inner.tell(&[Foreign::Attrs(ino)]);
        if let Some(gc) = a.get(1) {
            self.janitor.drop_slices(array(gc));
        }
        if let Some(sid) = pack {
            let n = |i: usize| a.get(i).and_then(number).unwrap_or(0);
            if pack_full(n(3), n(4), total as u64) {
                // The next small write takes another; this one is sealed off its round trip.
                self.inner.forget_pack(sid);
                if !self.janitor.seal(sid) {
                    self.inner.to_seal.lock().push(sid);
                }
            }
        }
        // The script counts each chunk once, in the order first named.
        let mut idxs: Vec<u64> = parts.iter().map(|p| p.0).collect();
        idxs.dedup();
        let counts = a.get(2).map(array).unwrap_or(&[]);
        for (idx, n) in idxs.iter().zip(counts) {
            if number(n).unwrap_or(0) > COMPACT_AT {
                self.janitor.compact(ino, *idx);
            }
        }
        Ok(attr)
    }
}

/// The sending thread: sends the kept writes of each file queued (`RedisStore::queue_send`).
pub(super) fn sender(inner: Weak<Inner>, janitor: Janitor, queued: mpsc::Receiver<Ino>) {
    for ino in queued {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.behind.dequeued(ino);
        let out = Out {
            inner: &inner,
            janitor: &janitor,
        };
        if let Err(e) = out.send_kept_then(ino, None) {
            debug!("writes kept for inode {ino} not sent yet: {e}");
        }
    }
}

/// A part of a write: chunk index, first byte, end byte, which piece, where in it.
type Part = (u64, u64, u64, usize, usize);

/// `parts`, each cut in two where that costs Redis less (see `write_pieces`).
fn cut_parts(parts: &[Part]) -> Vec<Part> {
    let mut out = Vec::with_capacity(parts.len());
    for &(idx, from, to, j, pos) in parts {
        let cut = (parts.len() <= CUT_PARTS_MAX || to - from >= CUT_ANY_FROM)
            .then(|| sizes::cut(to - from))
            .flatten();
        match cut {
            Some(body) => {
                out.push((idx, from, from + body, j, pos));
                out.push((idx, from + body, to, j, pos + body as usize));
            }
            None => out.push((idx, from, to, j, pos)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{assemble, cut_parts, parse_entry, CHUNK};

    #[test]
    fn spans_are_assembled_from_their_pieces_with_zeros_between() {
        let body = b"abcd".to_vec();
        let got = assemble(
            [6, 3, 4].into_iter(),
            vec![
                (0, 4, b"ef".to_vec()),
                (2, 1, b"xy".to_vec()),
                (0, 0, body),
                (2, 2, b"z".to_vec()),
            ],
        );
        assert_eq!(
            got,
            vec![b"abcdef".to_vec(), vec![0; 3], b"\0xz\0".to_vec()]
        );
        // A piece that is its whole span is taken as it came, not copied.
        let whole = vec![7u8; 4096];
        let at = whole.as_ptr();
        let got = assemble([4096].into_iter(), vec![(0, 0, whole)]);
        assert_eq!(got[0].as_ptr(), at);
        // Bytes past the pieces, up to the span's length, are zeros.
        let got = assemble([5].into_iter(), vec![(0, 0, b"ab".to_vec())]);
        assert_eq!(got, vec![b"ab\0\0\0".to_vec()]);
    }

    #[test]
    fn whole_chunks_are_cut_however_many_go_together() {
        let whole: Vec<_> = (0..8)
            .map(|i| (i, 0, CHUNK, 0, (i * CHUNK) as usize))
            .collect();
        let cut = cut_parts(&whole);
        assert_eq!(cut.len(), 16, "each chunk cut in two");
        assert_eq!(
            (cut[0].2, cut[1].1, cut[1].2),
            (CHUNK - 16, CHUNK - 16, CHUNK)
        );
        assert_eq!(
            cut[3].4,
            (CHUNK + CHUNK - 16) as usize,
            "where its bytes are"
        );
        let small: Vec<_> = (0..8)
            .map(|i| (0, i * 8192, i * 8192 + 4200, i as usize, 0))
            .collect();
        assert_eq!(
            cut_parts(&small),
            small,
            "random writes sent together are not"
        );
        assert_eq!(cut_parts(&small[..2]).len(), 4, "a few are");
    }

    #[test]
    fn overlays_cover_what_comes_before_them() {
        // Slice 7 holds bytes [0, 8192); 9 overlays [1000, 2000) and 10 [0, 8192) later.
        let (len, list) = parse_entry(b"8192|7:0:8192:0/9:1000:1000:0").unwrap();
        assert_eq!(len, 8192);
        assert_eq!(
            list,
            vec![[7, 0, 1000, 0], [7, 2000, 6192, 2000], [9, 1000, 1000, 0]]
        );
        let (_, list) = parse_entry(b"8192|7:0:8192:0/9:1000:1000:0/10:0:8192:0").unwrap();
        assert_eq!(list, vec![[10, 0, 8192, 0]]);
        // An entry of holes alone, then an overlay past them.
        let (len, list) = parse_entry(b"4096/3:8192:10:0").unwrap();
        assert_eq!((len, list), (4096, vec![[3, 8192, 10, 0]]));
        assert_eq!(parse_entry(b"10|1:0:10:0").unwrap().1, vec![[1, 0, 10, 0]]);
        assert!(parse_entry(b"10|1:0:10:0/x").is_none());
    }
}
