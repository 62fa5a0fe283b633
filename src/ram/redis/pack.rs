//! Packs: on one server, the bytes of small files lie many to a string (see the prelude's
//! header of packs). Redis gives a string of 1 KiB a block of 1,280 bytes and a key of its
//! own; in a pack, a file's bytes cost what they hold, and the key is shared.

use super::*;

/// A write of at most this many bytes, all in a file's first chunk, goes into the pack.
pub(super) const PACK_PIECE_MAX: usize = 4096;
/// The most bytes and inodes a pack holds, as the prelude's `PACK_MAX` and `PACK_NAMES`.
pub(super) const PACK_MAX: u64 = 65_530;
pub(super) const PACK_NAMES: u64 = 100;
/// Sparse packs packed again at most per sweep, in rounds of this many.
const REPACK_ROUNDS: usize = 16;
const REPACK_AT_ONCE: usize = 64;

/// Whether a pack a write left `len` bytes and `names` inodes long is full: a write like
/// that one would no longer fit.
pub(super) fn pack_full(len: u64, names: u64, wrote: u64) -> bool {
    len + wrote > PACK_MAX || names >= PACK_NAMES
}

impl Inner {
    /// The pack this mount fills, taken anew if it has none.
    pub(super) fn open_pack(&self) -> StoreResult<u64> {
        if let Some(sid) = *self.pack.lock() {
            return Ok(sid);
        }
        let sid = self.take_sids(1)?[0];
        // Another writer may have taken one meanwhile: that one is filled, and this id, listed
        // as the session's, goes with the session's end.
        Ok(*self.pack.lock().get_or_insert(sid))
    }

    /// Forgets pack `sid`, found no longer this mount's: the next small write takes another.
    pub(super) fn forget_pack(&self, sid: u64) {
        let mut p = self.pack.lock();
        if *p == Some(sid) {
            *p = None;
        }
    }

    /// Stops filling pack `sid`: a write under way into it finds it no longer this mount's
    /// and goes into another.
    pub(super) fn seal_pack(&self, sid: u64) {
        self.forget_pack(sid);
        let key = self.keys.slice(sid);
        let sid_s = sid.to_string();
        match self.publish(&self.scripts.seal, &[], Some(&key), &[sid_s.as_bytes()]) {
            Ok(v) => self.drop_chunks(array(&v)),
            Err(f) => {
                debug!("sealing pack {sid}: {}; at the next sweep", self.fail(f));
                self.to_seal.lock().push(sid);
            }
        }
    }

    /// Seals the pack this mount fills, if any, and those whose sealing failed (at each
    /// sweep and at unmount).
    pub(super) fn seal_open_pack(&self) {
        let mut all = std::mem::take(&mut *self.to_seal.lock());
        all.extend(*self.pack.lock());
        for sid in all {
            self.seal_pack(sid);
        }
    }

    /// Packs the bytes still named in sparse packs again, a round of them per new pack.
    pub(super) fn repack_sparse(&self) {
        if self.cluster() {
            return;
        }
        let sparse = format!("{}:sparse", self.keys.tag);
        for _ in 0..REPACK_ROUNDS {
            let mut p = ::redis::pipe();
            p.cmd("SRANDMEMBER").arg(&sparse).arg(REPACK_AT_ONCE);
            let members = match self.pipe(true, &p) {
                Ok(v) => v
                    .first()
                    .map(array)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(bytes)
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>(),
                Err(e) => {
                    debug!("listing sparse packs: {e}");
                    return;
                }
            };
            if members.is_empty() {
                return;
            }
            let Ok(new) = self.take_sids(1).map(|v| v[0]) else {
                return;
            };
            let key = self.keys.slice(new);
            let new_s = new.to_string();
            let mut args: Vec<&[u8]> = vec![new_s.as_bytes()];
            args.extend(members.iter().map(Vec::as_slice));
            match self.publish(&self.scripts.repack, &[], Some(&key), &args) {
                Ok(v) => {
                    self.drop_chunks(array(&v));
                    // All listed were seen: those left wait for the next sweep.
                    if members.len() < REPACK_AT_ONCE {
                        return;
                    }
                }
                Err(f) => {
                    debug!("packing sparse packs again: {}", self.fail(f));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_the_scripts_own() {
        assert!(PRELUDE.contains(&format!("local PACK_MAX = {PACK_MAX}\n")));
        assert!(PRELUDE.contains(&format!("local PACK_NAMES = {PACK_NAMES}\n")));
    }
}
