//! The copy engine: one job's walk of a source tree into a destination tree.

use super::blocks::{digest, each_block_ahead, hash_block, nonzero_runs};
use super::*;

/// How many times a file that changes while it is copied is copied again before the job
/// gives up on it.
const CHANGED_TRIES: u32 = 3;

/// A push or pull request with its paths parsed.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub src: VPath<'a>,
    pub dst: VPath<'a>,
    pub force: bool,
    pub move_source: bool,
    pub verify: bool,
    pub dry_run: bool,
    /// A resumed job: files already at the destination whole (same size and mtime, and
    /// the same checksum under `verify`) are left as they are.
    pub resume: bool,
    /// A resumed move that had copied everything and begun removing its source.
    pub was_removing: bool,
    /// `dst` is the very name the copy lands at (a resumed job's recorded target), never a
    /// directory to copy into.
    pub exact_dst: bool,
}

impl<'a> Plan<'a> {
    pub fn new(c: &'a Copy) -> Result<Plan<'a>, String> {
        Ok(Plan {
            src: VPath::parse(&c.src)?,
            dst: VPath::parse(&c.dst)?,
            force: c.force,
            move_source: c.move_source,
            verify: c.verify,
            dry_run: c.dry_run,
            resume: false,
            was_removing: false,
            exact_dst: false,
        })
    }
}

pub(super) fn join(base: &str, name: &OsStr) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name.to_string_lossy())
}

/// A name in a directory of one tree, with its path for messages.
struct At<'a, Dir> {
    dir: &'a Dir,
    name: &'a OsStr,
    path: &'a str,
}

/// How one attempt at a file ended.
enum Made {
    Whole,
    /// The source changed while it was read: the copy is not its content at any moment.
    Changed,
}

/// Whether a failed xattr set is the destination refusing that attribute (kept going,
/// reported by name) rather than the destination failing (the job fails).
fn refused_xattr(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EOPNOTSUPP
                | libc::EPERM
                | libc::EACCES
                | libc::EINVAL
                | libc::ERANGE
                | libc::E2BIG
                | libc::ENAMETOOLONG
        )
    )
}

/// The copy engine for one job, from `S` to `D`.
pub struct Copier<'a, S: Tree, D: Tree> {
    pub src: &'a S,
    pub dst: &'a D,
    pub state: &'a JobState,
    /// The bytes a job moves count on each tier, beside the FUSE operations.
    pub counters: &'a Counters,
    force: bool,
    verify: bool,
    resume: bool,
    /// Source inode id → the first copy at the destination and the version it holds, for
    /// hard links.
    links: HashMap<(u64, u64), (D::Key, Meta)>,
    tmp_seq: u64,
    job_id: u64,
    copied: Copied,
    /// Source entries copied whole (or found whole at the destination): what `--move` may
    /// remove, if it is still that version.
    /// By source path: a name made after the copy, or a file renamed over a copied name,
    /// is not taken for what was copied.
    pub(super) done: HashMap<String, Meta>,
}

impl<'a, S: Tree, D: Tree> Copier<'a, S, D> {
    pub fn new(
        src: &'a S,
        dst: &'a D,
        state: &'a JobState,
        counters: &'a Counters,
        plan: &Plan<'_>,
        job_id: u64,
    ) -> Self {
        Copier {
            src,
            dst,
            state,
            counters,
            force: plan.force,
            verify: plan.verify,
            resume: plan.resume,
            links: HashMap::new(),
            tmp_seq: 0,
            job_id,
            copied: Copied::default(),
            done: HashMap::new(),
        }
    }

    fn check_cancel(&self) -> JobResult<()> {
        if self.state.cancel.load(Ordering::Relaxed) {
            return Err(JobError::Cancelled);
        }
        Ok(())
    }

    fn tmp_name(&mut self) -> OsString {
        self.tmp_seq += 1;
        tmp_name(self.job_id, self.tmp_seq)
    }

    /// Walks `comps` from the root of a tree; every component must be a directory.
    pub(super) fn walk<T: Tree>(tree: &T, comps: &[&OsStr]) -> JobResult<T::Dir> {
        let mut dir = tree.root().map_err(|e| fail(tree.label(), e))?;
        let mut path = tree.label().to_owned();
        for c in comps {
            path = join(&path, c);
            dir = tree.child_dir(&dir, c).map_err(|e| fail(&path, e))?;
        }
        Ok(dir)
    }

