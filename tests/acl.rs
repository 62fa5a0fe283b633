//! POSIX ACLs on both tiers and both RAM stores, through the `acl` package's tools as users
//! run them: the kernel enforces them, the mode and the ACL stay in step, new nodes take
//! their directory's default ACL (and the umask stands aside then), setgid goes for a
//! caller outside the group, and `-o noacl` turns them off.

#[macro_use]
mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

const USER: u32 = 4242;
const OTHER: u32 = 4343;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (install the acl package)"));
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn setfacl(args: &[&str]) {
    run("setfacl", args);
}

/// The ACL as `getfacl` prints it, numeric, without the header.
fn getfacl(p: &Path) -> Vec<String> {
    run("getfacl", &["-n", "-c", "-E", p.to_str().unwrap()])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn perm(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn reads(uid: u32, p: &Path) -> bool {
    as_user(uid, uid, || i32::from(fs::read(p).is_ok())) == 1
}

fn writes(uid: u32, p: &Path) -> bool {
    as_user(uid, uid, || {
        i32::from(fs::OpenOptions::new().append(true).open(p).is_ok())
    }) == 1
}

fn acls_are_enforced_and_follow_chmod(_m: &TestMount, dir: &Path, _tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"secret").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!reads(USER, &f));

    setfacl(&["-m", &format!("u:{USER}:r"), f.to_str().unwrap()]);
    assert!(reads(USER, &f), "the named user reads");
    assert!(!writes(USER, &f), "but does not write");
    assert!(!reads(OTHER, &f), "others still do not read");
    // The group bits show the mask.
    assert_eq!(perm(&f), 0o640);
    let want = [
        "user::rw-",
        &format!("user:{USER}:r--"),
        "group::---",
        "mask::r--",
        "other::---",
    ];
    assert_eq!(getfacl(&f), want);

    // A chmod rewrites the mask, and the named entry is cut down with it. (With a mask of
    // --- Linux would not look at the ACL at all.)
    fs::set_permissions(&f, fs::Permissions::from_mode(0o614)).unwrap();
    assert!(!reads(USER, &f), "the mask is --x");
    assert!(reads(OTHER, &f), "other got r--");
    assert!(getfacl(&f).contains(&"mask::--x".to_owned()));

    // Taking the ACL away leaves the mode; an ACL the mode says as much as is not kept.
    setfacl(&["-b", f.to_str().unwrap()]);
    assert_eq!(getfacl(&f), ["user::rw-", "group::---", "other::r--"]);
    assert!(xattr_names(&f).iter().all(|n| !n.starts_with("system.")));
    setfacl(&["-m", "g::r", f.to_str().unwrap()]);
    assert_eq!(perm(&f), 0o644);
    assert_eq!(getfacl(&f), ["user::rw-", "group::r--", "other::r--"]);
    assert!(xattr_names(&f).iter().all(|n| !n.starts_with("system.")));

    // A default ACL belongs on a directory only.
    let out = Command::new("setfacl")
        .args(["-d", "-m", "u::rwx", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
}
both_tiers!(acls_are_enforced_and_follow_chmod, "--allow-other");

fn xattr_names(p: &Path) -> Vec<String> {
    let c = cstr(p);
    let mut buf = vec![0u8; 4096];
    // SAFETY: the buffer is as long as said.
    let n = unsafe { libc::listxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n >= 0, "listxattr: {}", std::io::Error::last_os_error());
    buf[..n as usize]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn new_nodes_take_the_default_acl(_m: &TestMount, dir: &Path, _tier: Tier) {
    let d = dir.join("shared");
    fs::create_dir(&d).unwrap();
    let ds = d.to_str().unwrap();
    setfacl(&[
        "-d",
        "-m",
        &format!("u::rwx,u:{USER}:rwx,g::r-x,o::---"),
        ds,
    ]);

    // In a child with umask 077: the default ACL stands in for it.
    let (f, sub, fifo) = (d.join("f"), d.join("sub"), d.join("fifo"));
    let made = as_user(0, 0, || {
        // SAFETY: umask has no preconditions.
        unsafe { libc::umask(0o077) };
        let fifo_c = cstr(&fifo);
        // SAFETY: a valid path.
        let fifo_ok = unsafe { libc::mkfifo(fifo_c.as_ptr(), 0o666) } == 0;
        i32::from(fs::write(&f, b"x").is_ok() && fs::create_dir(&sub).is_ok() && fifo_ok)
    });
    assert_eq!(made, 1);
    assert_eq!(
        perm(&f),
        0o660,
        "mode 0666 masked by the default ACL, not the umask"
    );
    let want = [
        "user::rw-",
        &format!("user:{USER}:rwx"),
        "group::r-x",
        "mask::rw-",
        "other::---",
    ];
    assert_eq!(getfacl(&f), want);
    assert!(
        writes(USER, &f),
        "the inherited entry gives the named user write"
    );
    assert_eq!(perm(&fifo), 0o660);
    assert_eq!(perm(&sub), 0o770);
    let defaults: Vec<String> = run("getfacl", &["-n", "-c", "-d", sub.to_str().unwrap()])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        defaults,
        [
            "user::rwx",
            &format!("user:{USER}:rwx"),
            "group::r-x",
            "mask::rwx",
            "other::---"
        ],
        "a new directory passes the default ACL on"
    );

    // Where there is no default ACL, the umask applies.
    let plain = dir.join("plain");
    let made = as_user(0, 0, || {
        // SAFETY: umask has no preconditions.
        unsafe { libc::umask(0o027) };
        i32::from(fs::create_dir(&plain).is_ok())
    });
    assert_eq!(made, 1);
    assert_eq!(perm(&plain), 0o750);
    assert_eq!(getfacl(&plain), ["user::rwx", "group::r-x", "other::---"]);
}
both_tiers!(new_nodes_take_the_default_acl, "--allow-other");

fn setting_an_acl_outside_the_group_drops_setgid(_m: &TestMount, dir: &Path, _tier: Tier) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    let f = dir.join("sgid");
    fs::write(&f, b"x").unwrap();
    // Owned by USER, in a group USER is not in.
    std::os::unix::fs::chown(&f, Some(USER), Some(0)).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o2775)).unwrap();
    let code = as_user(USER, USER, || {
        let out = Command::new("setfacl")
            .args(["-m", &format!("u:{OTHER}:r"), f.to_str().unwrap()])
            .output();
        i32::from(out.is_ok_and(|o| o.status.success()))
    });
    assert_eq!(code, 1, "the owner may set its file's ACL");
    let meta = fs::metadata(&f).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o0775, "setgid went");
    assert!(reads(OTHER, &f));

    // Root keeps it.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o2775)).unwrap();
    setfacl(&["-m", &format!("u:{OTHER}:rw"), f.to_str().unwrap()]);
    assert_eq!(perm(&f), 0o2775);
}
both_tiers!(
    setting_an_acl_outside_the_group_drops_setgid,
    "--allow-other"
);

fn noacl_turns_them_off(_m: &TestMount, dir: &Path, _tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    let out = Command::new("setfacl")
        .args(["-m", &format!("u:{USER}:r"), f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not supported"),
        "{out:?}"
    );
}
both_tiers!(noacl_turns_them_off, "-o", "noacl");
