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

/// A time as Redis keeps it: nanoseconds since the epoch, an integer that Redis stores in
/// 8 bytes; `secs.nanos` (secs negative before 1970, nanos counting forward) for a time
/// outside what 64 bits of nanoseconds hold (before 1678 or after 2262), and in data an
/// older format wrote.
pub(super) fn time_str(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i128::from(d.as_secs()), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            match d.subsec_nanos() {
                0 => (-i128::from(d.as_secs()), 0),
                n => (-i128::from(d.as_secs()) - 1, 1_000_000_000 - n),
            }
        }
    };
    let total = secs * 1_000_000_000 + i128::from(nanos);
    match i64::try_from(total) {
        Ok(n) => n.to_string(),
        Err(_) => format!("{secs}.{nanos:09}"),
    }
}

pub(super) fn parse_time(s: &[u8]) -> SystemTime {
    let s = std::str::from_utf8(s).unwrap_or("0");
    let (secs, nanos) = match s.split_once('.') {
        Some((secs, nanos)) => (
            secs.parse().unwrap_or(0),
            nanos.parse().unwrap_or(0).min(999_999_999),
        ),
        None => {
            let n: i64 = s.parse().unwrap_or(0);
            (
                n.div_euclid(1_000_000_000),
                n.rem_euclid(1_000_000_000) as u32,
            )
        }
    };
    let secs: i64 = secs;
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
        // Left out while they equal mtime and atime (the prelude's `touch`).
        ctime: if f.contains_key(&b"ct"[..]) {
            time(b"ct")
        } else {
            time(b"mt")
        },
        crtime: if f.contains_key(&b"bt"[..]) {
            time(b"bt")
        } else {
            time(b"at")
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_as_integers_and_beyond_them() {
        let at = |secs: i64, nanos: u32| {
            let base = if secs >= 0 {
                UNIX_EPOCH + Duration::from_secs(secs as u64)
            } else {
                UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
            };
            base + Duration::from_nanos(u64::from(nanos))
        };
        for (secs, nanos) in [
            (0, 0),
            (1_796_531_152, 304_720_370),
            (-1, 500_000_000),
            (-2, 0),
            (9_000_000_000, 1),
            (20_000_000_000, 999_999_999),
            (-20_000_000_000, 7),
        ] {
            let t = at(secs, nanos);
            let s = time_str(t);
            assert_eq!(parse_time(s.as_bytes()), t, "{secs}.{nanos:09} as {s}");
            // Integers wherever 64 bits of nanoseconds hold the time.
            assert_eq!(s.contains('.'), secs.abs() > 9_000_000_000, "{s}");
        }
        assert_eq!(time_str(at(1, 5)), "1000000005");
        assert_eq!(time_str(at(-1, 500_000_000)), "-500000000");
        // What an older format wrote still reads.
        assert_eq!(
            parse_time(b"1796531152.304720370"),
            at(1_796_531_152, 304_720_370)
        );
        assert_eq!(parse_time(b"-2.500000000"), at(-2, 500_000_000));
    }
}
