//! `DiskTier` on a temporary directory, without the kernel: it never reaches outside its
//! directory, whatever names it is given and whatever is swapped under it.

use super::*;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;

fn tier() -> (tempfile::TempDir, tempfile::TempDir, DiskTier) {
    let inside = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let t = DiskTier::new(inside.path()).unwrap();
    (inside, outside, t)
}

fn errno(r: io::Result<impl std::fmt::Debug>) -> i32 {
    r.unwrap_err().raw_os_error().unwrap_or(-1)
}

#[test]
fn names_that_climb_or_nest_are_refused() {
    let (_i, _o, t) = tier();
    for bad in ["..", ".", "a/b", "../etc", ""] {
        let e = errno(t.mkdir(ROOT_ID, OsStr::new(bad), 0o755, 0, 0));
        assert!(
            e == libc::EINVAL || e == libc::EEXIST,
            "mkdir {bad:?}: errno {e}"
        );
        let e = errno(t.lookup(ROOT_ID, OsStr::new(bad)));
        assert!(
            e == libc::EINVAL || e == libc::ENOENT,
            "lookup {bad:?}: errno {e}"
        );
    }
    assert_eq!(
        errno(t.lookup(ROOT_ID, OsStr::new(&"n".repeat(256)))),
        libc::ENAMETOOLONG
    );
}

#[test]
fn a_symlink_out_of_the_tier_is_never_followed() {
    let (inside, outside, t) = tier();
    fs::write(outside.path().join("secret"), b"outside").unwrap();
    symlink(outside.path(), inside.path().join("out")).unwrap();
    let a = t.lookup(ROOT_ID, OsStr::new("out")).unwrap();
    assert_eq!(a.kind, Kind::Symlink, "looked up, not followed");
    // Through the link neither a lookup nor a create reaches the other directory.
    assert!(t.lookup(a.ino, OsStr::new("secret")).is_err());
    assert!(t
        .create(a.ino, OsStr::new("planted"), 0o644, libc::O_WRONLY, 0, 0)
        .is_err());
    assert!(t.open(a.ino, libc::O_RDONLY).is_err());
    assert!(!outside.path().join("planted").exists());
}

#[test]
fn a_directory_swapped_for_a_symlink_keeps_work_inside() {
    let (inside, outside, t) = tier();
    let d = t.mkdir(ROOT_ID, OsStr::new("d"), 0o755, 0, 0).unwrap();
    // Under the tier's feet: the directory moves away and a link to elsewhere takes its name.
    fs::rename(inside.path().join("d"), inside.path().join("moved")).unwrap();
    symlink(outside.path(), inside.path().join("d")).unwrap();
    let (_, _f) = t
        .create(d.ino, OsStr::new("x"), 0o644, libc::O_WRONLY, 0, 0)
        .unwrap();
    assert!(
        inside.path().join("moved/x").exists(),
        "created in the directory it knew"
    );
    assert!(
        !outside.path().join("x").exists(),
        "escaped through the swapped name"
    );
}

#[test]
fn rename_and_link_stay_inside_and_keep_the_inode() {
    let (inside, _o, t) = tier();
    let (a, _) = t
        .create(ROOT_ID, OsStr::new("a"), 0o644, libc::O_WRONLY, 0, 0)
        .unwrap();
    let l = t.link(a.ino, ROOT_ID, OsStr::new("b")).unwrap();
    assert_eq!(l.nlink, 2);
    t.rename(ROOT_ID, OsStr::new("b"), ROOT_ID, OsStr::new("c"), 0)
        .unwrap();
    let c = t.lookup(ROOT_ID, OsStr::new("c")).unwrap();
    assert_eq!(c.ino, a.ino, "the same file under its new name");
    assert!(inside.path().join("c").exists() && !inside.path().join("b").exists());
    assert_eq!(
        errno(t.rename(ROOT_ID, OsStr::new("c"), ROOT_ID, OsStr::new(".."), 0)),
        libc::EINVAL
    );
}
