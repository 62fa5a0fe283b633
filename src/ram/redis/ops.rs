//! The steps several operations share: creating and removing names, reading attributes,
//! giving back opens, and telling the other mounts.

use super::*;

impl RedisStore {
    /// `create`; `open`: the new inode starts opened by this session.
    pub(super) fn create_as(
        &self,
        parent: Ino,
        name: &OsStr,
        node: &NewNode<'_>,
        open: bool,
    ) -> StoreResult<Attr> {
        // A notice heard while the mkdir ran may be of a name made in it already.
        let heard = self.inner.notices.heard();
        let r = self.create_script(parent, name, node, open);
        let known = &self.inner.known;
        match &r {
            Ok(a) => {
                let n = &self.inner.notices;
                // Only where another mount's change of it would be heard (see `unmade`).
                if open && n.hearing() && n.heard() == heard {
                    self.inner.behind.made(a);
                }
                if a.kind == Kind::Dir && n.hearing() && n.heard() == heard {
                    known.made(a.ino);
                }
                known.add(parent, name);
            }
            Err(_) => known.forget(parent),
        }
        r
    }

    fn create_script(
        &self,
        parent: Ino,
        name: &OsStr,
        node: &NewNode<'_>,
        open: bool,
    ) -> StoreResult<Attr> {
        self.inner.writable()?;
        check_name(name)?;
        let target: &[u8] = if node.kind == Kind::Symlink {
            node.target
        } else {
            b""
        };
        let nums = [
            parent.to_string(),
            u32::from(node.perm & 0o7777).to_string(),
            node.uid.to_string(),
            node.gid.to_string(),
            node.rdev.to_string(),
            Inner::now(),
            self.inner.limit.to_string(),
        ];
        let session: &[u8] = if open { self.inner.sid.as_bytes() } else { b"" };
        let (acl, from, access): (&[u8], &[u8], &[u8]) = match node.acl {
            Inherit::Ignore => (b"", b"", b""),
            Inherit::Absent => (b"n", b"", b""),
            Inherit::From { from, access } => (b"f", from, access.unwrap_or_default()),
        };
        let args: [&[u8]; 14] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            kind_char(node.kind).as_bytes(),
            nums[1].as_bytes(),
            nums[2].as_bytes(),
            nums[3].as_bytes(),
            nums[4].as_bytes(),
            target,
            nums[5].as_bytes(),
            nums[6].as_bytes(),
            session,
            acl,
            from,
            access,
        ];
        let mut change = self.inner.dirs.change(&[parent]);
        let epoch = self.inner.bare.epoch();
        let v = self
            .inner
            .script(&self.inner.scripts.create, false, &args)?;
        let a = array(&v);
        if let [tag, d] = a {
            if bytes(tag) == Some(b"acl") {
                return Err(StoreError::DefaultAcl(
                    bytes(d).unwrap_or_default().to_vec(),
                ));
            }
        }
        let fields = a.first().ok_or_else(|| garbled("create"))?;
        let attr = self.inner.attr(0, fields, epoch)?;
        if open && attr.kind == Kind::File {
            self.inner.versions.made(attr.ino, fields);
        }
        change.answer_value(a.get(1));
        // A new name: a mount that holds it as absent must hear of it.
        self.tell(&[Foreign::Name(parent, name.to_os_string())]);
        Ok(attr)
    }

    /// Sends every file's kept writes (at unmount): what fails is logged, as lost.
    pub(super) fn send_or_warn(&self) {
        for ino in self.inner.behind.files() {
            if let Err(e) = self.send_kept(ino) {
                warn!("writes to inode {ino} were lost: {e}");
            }
        }
    }

    /// Gives back an open of this session, on the release thread.
    pub(super) fn release_later(&self, ino: Ino) {
        self.releasing.fetch_add(1, Ordering::AcqRel);
        self.send_release(ino);
    }

    /// Hands the release thread an open already counted in `releasing`.
    pub(super) fn send_release(&self, ino: Ino) {
        if self.to_release.send(ino).is_err() {
            self.release_now(ino);
            self.releasing.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Gives back an open of this session before returning; the reaped file's slices go to
    /// the janitor.
    pub(super) fn release_now(&self, ino: Ino) {
        self.janitor.drop_slices(array(&self.inner.release(&[ino])));
    }

    /// Chunks a truncate or punch kept in part still hold the cut bytes in their slices:
    /// compacting them gives that memory back.
    pub(super) fn compact_cut(&self, ino: Ino, cut: Option<&Value>) {
        for idx in cut.map(array).unwrap_or(&[]).iter().filter_map(number) {
            self.janitor.compact(ino, idx);
        }
    }

    /// An inode's attributes as Redis holds them.
    pub(super) fn fetch_attr(&self, ino: Ino) -> StoreResult<Attr> {
        self.fetch_attrs(&[ino])?
            .pop()
            .unwrap_or_else(|| Err(garbled("getattr")))
    }

    /// Several inodes' attributes, in one round trip.
    pub(super) fn fetch_attrs(&self, inos: &[Ino]) -> StoreResult<Vec<StoreResult<Attr>>> {
        if inos.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = ::redis::pipe();
        for &ino in inos {
            p.cmd("HGETALL").arg(self.inner.keys.inode(ino));
            p.cmd("HLEN").arg(self.inner.keys.dir(ino));
        }
        let epoch = self.inner.bare.epoch();
        let v = self.inner.pipe(true, &p)?;
        if v.len() != 2 * inos.len() {
            return Err(garbled("getattr"));
        }
        Ok(inos
            .iter()
            .zip(v.chunks_exact(2))
            .map(|(&ino, r)| {
                let mut list = array(&r[0]).to_vec();
                if list.is_empty() {
                    return Err(StoreError::NotFound);
                }
                list.push(Value::BulkString(b"ne".to_vec()));
                list.push(Value::Int(number(&r[1]).unwrap_or(0) as i64));
                self.inner.attr(ino, &Value::Array(list), epoch)
            })
            .collect())
    }

    pub(super) fn remove(&self, parent: Ino, name: &OsStr, dir: bool) -> StoreResult<()> {
        let r = self.remove_script(parent, name, dir);
        match r {
            Ok(gone) => {
                self.inner.known.remove(parent, name);
                self.inner.known.forget(gone);
                Ok(())
            }
            Err(e) => {
                self.inner.known.forget(parent);
                Err(e)
            }
        }
    }

    /// The inode whose name went (0 if the script did not say).
    fn remove_script(&self, parent: Ino, name: &OsStr, dir: bool) -> StoreResult<Ino> {
        check_removable(name)?;
        let nums = [parent.to_string(), Inner::now()];
        let args: [&[u8]; 5] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            if dir { b"1" } else { b"0" },
            nums[1].as_bytes(),
            self.inner.sid.as_bytes(),
        ];
        let mut change = self.inner.dirs.change(&[parent]);
        let v = self
            .inner
            .script(&self.inner.scripts.remove, false, &args)?;
        let a = array(&v);
        self.unlinked(a.first());
        change.answer_value(a.get(1));
        let gone = a.get(2).and_then(number).unwrap_or(0);
        self.inner.dirs.drop(gone);
        self.tell(&[
            Foreign::Name(parent, name.to_os_string()),
            Foreign::Attrs(gone),
        ]);
        Ok(gone)
    }

    /// Notices of this mount's change for the other mounts.
    pub(super) fn tell(&self, changed: &[Foreign]) {
        self.inner.tell(changed);
    }

    /// After a remove or rename: keeps the inode whose last link went (the script's answer)
    /// only while this mount's kernel still holds it.
    pub(super) fn unlinked(&self, v: Option<&Value>) {
        let held = v.and_then(number).unwrap_or(0);
        // Held by nobody: given back now, so the unlink's space is free when it returns.
        if held != 0 && !self.refs.adopt(held) {
            self.release_now(held);
        }
    }

    pub(super) fn link_script(
        &self,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> StoreResult<Attr> {
        self.inner.writable()?;
        self.send_kept(ino)?;
        check_name(newname)?;
        let nums = [ino.to_string(), newparent.to_string(), Inner::now()];
        let args: [&[u8]; 4] = [
            nums[0].as_bytes(),
            nums[1].as_bytes(),
            newname.as_bytes(),
            nums[2].as_bytes(),
        ];
        let mut change = self.inner.dirs.change(&[newparent]);
        let epoch = self.inner.bare.epoch();
        let v = self.inner.script(&self.inner.scripts.link, false, &args)?;
        let a = array(&v);
        let attr = self
            .inner
            .attr(ino, a.first().ok_or_else(|| garbled("link"))?, epoch)?;
        change.answer_value(a.get(1));
        self.tell(&[
            Foreign::Attrs(ino),
            Foreign::Name(newparent, newname.to_os_string()),
        ]);
        Ok(attr)
    }

    pub(super) fn clone_script(&self, src: Ino, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        self.inner.writable()?;
        // What cannot be sent now is cloned as Redis holds it.
        if let Err(e) = self.send_all_kept() {
            debug!("cloning with writes kept back: {e}");
        }
        check_name(name)?;
        let nums = [
            src.to_string(),
            parent.to_string(),
            Inner::now(),
            self.inner.limit.to_string(),
        ];
        let args: [&[u8]; 5] = [
            nums[0].as_bytes(),
            nums[1].as_bytes(),
            name.as_bytes(),
            nums[2].as_bytes(),
            nums[3].as_bytes(),
        ];
        let mut change = self.inner.dirs.change(&[parent]);
        let v = self.inner.script(&self.inner.scripts.clone, false, &args)?;
        let a = array(&v);
        // The clone's number comes with its attributes.
        let attr = parse_attr(0, a.first().ok_or_else(|| garbled("clone"))?)?;
        change.answer_value(a.get(1));
        self.tell(&[Foreign::Name(parent, name.to_os_string())]);
        Ok(attr)
    }

    pub(super) fn rename_script(
        &self,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        mode: RenameMode,
    ) -> StoreResult<()> {
        self.inner.writable()?;
        check_name(name)?;
        check_name(newname)?;
        let mode = match mode {
            RenameMode::Replace => "r",
            RenameMode::NoReplace => "n",
            RenameMode::Exchange => "x",
        };
        let nums = [parent.to_string(), newparent.to_string(), Inner::now()];
        let args: [&[u8]; 7] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            nums[1].as_bytes(),
            newname.as_bytes(),
            mode.as_bytes(),
            nums[2].as_bytes(),
            self.inner.sid.as_bytes(),
        ];
        let mut change = self.inner.dirs.change(&[parent, newparent]);
        let v = self
            .inner
            .script(&self.inner.scripts.rename, false, &args)?;
        let a = array(&v);
        self.unlinked(a.first());
        change.answer_value(a.get(1));
        change.answer_value(a.get(2));
        let mut told = vec![
            Foreign::Name(parent, name.to_os_string()),
            Foreign::Name(newparent, newname.to_os_string()),
        ];
        for moved in a.iter().skip(3).filter_map(number) {
            self.inner.dirs.drop(moved);
            told.push(Foreign::Attrs(moved));
        }
        self.tell(&told);
        Ok(())
    }
}
