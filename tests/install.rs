//! `scripts/install.sh` and `scripts/uninstall.sh`, into a temporary prefix with the test
//! build's binaries: everything a user finds afterwards, then nothing.

use std::fs;
use std::path::Path;
use std::process::Command;

const MOUNT_BIN: &str = env!("CARGO_BIN_EXE_mavfs-mount");

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

#[test]
fn install_puts_the_tools_pages_and_completions_in_place_and_uninstall_takes_them() {
    let t = tempfile::tempdir().unwrap();
    let (prefix, sbin, unit) = (
        t.path().join("p"),
        t.path().join("sbin"),
        t.path().join("sd"),
    );
    let from = Path::new(MOUNT_BIN).parent().unwrap();
    let o = Command::new("bash")
        .arg(script("install.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--sbin")
        .arg(&sbin)
        .arg("--systemd")
        .arg(&unit)
        .arg("--from")
        .arg(from)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");

    // The tools run from the PATH they were put on.
    let v = Command::new(prefix.join("bin/mavfsctl"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("mavfsctl "));
    assert_eq!(
        fs::read_link(sbin.join("mount.fuse.mavfs")).unwrap(),
        prefix.join("bin/mavfs-mount")
    );
    // Man pages: one a program and one a mavfsctl verb, with their options.
    let man = prefix.join("share/man/man1");
    let page = fs::read_to_string(man.join("mavfs-mount.1")).unwrap();
    assert!(
        page.contains(".TH mavfs-mount 1") && page.contains("ram\\-limit"),
        "{page}"
    );
    let push = fs::read_to_string(man.join("mavfsctl-push.1")).unwrap();
    assert!(
        push.contains("verify") && push.contains("dry\\-run"),
        "{push}"
    );
    assert!(
        !man.join("mavfsctl-generate-docs.1").exists(),
        "a hidden verb has no page"
    );
    // Completions for the three shells.
    for (f, want) in [
        ("share/bash-completion/completions/mavfsctl", "resume"),
        ("share/zsh/site-functions/_mavfsctl", "resume"),
        ("share/fish/vendor_completions.d/mavfsctl.fish", "resume"),
        (
            "share/bash-completion/completions/mavfs-mount",
            "--disk-dir",
        ),
    ] {
        let text = fs::read_to_string(prefix.join(f)).unwrap();
        assert!(text.contains(want), "{f} lacks {want}");
    }
    let service = fs::read_to_string(unit.join("mavfs@.service")).unwrap();
    assert!(service.contains("Type=notify"));
    assert!(service.contains(&format!(
        "ExecStart={}",
        prefix.join("bin/mavfs-mount").display()
    )));

    let o = Command::new("bash")
        .arg(script("uninstall.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let left: Vec<_> = walk(t.path());
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every file and symlink under `root`.
fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}
