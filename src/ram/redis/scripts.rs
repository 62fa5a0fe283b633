use super::*;

// ---------------------------------------------------------------------------------------------
// Lua. Every script gets KEYS[1] = `{P}:meta` and builds the other `{P}` keys from it.

/// Helpers prepended to every script.
pub(super) const PRELUDE: &str = include_str!("lua/prelude.lua");

/// ARGV: format, uid, gid, now, and the first inode number and slice id (1 and 0 if not
/// given).
pub(super) const INIT: &str = include_str!("lua/init.lua");

/// ARGV: parent, name. Returns the attributes of the entry.
pub(super) const LOOKUP: &str = include_str!("lua/lookup.lua");

/// ARGV: dir, entries (1: with them), most entries. Returns {parent, name, entry, ...}: every
/// entry, unsorted; or {parent, count} past the most.
pub(super) const READDIR: &str = include_str!("lua/readdir.lua");

/// ARGV: parent, name, kind, perm, uid, gid, rdev, target, now, limit.
pub(super) const CREATE: &str = include_str!("lua/create.lua");

/// ARGV: ino, newparent, newname, now.
pub(super) const LINK: &str = include_str!("lua/link.lua");

/// ARGV: source, parent, name, now, limit. Returns {attr of the clone, attr of parent}.
pub(super) const CLONE: &str = include_str!("lua/clone.lua");

/// unlink and rmdir. ARGV: parent, name, '1' for rmdir, now, session. Returns the file or
/// directory kept for the session (its last link went), or 0.
pub(super) const REMOVE: &str = include_str!("lua/remove.lua");

/// ARGV: parent, name, newparent, newname, mode (r n x), now, session. Returns the replaced
/// file or directory kept for the session (its last link went), or 0.
pub(super) const RENAME: &str = include_str!("lua/rename.lua");

/// ARGV: ino, now, error to give after the existence check (or ''), perm, uid, gid, size,
/// index of the chunk holding the new end, bytes of it kept, atime, mtime, ctime ('' = keep).
/// Returns {attr, chunks to delete, chunks cut, a file's version before (as open.lua names it)}.
pub(super) const SETATTR: &str = include_str!("lua/setattr.lua");

/// Publishes a write's slices. KEYS: meta, this mount's unpublished slices, and on one
/// server the slices, or the pack. ARGV: ino, now, limit, error to give after the existence
/// check (or ''), new end ('' for an empty write), the pack ('' for none), the bytes for it,
/// then per piece: chunk index, first byte, end byte (within the chunk), slice id. Returns
/// {attr, slices no longer used, slice counts, the pack's length and names}.
pub(super) const WRITE: &str = include_str!("lua/write.lua");

/// One server only (it reads slices it does not declare). ARGV: ino, then per chunk: index,
/// first byte, end byte. Returns {kind, size, {entry, position, bytes, ...} per chunk}.
pub(super) const READ: &str = include_str!("lua/read.lua");
/// ARGV: ino, then chunk indexes. Returns {kind, size, entry or false per index}.
pub(super) const CHUNKS: &str = include_str!("lua/chunks.lua");
pub(super) const SIDS: &str = include_str!("lua/sids.lua");
pub(super) const COMPACT: &str = include_str!("lua/compact.lua");

/// fallocate mode 0. ARGV: ino, now, limit, error after the existence check (or ''), '1' to
/// keep the size, end, first chunk, last chunk, bytes wanted in the last chunk.
/// Returns {index, length before, length after} of every chunk that grew.
pub(super) const ALLOCATE: &str = include_str!("lua/allocate.lua");

/// Punch hole and zero range. ARGV: ino, now, error after the existence check (or ''),
/// '1' to grow the size to the end, offset, end. Returns {chunks to delete, and per chunk
/// whose middle must be zeroed: index, from, to}.
pub(super) const ZERO: &str = include_str!("lua/zero.lua");

/// ARGV: ino, name, value, how (a c r), now, limit.
pub(super) const SETXATTR: &str = include_str!("lua/setxattr.lua");

/// ARGV: ino, name, now.
pub(super) const REMOVEXATTR: &str = include_str!("lua/removexattr.lua");

/// ARGV: ino, session, the most bytes to bring back ('0': none), the version whose pages the
/// mount keeps. Returns the version, or {version, size, span} with the file's bytes.
pub(super) const OPEN: &str = include_str!("lua/open.lua");