    /// Counts what a copy of `name` will move, for the progress total.
    fn scan(&self, dir: &S::Dir, name: &OsStr, meta: &Meta, path: &str) -> JobResult<()> {
        self.check_cancel()?;
        not_too_deep(path)?;
        match meta.kind {
            Kind::Dir => {
                let sub = self.src.child_dir(dir, name).map_err(|e| fail(path, e))?;
                for n in self.src.list(&sub).map_err(|e| fail(path, e))? {
                    let p = join(path, &n);
                    if let Some(m) = self.src.stat(&sub, &n).map_err(|e| fail(&p, e))? {
                        self.scan(&sub, &n, &m, &p)?;
                    }
                }
            }
            kind => {
                self.state.files_total.fetch_add(1, Ordering::Relaxed);
                if kind == Kind::File {
                    self.state
                        .bytes_total
                        .fetch_add(meta.size, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    /// Copies `src` to `dst` as `cp -r` would: into `dst` if it is a directory, else to the
    /// name `dst`. Returns what was copied and the source's directory, name and metadata.
    pub fn run(&mut self, req: &Plan<'_>, hooks: &dyn Hooks) -> JobResult<(Copied, Option<Meta>)> {
        let src_comps = &req.src.comps;
        let Some((src_name, src_parents)) = src_comps.split_last() else {
            return Err(JobError::Failed(format!(
                "{}: cannot copy a whole tier; name a file or directory in it",
                req.src
            )));
        };
        let src_dir = Self::walk(self.src, src_parents)?;
        let found = self
            .src
            .stat(&src_dir, src_name)
            .map_err(|e| fail(req.src.text, e))?;
        let src_meta = match found {
            Some(m) => m,
            // A resumed move that had removed its whole source: all of it had arrived.
            None if req.was_removing => {
                self.copied.warn(format!(
                    "{}: already moved (the source was gone); nothing left to do",
                    req.src
                ));
                return Ok((std::mem::take(&mut self.copied), None));
            }
            None if req.resume => {
                return Err(JobError::Failed(format!(
                    "{}: the source is gone, so the job cannot be finished (a vram on the memory store does not outlive its mount); what had arrived at {} stays",
                    req.src, req.dst
                )))
            }
            None => {
                return Err(JobError::Failed(format!(
                    "{}: no such file or directory",
                    req.src
                )))
            }
        };

        let (dst_dir, dst_name, dst_path) = self.destination(req, src_name)?;
        if !req.dry_run {
            hooks.target(&dst_path);
        }
        if req.dry_run {
            self.copied.dry_run = true;
            let (sname, spath) = (src_name, req.src.text);
            let to = At {
                dir: &dst_dir,
                name: &dst_name,
                path: &dst_path,
            };
            self.preview(&src_dir, sname, &src_meta, spath, Some(to))?;
        } else {
            self.scan(&src_dir, src_name, &src_meta, req.src.text)?;
            let from = At {
                dir: &src_dir,
                name: src_name,
                path: req.src.text,
            };
            let to = At {
                dir: &dst_dir,
                name: &dst_name,
                path: &dst_path,
            };
            self.copy(from, &src_meta, to)?;
        }
        Ok((std::mem::take(&mut self.copied), Some(src_meta)))
    }

    /// Where the copy of `src_name` lands: a directory, a name in it, and its path.
    fn destination(
        &self,
        req: &Plan<'_>,
        src_name: &OsStr,
    ) -> JobResult<(D::Dir, OsString, String)> {
        Ok(match req.dst.comps.split_last() {
            None => (
                Self::walk(self.dst, &[])?,
                src_name.to_os_string(),
                join(self.dst.label(), src_name),
            ),
            Some((last, parents)) => {
                let parent = Self::walk(self.dst, parents)?;
                if req.exact_dst {
                    let path = req.dst.text.trim_end_matches('/').to_owned();
                    return Ok((parent, last.to_os_string(), path));
                }
                match self
                    .dst
                    .stat(&parent, last)
                    .map_err(|e| fail(req.dst.text, e))?
                {
                    Some(m) if m.kind == Kind::Dir => (
                        self.dst
                            .child_dir(&parent, last)
                            .map_err(|e| fail(req.dst.text, e))?,
                        src_name.to_os_string(),
                        join(req.dst.text, src_name),
                    ),
                    _ => (
                        parent,
                        last.to_os_string(),
                        req.dst.text.trim_end_matches('/').to_owned(),
                    ),
                }
            }
        })
    }

    /// A dry run of `copy`: counts what would be copied and lists what would stop it.
    fn preview(
        &mut self,
        sdir: &S::Dir,
        sname: &OsStr,
        meta: &Meta,
        spath: &str,
        to: Option<At<'_, D::Dir>>,
    ) -> JobResult<()> {
        self.check_cancel()?;
        not_too_deep(spath)?;
        let dpath = to.as_ref().map_or(String::new(), |t| t.path.to_owned());
        let existing = match &to {
            Some(t) => self.dst.stat(t.dir, t.name).map_err(|e| fail(t.path, e))?,
            None => None,
        };
        if meta.kind != Kind::Dir {
            match &existing {
                Some(m) if m.kind == Kind::Dir => {
                    self.copied.conflict(format!("{dpath}: is a directory"));
                    return Ok(());
                }
                Some(m) if self.resume && m.size == meta.size && m.mtime == meta.mtime => {
                    self.copied.skipped += 1;
                    return Ok(());
                }
                Some(_) if !self.force => {
                    self.copied.conflict(format!(
                        "{dpath}: already exists (use --force to replace it)"
                    ));
                    return Ok(());
                }
                _ => {}
            }
            match meta.kind {
                Kind::File => {
                    self.copied.files += 1;
                    self.copied.bytes += meta.size;
                }
                Kind::Symlink => self.copied.symlinks += 1,
                _ => self.copied.specials += 1,
            }
            return Ok(());
        }
        let sub_dst = match (&existing, &to) {
            (Some(m), Some(t)) if m.kind == Kind::Dir => Some(
                self.dst
                    .child_dir(t.dir, t.name)
                    .map_err(|e| fail(t.path, e))?,
            ),
            (Some(_), _) => {
                self.copied.conflict(format!(
                    "{dpath}: exists and is not a directory (cannot copy the directory {spath} over it)"
                ));
                return Ok(());
            }
            _ => {
                self.copied.dirs += 1;
                None
            }
        };
        let sub_src = self
            .src
            .child_dir(sdir, sname)
            .map_err(|e| fail(spath, e))?;
        for n in self.src.list(&sub_src).map_err(|e| fail(spath, e))? {
            let sp = join(spath, &n);
            let Some(m) = self.src.stat(&sub_src, &n).map_err(|e| fail(&sp, e))? else {
                continue;
            };
            let dp = join(&dpath, &n);
            let to = sub_dst.as_ref().map(|d| At {
                dir: d,
                name: &n,
                path: &dp,
            });
            self.preview(&sub_src, &n, &m, &sp, to)?;
        }
        Ok(())
    }

    fn copy(&mut self, from: At<'_, S::Dir>, meta: &Meta, to: At<'_, D::Dir>) -> JobResult<()> {
        self.check_cancel()?;
        not_too_deep(from.path)?;
        let (ddir, dname, dpath) = (to.dir, to.name, to.path);
        let existing = self.dst.stat(ddir, dname).map_err(|e| fail(dpath, e))?;
        if meta.kind == Kind::Dir {
            return self.copy_dir(from, meta, to, existing);
        }
        if let Some(m) = &existing {
            if m.kind == Kind::Dir {
                return Err(JobError::Failed(format!("{dpath}: is a directory")));
            }
            if self.resume && self.already_there(&from, meta, &to, m)? {
                self.copied.skipped += 1;
                self.state.files_done.fetch_add(1, Ordering::Relaxed);
                self.state
                    .bytes_done
                    .fetch_add(meta.size, Ordering::Relaxed);
                self.remember_link(meta, &to);
                self.done.insert(from.path.to_owned(), meta.clone());
                return Ok(());
            }
            if !self.force {
                return Err(JobError::Failed(format!(
                    "{dpath}: already exists (use --force to replace it)"
                )));
            }
        }
        let mut meta = meta.clone();
        for attempt in 1..=CHANGED_TRIES {
            let tmp = self.tmp_name();
            let aside = At {
                dir: ddir,
                name: &tmp,
                path: dpath,
            };
            let made = self.make_aside(&from, &meta, aside);
            let placed = match made {
                Ok(Made::Whole) => self
                    .dst
                    .rename(ddir, &tmp, dname, self.force)
                    .map_err(|e| fail(dpath, e)),
                Ok(Made::Changed) => {
                    let _ = self.dst.remove(ddir, &tmp, false);
                    let now = self
                        .src
                        .stat(from.dir, from.name)
                        .map_err(|e| fail(from.path, e))?;
                    match now {
                        Some(m) if m.kind == meta.kind && attempt < CHANGED_TRIES => {
                            meta = m;
                            continue;
                        }
                        None => {
                            self.copied.warn(format!(
                                "{}: removed while it was copied; not copied",
                                from.path
                            ));
                            return Ok(());
                        }
                        _ => {
                            return Err(JobError::Failed(format!(
                                "{}: changed while it was copied ({attempt} tries); not copied, the source is kept",
                                from.path
                            )))
                        }
                    }
                }
                Err(e) => Err(e),
            };
            if let Err(e) = placed {
                let _ = self.dst.remove(ddir, &tmp, false);
                return Err(e);
            }
            self.dst.note(ddir, dname);
            self.remember_link(&meta, &to);
            self.done.insert(from.path.to_owned(), meta.clone());
            self.state.files_done.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Ok(())
    }

    /// The first copy of a file with several names, for linking the others to it.
    fn remember_link(&mut self, meta: &Meta, to: &At<'_, D::Dir>) {
        if meta.kind == Kind::File && meta.nlink > 1 && !self.links.contains_key(&meta.id) {
            if let Ok(k) = self.dst.key(to.dir, to.name) {
                self.links.insert(meta.id, (k, meta.clone()));
            }
        }
    }

    /// On resume: whether the destination already holds this very file, placed whole by the
    /// interrupted run (same kind, size and mtime; same checksum under `verify`).
    fn already_there(
        &self,
        from: &At<'_, S::Dir>,
        meta: &Meta,
        to: &At<'_, D::Dir>,
        there: &Meta,
    ) -> JobResult<bool> {
        if there.kind != meta.kind || there.size != meta.size || there.mtime != meta.mtime {
            return Ok(false);
        }
        if !self.verify || meta.kind != Kind::File {
            return Ok(true);
        }
        let cancel = &self.state.cancel;
        let s = self
            .src
            .open_read(from.dir, from.name)
            .map_err(|e| fail(from.path, e))?;
        let d = self
            .dst
            .open_read(to.dir, to.name)
            .map_err(|e| fail(to.path, e))?;
        let same = digest(self.src, &s, meta.size, cancel, from.path)?
            == digest(self.dst, &d, meta.size, cancel, to.path)?;
        if same {
            self.state
                .verified_bytes
                .fetch_add(meta.size, Ordering::Relaxed);
        }
        Ok(same)
    }

    fn copy_dir(
        &mut self,
        from: At<'_, S::Dir>,
        meta: &Meta,
        to: At<'_, D::Dir>,
        existing: Option<Meta>,
    ) -> JobResult<()> {
        let (ddir, dname, dpath) = (to.dir, to.name, to.path);
        let (sub_dst, created) = match existing {
            Some(m) if m.kind == Kind::Dir => (
                self.dst
                    .child_dir(ddir, dname)
                    .map_err(|e| fail(dpath, e))?,
                false,
            ),
            Some(_) => {
                return Err(JobError::Failed(format!(
                    "{dpath}: exists and is not a directory (cannot copy the directory {} over it)",
                    from.path
                )))
            }
            None => {
                let d = self
                    .dst
                    .mkdir(ddir, dname, meta)
                    .map_err(|e| fail(dpath, e))?;
                self.dst.note(ddir, dname);
                self.copied.dirs += 1;
                (d, true)
            }
        };
        let filled = self.copy_entries(&from, &sub_dst, dpath);
        if filled.is_err() && created {
            // Leave no debris: an empty directory made by this job goes; one holding
            // files that did arrive whole keeps them, with its proper mode.
            if self.dst.remove(ddir, dname, true).is_ok() {
                return filled;
            }
        }
        let xattrs = self.src.xattrs(from.dir, from.name);
        let none = Vec::new();
        let finished = self
            .dst
            .finish_dir(&sub_dst, meta, xattrs.as_ref().unwrap_or(&none))
            .map_err(|e| fail(dpath, e));
        self.dst.note(ddir, dname);
        filled?;
        let refused = finished?;
        xattrs.map_err(|e| fail(from.path, e))?;
        self.refused(dpath, refused)?;
        self.done.insert(from.path.to_owned(), meta.clone());
        Ok(())
    }

    /// Copies every entry of the source directory `from` into `sub_dst`.
    fn copy_entries(
        &mut self,
        from: &At<'_, S::Dir>,
        sub_dst: &D::Dir,
        dpath: &str,
    ) -> JobResult<()> {
        let sub_src = self
            .src
            .child_dir(from.dir, from.name)
            .map_err(|e| fail(from.path, e))?;
        for n in self.src.list(&sub_src).map_err(|e| fail(from.path, e))? {
            let sp = join(from.path, &n);
            let Some(m) = self.src.stat(&sub_src, &n).map_err(|e| fail(&sp, e))? else {
                continue; // removed meanwhile
            };
            let dp = join(dpath, &n);
            let f = At {
                dir: &sub_src,
                name: &n,
                path: &sp,
            };
            let t = At {
                dir: sub_dst,
                name: &n,
                path: &dp,
            };
            self.copy(f, &m, t)?;
        }
        Ok(())
    }

    /// Sets each attribute on `dir/name`; those the destination refuses are reported.
    fn put_xattrs(
        &mut self,
        dir: &D::Dir,
        name: &OsStr,
        path: &str,
        xattrs: &Xattrs,
    ) -> JobResult<()> {
        let mut refused = Vec::new();
        for (xn, value) in xattrs {
            if let Err(e) = self.dst.set_xattr(dir, name, xn, value) {
                refused.push((xn.clone(), e));
            }
        }
        self.refused(path, refused)
    }

    /// Attributes the destination would not take: named in a warning where it refuses that
    /// attribute, the job's failure where it failed.
    fn refused(&mut self, path: &str, refused: Refused) -> JobResult<()> {
        for (xn, e) in refused {
            if !refused_xattr(&e) {
                return Err(fail(path, e));
            }
            self.copied.warn(format!(
                "{path}: extended attribute {} not kept ({})",
                xn.to_string_lossy(),
                crate::host::plain_message(&e)
            ));
        }
        Ok(())
    }

    /// Writes the copy of one file, symlink or special file under the temporary name `to`.
    fn make_aside(
        &mut self,
        from: &At<'_, S::Dir>,
        meta: &Meta,
        to: At<'_, D::Dir>,
    ) -> JobResult<Made> {
        let (sdir, sname, spath) = (from.dir, from.name, from.path);
        let (ddir, tmp, dpath) = (to.dir, to.name, to.path);
        match meta.kind {
            Kind::Symlink => {
                let target = self.src.readlink(sdir, sname).map_err(|e| fail(spath, e))?;
                self.dst
                    .symlink(ddir, tmp, &target, meta)
                    .map_err(|e| fail(dpath, e))?;
                self.copied.symlinks += 1;
                return Ok(Made::Whole);
            }
            Kind::File => {}
            _ => {
                let xattrs = self.src.xattrs(sdir, sname).map_err(|e| fail(spath, e))?;
                self.dst
                    .mknod(ddir, tmp, meta)
                    .map_err(|e| fail(dpath, e))?;
                self.put_xattrs(ddir, tmp, dpath, &xattrs)?;
                self.copied.specials += 1;
                return Ok(Made::Whole);
            }
        }
        if meta.nlink > 1 {
            if let Some((key, copied)) = self.links.get(&meta.id) {
                // Written since its first name was copied: that copy is not this version.
                if copied.size != meta.size || copied.mtime != meta.mtime {
                    return Ok(Made::Changed);
                }
                self.dst.link(key, ddir, tmp).map_err(|e| fail(dpath, e))?;
                self.state
                    .bytes_done
                    .fetch_add(meta.size, Ordering::Relaxed);
                return Ok(Made::Whole);
            }
        }
        let input = match self.src.open_read(sdir, sname) {
            Ok(f) => f,
            Err(_) if self.moved_away(from, meta)? => return Ok(Made::Changed),
            Err(e) => return Err(fail(spath, e)),
        };
        let xattrs = self.src.xattrs(sdir, sname).map_err(|e| fail(spath, e))?;
        let out = self
            .dst
            .create(ddir, tmp, meta)
            .map_err(|e| fail(dpath, e))?;
        let mut hash = self.verify.then(blake3::Hasher::new);
        let (src, dst, counters, state) = (self.src, self.dst, self.counters, self.state);
        let mut written = 0u64;
        let copied = each_block_ahead(src, &input, meta.size, &state.cancel, |off, data| {
            let n = data.len() as u64;
            counters.bytes(src.place(), OpKind::JobRead, n);
            if let Some(h) = &mut hash {
                hash_block(h, off, data);
            }
            for (a, b) in nonzero_runs(data) {
                dst.write_at(&out, off + a, &data[a as usize..b as usize])
                    .map_err(|e| fail(dpath, e))?;
                counters.bytes(dst.place(), OpKind::JobWrite, b - a);
            }
            written = written.max(off + n);
            state.bytes_done.fetch_add(n, Ordering::Relaxed);
            state.pace();
            Ok(())
        });
        match copied {
            Ok(()) => {}
            Err(Ok(e)) => return Err(e),
            Err(Err(_)) if self.moved_away(from, meta)? => return Ok(Made::Changed),
            Err(Err(e)) => return Err(fail(spath, e)),
        }
        // Holes read nothing: the progress still covers the whole size.
        let holes = meta.size.saturating_sub(written);
        state.bytes_done.fetch_add(holes, Ordering::Relaxed);
        let now = self.src.stat_open(&input).map_err(|e| fail(spath, e))?;
        if !now.same_version(meta) || self.moved_away(from, meta)? {
            return Ok(Made::Changed);
        }
        dst.set_size(&out, meta.size).map_err(|e| fail(dpath, e))?;
        if let Some(mut h) = hash {
            h.update(&meta.size.to_le_bytes());
            self.check_copy(&out, meta.size, h.finalize(), dpath)?;
        }
        let refused = dst
            .finish(&out, meta, &xattrs)
            .map_err(|e| fail(dpath, e))?;
        self.refused(dpath, refused)?;
        self.copied.files += 1;
        self.copied.bytes += meta.size;
        Ok(Made::Whole)
    }

    /// Whether the source's name no longer leads to the version being copied (removed,
    /// renamed away or replaced, or changed since).
    fn moved_away(&self, from: &At<'_, S::Dir>, meta: &Meta) -> JobResult<bool> {
        let now = self
            .src
            .stat(from.dir, from.name)
            .map_err(|e| fail(from.path, e))?;
        Ok(!now.is_some_and(|m| m.same_version(meta)))
    }

    /// `--verify`: reads the copy back and compares its checksum with the source's.
    fn check_copy(
        &mut self,
        out: &D::File,
        size: u64,
        want: blake3::Hash,
        dpath: &str,
    ) -> JobResult<()> {
        #[cfg(debug_assertions)]
        if std::env::var_os("MAVFS_TEST_CORRUPT_COPIES").is_some() {
            // Test builds only: a copy damaged between writing and reading back.
            let first = self.dst.read_at(out, 0, 1).unwrap_or_default();
            let flipped = [!first.first().copied().unwrap_or(0)];
            let _ = self.dst.write_at(out, 0, &flipped);
        }
        let got = digest(self.dst, out, size, &self.state.cancel, dpath)?;
        if got != want {
            return Err(JobError::Failed(format!(
                "{dpath}: verify failed: the copy read back differs from the source; not placed, the source is kept"
            )));
        }
        self.state.verified_bytes.fetch_add(size, Ordering::Relaxed);
        self.copied.verified_bytes += size;
        Ok(())
    }
}
