//! `mavfsctl` finds the only MAVFS mount when nothing else names one. In a binary of its own:
//! the other tests mount in parallel, which would make "the only mount" untrue.

mod common;

use std::process::Command;

use common::{mount_entries, MountEntry, TestMount};

#[test]
fn discovery_finds_the_only_mount() {
    let m = TestMount::memory();
    let ours =
        |e: &MountEntry| e.fstype == "fuse.mavfs" || (e.fstype == "fuse" && e.source == "mavfs");
    let out = Command::new(env!("CARGO_BIN_EXE_mavfsctl"))
        .args(["stats", "--json"])
        .current_dir("/")
        .env_remove("MAVFS_MOUNT")
        .output()
        .unwrap();
    let others: Vec<_> = mount_entries()
        .into_iter()
        .filter(|e| ours(e) && e.mount_point != m.mnt())
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if others.is_empty() {
        assert!(out.status.success(), "mavfsctl failed: {stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["disk_dir"].as_str().unwrap(),
            m.disk_dir().to_str().unwrap()
        );
    } else {
        // Another process's MAVFS mount is there too: then the error must name ours.
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr.contains("--mount") && stderr.contains(m.mnt().to_str().unwrap()),
            "{stderr}"
        );
    }
}
