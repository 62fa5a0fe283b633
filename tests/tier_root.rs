//! `--tier vram` / `--tier vdisk` (`-o tier=...`): one tier alone as the mount's root, with
//! `mavfsctl` still working and push and pull still reaching both tiers.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");

fn ctl(mnt: &Path, args: &[&str]) -> std::process::Output {
    Command::new(CTL_BIN)
        .arg("--mount")
        .arg(mnt)
        .args(args)
        .env_remove("MAVFS_MOUNT")
        .current_dir("/")
        .output()
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn vram_alone_is_a_plain_ram_filesystem_at_the_root() {
    vram_alone(&TestMount::with_args(&[
        "--tier",
        "vram",
        "--ram-limit",
        "64M",
    ]));
}

#[test]
fn vram_alone_on_redis() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &["--tier", "vram", "--ram-limit", "64M"]);
    vram_alone(&m);
    drop(m);
}

fn vram_alone(m: &TestMount) {
    let root = m.mnt();
    assert!(names(root).is_empty(), "{:?}", names(root));
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("d/f"), b"in ram").unwrap();
    assert_eq!(names(root), ["d"]);
    assert_eq!(fs::read(root.join("d/f")).unwrap(), b"in ram");
    // Nothing of it reaches the disk dir; the root's size is vram's.
    assert!(names(m.disk_dir()).is_empty());
    let st = statvfs(root);
    assert_eq!(st.f_blocks * st.f_frsize, 64 << 20);
    // `..` of a directory is the root; the control file is there, unlisted.
    assert_eq!(
        fs::metadata(root.join("d/..")).unwrap().ino(),
        fs::metadata(root).unwrap().ino()
    );
    assert!(fs::metadata(root.join(".mavfs-ctl")).is_ok());

    // mavfsctl: paths on the mount are vram's; /vdisk/ is the disk dir.
    let o = ctl(
        root,
        &["push", "-q", root.join("d").to_str().unwrap(), "/vdisk/d"],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(fs::read(m.disk_dir().join("d/f")).unwrap(), b"in ram");
    fs::write(m.disk_dir().join("g"), b"from disk").unwrap();
    let o = ctl(
        root,
        &["pull", "-q", "/vdisk/g", root.join("g").to_str().unwrap()],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(fs::read(root.join("g")).unwrap(), b"from disk");
    let st = ctl_stats(root);
    assert_eq!(st["vram"]["files"], 2, "{st}");
}

#[test]
fn vdisk_alone_is_the_disk_dir_at_the_root() {
    let m = TestMount::with_args(&["--tier", "vdisk"]);
    let root = m.mnt();
    fs::write(m.disk_dir().join("h"), b"host").unwrap();
    assert_eq!(names(root), ["h"]);
    fs::write(root.join("new"), b"via the mount").unwrap();
    assert_eq!(
        fs::read(m.disk_dir().join("new")).unwrap(),
        b"via the mount"
    );
    fs::remove_file(root.join("h")).unwrap();
    assert!(!m.disk_dir().join("h").exists());
    let o = ctl(
        root,
        &[
            "pull",
            "-q",
            root.join("new").to_str().unwrap(),
            "/vram/new",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let o = ctl(root, &["stats", "--json"]);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["vram"]["files"], 1, "{v}");
}

use std::os::unix::fs::MetadataExt;
