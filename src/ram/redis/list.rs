//! Directory listings on Redis: a directory's entries read whole in one script, or in
//! parts (`HSCAN`) past `LIST_WHOLE_MAX`, sorted by cookie.

use super::*;

/// Entries a listing reads in one script; a bigger directory is read in parts (`HSCAN`),
/// so no one script holds Redis long.
const LIST_WHOLE_MAX: usize = 50_000;
/// Field-value pairs of a hash, as `HSCAN` gives them.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// `LIST_WHOLE_MAX`; in test builds `MAVFS_TEST_LIST_WHOLE_MAX` lowers it, so that a test
/// lists a directory in parts without making 50,000 names.
fn list_whole_max() -> usize {
    #[cfg(debug_assertions)]
    if let Some(n) = std::env::var("MAVFS_TEST_LIST_WHOLE_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    LIST_WHOLE_MAX
}

impl RedisStore {
    /// A directory's parent and, with `entries`, every entry sorted by cookie: one script,
    /// so one moment's listing; in parts above `LIST_WHOLE_MAX` entries, where a name
    /// renamed during the reading may be missed (POSIX leaves it unspecified). With at most
    /// `attrs_max` entries, their attributes too, read in the same script.
    pub(super) fn listing(
        &self,
        dir: Ino,
        entries: bool,
        attrs_max: usize,
    ) -> StoreResult<ListingPlus> {
        let args = [
            dir.to_string(),
            u8::from(entries).to_string(),
            list_whole_max().to_string(),
            attrs_max.to_string(),
        ];
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let epoch = self.inner.bare.epoch();
        let v = self
            .inner
            .script(&self.inner.scripts.readdir, true, &refs)?;
        let a = array(&v);
        let parent = a.first().and_then(number).unwrap_or(ROOT_INO);
        let mut all = Vec::new();
        let mut push = |name: &[u8], e: &[u8]| -> StoreResult<()> {
            let e = parse_entry(e).ok_or_else(|| garbled("readdir entry"))?;
            all.push(DirEntry {
                name: OsString::from_vec(name.to_vec()),
                ino: e.0,
                kind: e.1,
                cookie: e.2,
            });
            Ok(())
        };
        let mut attrs = None;
        match a.get(1) {
            // Too many entries for one script: their count came instead.
            Some(Value::Int(_)) if a.len() == 2 => {
                for (name, e) in self.scan_dir(dir)? {
                    push(&name, &e)?;
                }
            }
            // The entries, then their attributes.
            Some(Value::Array(list)) if a.len() == 3 => {
                for (name, e) in pairs(list)? {
                    push(name, e)?;
                }
                let got = array(&a[2]);
                if got.len() != all.len() {
                    return Err(garbled("readdir attributes"));
                }
                let read = all.iter().zip(got).map(|(e, v)| match array(v) {
                    [] => Err(StoreError::NotFound),
                    _ => self.inner.attr(e.ino, v, epoch),
                });
                attrs = Some(read.collect::<Vec<StoreResult<Attr>>>());
            }
            _ => {
                for (name, e) in pairs(&a[1.min(a.len())..])? {
                    push(name, e)?;
                }
            }
        }
        let (entries, attrs) = match attrs {
            // Sorted by cookie, the attributes with their entries.
            Some(attrs) => {
                let mut both: Vec<_> = all.into_iter().zip(attrs).collect();
                both.sort_unstable_by_key(|(e, _)| e.cookie);
                let (entries, attrs) = both.into_iter().unzip();
                (entries, Some(attrs))
            }
            None => {
                all.sort_unstable_by_key(|e| e.cookie);
                (all, None)
            }
        };
        Ok((DirPage { parent, entries }, attrs))
    }
}

/// A listing's names and entries, as the script gives them: name, entry, name, entry...
fn pairs(list: &[Value]) -> StoreResult<Vec<(&[u8], &[u8])>> {
    list.chunks_exact(2)
        .map(|pair| {
            let name = bytes(&pair[0]).ok_or_else(|| garbled("readdir name"))?;
            let e = bytes(&pair[1]).ok_or_else(|| garbled("readdir entry"))?;
            Ok((name, e))
        })
        .collect()
}

impl RedisStore {
    /// Every entry of a big directory, read with `HSCAN` (which may give a name twice).
    fn scan_dir(&self, dir: Ino) -> StoreResult<HashMap<Vec<u8>, Vec<u8>>> {
        let key = self.inner.keys.dir(dir);
        let mut out = HashMap::new();
        let mut cursor = 0u64;
        loop {
            let (next, part): (u64, Pairs) = self
                .inner
                .pool
                .run(true, |c| {
                    ::redis::cmd("HSCAN")
                        .arg(&key)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(10_000)
                        .query(c)
                })
                .map_err(|e| self.inner.fail(e))?;
            out.extend(part);
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }
}
