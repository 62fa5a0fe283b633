//! The disk tier keeps one fd per inode the kernel knows, but no more than its budget: past
//! it, fds are given back and inodes reopened by host file handle. A tree far larger than
//! the budget must work through the mount, with the daemon's fd count staying bounded.
//! (One test in its own binary: it sets the daemon's environment.)

mod common;

use std::fs;

use common::TestMount;

const BUDGET: usize = 64;
const FILES: usize = 3000;

#[test]
fn many_more_inodes_than_fds_work_through_vdisk() {
    // SAFETY (of the environment): this binary runs this one test, before any thread.
    std::env::set_var("MAVFS_FD_BUDGET", BUDGET.to_string());
    let m = TestMount::memory();
    std::env::remove_var("MAVFS_FD_BUDGET");
    let dir = m.vdisk().join("many");
    fs::create_dir(&dir).unwrap();
    for i in 0..FILES {
        fs::write(dir.join(format!("f{i}")), format!("content {i}")).unwrap();
    }
    // Every inode stays usable: stat, read, rename, link, unlink after its fd was given back.
    for i in 0..FILES {
        let p = dir.join(format!("f{i}"));
        assert_eq!(
            fs::metadata(&p).unwrap().len(),
            format!("content {i}").len() as u64
        );
        assert_eq!(fs::read_to_string(&p).unwrap(), format!("content {i}"));
    }
    fs::rename(dir.join("f0"), dir.join("renamed")).unwrap();
    fs::hard_link(dir.join("f1"), dir.join("f1-link")).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("f1-link")).unwrap(),
        "content 1"
    );
    fs::remove_file(dir.join("f2")).unwrap();
    assert_eq!(fs::read_dir(&dir).unwrap().count(), FILES + 1 - 1);

    let pid = m.daemon_pid().expect("the daemon runs");
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    assert!(
        fds < BUDGET + 64,
        "the daemon holds {fds} fds for {FILES} inodes, budget {BUDGET}"
    );
    // The host saw exactly what went through the mount.
    assert_eq!(
        fs::read_to_string(m.disk_dir().join("many/renamed")).unwrap(),
        "content 0"
    );
}