/// ARGV: ino, session. Returns the chunks to delete.
pub(super) const RELEASE: &str = include_str!("lua/release.lua");

/// Gives back the opens of mounts whose heartbeat has expired. ARGV: this mount's session.
/// Returns {sessions reaped, chunks to delete}.
pub(super) const SWEEP: &str = include_str!("lua/sweep.lua");

/// ARGV: session, ino, then chunk index and slice id per slice sent for it. Returns those
/// given up (to delete).
pub(super) const ABANDON: &str = include_str!("lua/abandon.lua");

/// One step of deleting an older format's per-directory sets. ARGV: SCAN cursor. Returns the
/// next one ('0': done).
pub(super) const DC_SWEEP: &str = include_str!("lua/dc_sweep.lua");

/// Ends the filling of a pack. ARGV: its slice id. Returns the slices to delete.
pub(super) const SEAL: &str = include_str!("lua/seal.lua");

/// Packs sparse packs again into a new one. ARGV: the new pack's slice id, the old ones'.
/// Returns the slices to delete.
pub(super) const REPACK: &str = include_str!("lua/repack.lua");

/// Up to ARGV[1] slice ids from the gc set, for the caller to delete and unlist.
pub(super) const GC_CLAIM: &str = include_str!("lua/gc_claim.lua");

/// The scripts, with a Redis 7 flags line where the server knows them: read-only scripts run
/// even when Redis is out of memory, and so do those that only free (so a full store can be
/// emptied), while those that take space are refused up front.
pub(super) struct Scripts {
    pub(super) init: Script,
    pub(super) lookup: Script,
    pub(super) readdir: Script,
    pub(super) create: Script,
    pub(super) link: Script,
    pub(super) clone: Script,
    pub(super) remove: Script,
    pub(super) rename: Script,
    pub(super) setattr: Script,
    pub(super) write: Script,
    pub(super) read: Script,
    pub(super) chunks: Script,
    pub(super) compact: Script,
    pub(super) sids: Script,
    pub(super) allocate: Script,
    pub(super) zero: Script,
    pub(super) setxattr: Script,
    pub(super) removexattr: Script,
    pub(super) open: Script,
    pub(super) release: Script,
    pub(super) sweep: Script,
    pub(super) gc_claim: Script,
    pub(super) abandon: Script,
    pub(super) dc_sweep: Script,
    pub(super) seal: Script,
    pub(super) repack: Script,
}

#[derive(Clone, Copy)]
pub(super) enum Flags {
    ReadOnly,
    Takes,
    Frees,
}

impl Scripts {
    pub(super) fn new(flags_known: bool) -> Self {
        let s = |body: &str, f: Flags| {
            let head = match (flags_known, f) {
                (false, _) => "",
                (true, Flags::ReadOnly) => "#!lua flags=no-writes\n",
                (true, Flags::Takes) => "#!lua\n",
                (true, Flags::Frees) => "#!lua flags=allow-oom\n",
            };
            Script::new(&format!("{head}{PRELUDE}{body}"))
        };
        use Flags::*;
        Scripts {
            init: s(INIT, Takes),
            lookup: s(LOOKUP, ReadOnly),
            readdir: s(READDIR, ReadOnly),
            create: s(CREATE, Takes),
            link: s(LINK, Takes),
            clone: s(CLONE, Takes),
            remove: s(REMOVE, Frees),
            rename: s(RENAME, Frees),
            setattr: s(SETATTR, Frees),
            write: s(WRITE, Takes),
            read: s(READ, ReadOnly),
            chunks: s(CHUNKS, ReadOnly),
            sids: s(SIDS, Takes),
            compact: s(COMPACT, Frees),
            allocate: s(ALLOCATE, Takes),
            zero: s(ZERO, Frees),
            setxattr: s(SETXATTR, Takes),
            removexattr: s(REMOVEXATTR, Frees),
            open: s(OPEN, Frees),
            release: s(RELEASE, Frees),
            sweep: s(SWEEP, Frees),
            gc_claim: s(GC_CLAIM, ReadOnly),
            abandon: s(ABANDON, Frees),
            dc_sweep: s(DC_SWEEP, Frees),
            seal: s(SEAL, Frees),
            repack: s(REPACK, Takes),
        }
    }
}
