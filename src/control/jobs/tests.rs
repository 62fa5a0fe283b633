//! The copy engine on two real trees without the kernel: a memory store and a host
//! directory (`DiskTier` on a temporary directory).

use super::*;
use crate::counters::Counters;
use crate::disk::DiskTier;
use crate::ram::{MemoryStore, ROOT_INO};
use std::fs;

struct Trees {
    ram: RamTree,
    host: HostTree,
    dir: tempfile::TempDir,
}

fn trees() -> Trees {
    let dir = tempfile::tempdir().unwrap();
    Trees {
        ram: RamTree::new(Arc::new(MemoryStore::new(1 << 30, 0, 0))),
        host: HostTree::new(Arc::new(DiskTier::new(dir.path()).unwrap())),
        dir,
    }
}

/// What a new entry of `kind` is made with.
fn meta(kind: Kind, perm: u16) -> Meta {
    Meta {
        kind,
        perm,
        uid: 0,
        gid: 0,
        size: 0,
        nlink: 1,
        atime: SystemTime::UNIX_EPOCH,
        mtime: SystemTime::UNIX_EPOCH,
        id: (0, 0),
        allocated: 0,
        ctime: SystemTime::UNIX_EPOCH,
        rdev: 0,
    }
}

fn copy(src: &str, dst: &str, move_source: bool, force: bool) -> Copy {
    Copy {
        src: src.into(),
        dst: dst.into(),
        move_source,
        force,
        verify: false,
        dry_run: false,
        rate: None,
    }
}

/// `name` under the ram root with `data`.
fn ram_file(t: &Trees, dir: Ino, name: &str, data: &[u8]) -> Ino {
    let f = t
        .ram
        .create(&dir, OsStr::new(name), &meta(Kind::File, 0o640))
        .unwrap();
    t.ram.write_at(&f, 0, data).unwrap();
    t.ram
        .finish(&f, &meta(Kind::File, 0o640), &Vec::new())
        .unwrap();
    f
}

struct NoHooks;

impl Hooks for NoHooks {
    fn target(&self, _: &str) {}
    fn removing(&self) {}
}

fn push(t: &Trees, req: &Copy, state: &JobState) -> JobResult<Copied> {
    let plan = Plan::new(req).map_err(JobError::Failed)?;
    run_copy(
        &t.ram,
        &t.host,
        &plan,
        state,
        &Counters::default(),
        1,
        &NoHooks,
    )
}

#[test]
fn a_tree_is_copied_whole_with_its_kinds_and_modes() {
    let t = trees();
    let dmeta = meta(Kind::Dir, 0o750);
    let d = t.ram.mkdir(&ROOT_INO, OsStr::new("d"), &dmeta).unwrap();
    ram_file(&t, d, "a", b"alpha");
    let sub = t.ram.mkdir(&d, OsStr::new("s"), &dmeta).unwrap();
    ram_file(&t, sub, "b", &vec![7u8; 3 << 20]);
    t.ram.finish_dir(&sub, &dmeta, &Vec::new()).unwrap();
    t.ram.finish_dir(&d, &dmeta, &Vec::new()).unwrap();
    let lmeta = meta(Kind::Symlink, 0o777);
    t.ram.symlink(&d, OsStr::new("l"), b"a", &lmeta).unwrap();
    let done = push(
        &t,
        &copy("/vram/d", "/vdisk/d", false, false),
        &JobState::default(),
    )
    .unwrap();
    assert_eq!((done.files, done.dirs, done.symlinks), (2, 2, 1));
    let root = t.dir.path();
    assert_eq!(fs::read(root.join("d/a")).unwrap(), b"alpha");
    assert_eq!(fs::read(root.join("d/s/b")).unwrap(), vec![7u8; 3 << 20]);
    assert_eq!(fs::read_link(root.join("d/l")).unwrap().as_os_str(), "a");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!((mode("d"), mode("d/a")), (0o750, 0o640));
    // Nothing of the job's own is left behind.
    let names: Vec<_> = fs::read_dir(root.join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(names.iter().all(|n| !is_tmp_name(n)), "{names:?}");
}

#[test]
fn an_existing_file_needs_force_and_move_removes_the_source() {
    let t = trees();
    ram_file(&t, ROOT_INO, "f", b"new");
    fs::write(t.dir.path().join("f"), b"old").unwrap();
    let e = push(
        &t,
        &copy("/vram/f", "/vdisk/f", false, false),
        &JobState::default(),
    );
    match e {
        Err(JobError::Failed(m)) => assert!(m.contains("--force"), "{m}"),
        Err(JobError::Cancelled) => panic!("cancelled"),
        Ok(c) => panic!("replaced without --force: {c:?}"),
    }
    assert_eq!(
        fs::read(t.dir.path().join("f")).unwrap(),
        b"old",
        "untouched without --force"
    );
    push(
        &t,
        &copy("/vram/f", "/vdisk/f", true, true),
        &JobState::default(),
    )
    .unwrap();
    assert_eq!(fs::read(t.dir.path().join("f")).unwrap(), b"new");
    assert!(
        t.ram.stat(&ROOT_INO, OsStr::new("f")).unwrap().is_none(),
        "moved: source gone"
    );
}

#[test]
fn a_cancelled_job_leaves_neither_copy_nor_debris() {
    let t = trees();
    ram_file(&t, ROOT_INO, "big", &vec![1u8; 4 << 20]);
    let state = JobState::default();
    state.cancel.store(true, Ordering::Relaxed);
    let r = push(&t, &copy("/vram/big", "/vdisk/big", true, false), &state);
    assert!(matches!(r, Err(JobError::Cancelled)));
    assert_eq!(
        fs::read_dir(t.dir.path()).unwrap().count(),
        0,
        "debris left"
    );
    assert!(
        t.ram.stat(&ROOT_INO, OsStr::new("big")).unwrap().is_some(),
        "a cancelled move keeps the source"
    );
}
