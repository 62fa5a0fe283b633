//! The Redis password and link: never in a command line or a log, TLS with certificates,
//! and a Redis user limited by ACL to its prefix.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

const SECRET: &str = "pw-7f3a9c";

/// Every process's command line, as `ps` shows them to any user.
fn all_cmdlines() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            out.push((pid, String::from_utf8_lossy(&c).replace('\0', " ")));
        }
    }
    out
}

fn assert_secret_hidden(m: &TestMount) {
    let pid = m.daemon_pid().unwrap().to_string();
    let mine = all_cmdlines();
    let daemon = mine.iter().find(|(p, _)| *p == pid).expect("daemon listed");
    assert!(daemon.1.contains("mavfs-mount"), "{daemon:?}");
    for (p, c) in &mine {
        assert!(!c.contains(SECRET), "process {p} shows the password: {c}");
    }
    let st = ctl_stats(m.mnt());
    assert!(!st.to_string().contains(SECRET), "stats show it: {st}");
    assert!(!m.daemon_stderr().contains(SECRET), "the log shows it");
}

#[test]
fn the_password_never_shows_in_a_command_line_a_log_or_stats() {
    let server = RedisServer::start_with(&["--requirepass", SECRET]);
    // In the URL: overwritten in the daemon's arguments once read.
    let url = format!("redis://:{SECRET}@127.0.0.1:{}/0", server.port());
    let m = TestMount::with_args(&["--ram", "redis", "--redis-url", &url]);
    fs::write(m.vram().join("f"), b"in").unwrap();
    assert_secret_hidden(&m);
    let st = ctl_stats(m.mnt());
    assert!(st["backend"].as_str().unwrap().contains("***"), "{st}");
    drop(m);

    // From a file: never in the arguments at all.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    fs::write(&file, format!("{SECRET}\n")).unwrap();
    let m = TestMount::with_args(&[
        "--ram",
        "redis",
        "--redis-url",
        &server.url(),
        "--redis-password-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"in");
    assert_secret_hidden(&m);
    drop(m);

    // Refusals name the cause in one line and show no password.
    let empty = dir.path().join("empty");
    fs::write(&empty, "").unwrap();
    for (args, key) in [
        (
            vec!["--redis-password-file", "/nonexistent/pw"],
            "--redis-password-file",
        ),
        (
            vec!["--redis-password-file", empty.to_str().unwrap()],
            "empty",
        ),
    ] {
        let line = refused(&url, &args, key);
        assert!(!line.contains(SECRET), "{line}");
    }
    // Given twice: refused.
    let line = refused(
        &url,
        &["--redis-password-file", file.to_str().unwrap()],
        "twice",
    );
    assert!(!line.contains(SECRET), "{line}");
}

#[test]
fn the_password_may_come_from_the_environment() {
    let server = RedisServer::start_with(&["--requirepass", SECRET]);
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("m");
    fs::create_dir(&mnt).unwrap();
    let status = Command::new(MOUNT_BIN)
        .arg(&mnt)
        .args(["--disk-dir", t.path().to_str().unwrap()])
        .args(["--ram", "redis", "--redis-url", &server.url()])
        .env("MAVFS_REDIS_PASSWORD", SECRET)
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(mnt.join("vram/e"), b"env").unwrap();
    assert_eq!(fs::read(mnt.join("vram/e")).unwrap(), b"env");
    for (p, c) in all_cmdlines() {
        assert!(!c.contains(SECRET), "process {p} shows the password: {c}");
    }
    force_unmount(&mnt);
}

/// A `--ram redis` mount with `url` and `extra` that must be refused: its one error line
/// (naming `key`), and nothing left mounted.
fn refused(url: &str, extra: &[&str], key: &str) -> String {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("m");
    fs::create_dir(&mnt).unwrap();
    let mut all = vec![
        mnt.to_str().unwrap(),
        "--disk-dir",
        t.path().to_str().unwrap(),
        "--ram",
        "redis",
        "--redis-url",
        url,
    ];
    all.extend_from_slice(extra);
    let out = run_mount(&all, Duration::from_secs(30));
    let line = assert_one_line_error(&out, &all, key);
    assert!(!is_mounted(&mnt), "mounted anyway");
    line
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
fn make_certs(dir: &Path) {
    let sh = format!(
        r#"set -e
cd '{d}'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mavfs-test-ca \
  -keyout ca.key -out ca.crt 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj /CN=$who -keyout $who.key -out $who.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile $who.ext -out $who.crt 2>/dev/null
done
"#,
        d = dir.display()
    );
    let st = Command::new("sh").arg("-c").arg(&sh).status().unwrap();
    assert!(st.success(), "openssl could not make the test certificates");
}

#[test]
fn a_tls_redis_mounts_with_its_certificates_and_refuses_without() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let f = |n: &str| certs.path().join(n).to_str().unwrap().to_owned();
    let server = RedisServer::start_with(&[
        "--tls-port",
        "0",
        "--tls-cert-file",
        &f("server.crt"),
        "--tls-key-file",
        &f("server.key"),
        "--tls-ca-cert-file",
        &f("ca.crt"),
        "--tls-auth-clients",
        "yes",
    ]);
    let url = format!("rediss://127.0.0.1:{}/0", server.port());
    let (ca, cert, key) = (f("ca.crt"), f("client.crt"), f("client.key"));
    let m = TestMount::with_args(&[
        "--ram",
        "redis",
        "--redis-url",
        &url,
        "--redis-ca-cert",
        &ca,
        "--redis-cert",
        &cert,
        "--redis-key",
        &key,
    ]);
    let data = Rng::new(5).bytes(3 << 20);
    fs::write(m.vram().join("over-tls"), &data).unwrap();
    assert!(fs::read(m.vram().join("over-tls")).unwrap() == data);
    drop(m);

    // Without the client certificate the server refuses; without the CA the client does.
    for args in [
        vec!["--redis-ca-cert", ca.as_str()],
        vec!["--redis-cert", cert.as_str(), "--redis-key", key.as_str()],
    ] {
        let mut args = args;
        args.extend(["--redis-timeout", "3"]);
        refused(&url, &args, "Redis");
    }
}

/// The README's ACL rule: a user that may touch only its prefix's keys, with the commands
/// MAVFS needs.
const ACL_RULE: &str = "on >acl-pw resetkeys ~{mavfs}:* ~mavfs:* resetchannels \
&{mavfs}:notices:* -@all +@read +@write +@keyspace +@hash +@set +@sortedset +@string \
+@scripting +@transaction +@connection +info +publish +subscribe -@dangerous +info";

#[test]
fn a_user_limited_to_its_prefix_by_acl_runs_a_mount() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let mut cmd = redis::cmd("ACL");
    cmd.arg("SETUSER").arg("mavfs");
    for part in ACL_RULE.split_whitespace() {
        cmd.arg(part);
    }
    cmd.query::<()>(&mut con).unwrap();
    redis::cmd("SET")
        .arg("other:key")
        .arg("not mavfs's")
        .query::<()>(&mut con)
        .unwrap();
    let url = format!("redis://mavfs:acl-pw@127.0.0.1:{}/0", server.port());
    let m = TestMount::with_args(&["--ram", "redis", "--redis-url", &url]);
    let v = m.vram();
    fs::create_dir(v.join("d")).unwrap();
    let data = Rng::new(9).bytes(2 << 20);
    fs::write(v.join("d/f"), &data).unwrap();
    fs::rename(v.join("d/f"), v.join("g")).unwrap();
    assert!(fs::read(v.join("g")).unwrap() == data);
    fs::remove_file(v.join("g")).unwrap();
    let st = ctl_stats(m.mnt());
    assert_eq!(st["backend_state"], "up", "{st}");
    // Its notices to other mounts are allowed too.
    thread::sleep(Duration::from_millis(1500));
    let log = m.daemon_stderr();
    assert!(!log.contains("refused the notices"), "{log}");
    drop(m);
    // The rule keeps that user away from other keys.
    let limited = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut limited = limited;
    let e = redis::cmd("GET")
        .arg("other:key")
        .query::<Option<String>>(&mut limited)
        .unwrap_err();
    assert_eq!(e.code(), Some("NOPERM"), "{e}");
}
