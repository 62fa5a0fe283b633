use super::*;

// ---------------------------------------------------------------------------------------------
// Encoding

pub(super) fn kind_char(k: Kind) -> &'static str {
    match k {
        Kind::File => "f",
        Kind::Dir => "d",
        Kind::Symlink => "l",
        Kind::Fifo => "p",
        Kind::Socket => "s",
        Kind::CharDev => "c",
        Kind::BlockDev => "b",
    }
}

pub(super) fn kind_of(c: &[u8]) -> Option<Kind> {
    Some(match c {
        b"f" => Kind::File,
        b"d" => Kind::Dir,
        b"l" => Kind::Symlink,
        b"p" => Kind::Fifo,
        b"s" => Kind::Socket,
        b"c" => Kind::CharDev,
        b"b" => Kind::BlockDev,
        _ => return None,
    })
}

/// `secs.nanos`, with secs negative before 1970 (nanos always count forward).
pub(super) fn time_str(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let mut secs = -(d.as_secs() as i128);
            let mut nanos = d.subsec_nanos();
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            format!("{secs}.{nanos:09}")
        }
    }
}

pub(super) fn parse_time(s: &[u8]) -> SystemTime {
    let s = std::str::from_utf8(s).unwrap_or("0");
    let (secs, nanos) = s.split_once('.').unwrap_or((s, "0"));
    let secs: i64 = secs.parse().unwrap_or(0);
    let nanos: u32 = nanos.parse().unwrap_or(0).min(999_999_999);
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    t.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        .unwrap_or(UNIX_EPOCH)
}

pub(super) fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

pub(super) fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => std::str::from_utf8(bytes(v)?).ok()?.parse().ok(),
    }
}

/// An inode's `xb` (bytes of extended attributes) in an answer of the scripts' `attr`.
pub(super) fn xattr_bytes(v: &Value) -> u64 {
    array(v)
        .chunks_exact(2)
        .find(|p| bytes(&p[0]) == Some(b"xb"))
        .and_then(|p| number(&p[1]))
        .unwrap_or(0)
}

pub(super) fn array(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

pub(super) fn text(v: &Value) -> String {
    bytes(v)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The store's answer was not what its scripts return: a bug or a foreign hand on the keys.
pub(super) fn garbled(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected answer from Redis ({what})"))
}

/// Attributes from an inode hash's field/value list, plus `ne` (a directory's entry count)
/// and `ino` (the inode number, when the caller does not know it: `ino == 0`).
pub(super) fn parse_attr(ino: Ino, v: &Value) -> StoreResult<Attr> {
    let a = array(v);
    if a.is_empty() {
        return Err(StoreError::NotFound);
    }
    let mut f: HashMap<&[u8], &Value> = HashMap::with_capacity(a.len() / 2);
    for pair in a.chunks_exact(2) {
        if let Some(k) = bytes(&pair[0]) {
            f.insert(k, &pair[1]);
        }
    }
    let num = |k: &[u8]| f.get(k).and_then(|v| number(v)).unwrap_or(0);
    let time = |k: &[u8]| {
        f.get(k)
            .and_then(|v| bytes(v))
            .map_or(UNIX_EPOCH, parse_time)
    };
    let kind = f
        .get(&b"k"[..])
        .and_then(|v| bytes(v))
        .and_then(kind_of)
        .ok_or_else(|| garbled("inode kind"))?;
    let (size, allocated) = match kind {
        Kind::File => (num(b"s"), num(b"a")),
        Kind::Dir => (4096.max(num(b"ne") * 32), 0),
        Kind::Symlink => (num(b"s"), num(b"s")),
        _ => (0, 0),
    };
    let ino = if ino == 0 { num(b"ino") } else { ino };
    if ino == 0 {
        return Err(garbled("inode number"));
    }
    Ok(Attr {
        ino,
        kind,
        perm: (num(b"m") & 0o7777) as u16,
        nlink: num(b"n") as u32,
        uid: num(b"u") as u32,
        gid: num(b"g") as u32,
        size,
        allocated,
        rdev: num(b"r") as u32,
        atime: time(b"at"),
        mtime: time(b"mt"),
        ctime: time(b"ct"),
        crtime: time(b"bt"),
    })
}

/// `(chunk index, first byte, end byte)` within each chunk that `[offset, end)` touches.
pub(super) fn spans(offset: u64, end: u64) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    let mut pos = offset;
    while pos < end {
        let idx = pos / CHUNK;
        let base = idx * CHUNK;
        let stop = (base + CHUNK).min(end);
        out.push((idx, pos - base, stop - base));
        pos = stop;
    }
    out
}
