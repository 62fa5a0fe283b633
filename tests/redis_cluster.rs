//! vram/ on a Redis Cluster: real clusters on loopback ports, mounted for real.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::cluster::RedisCluster;
use common::{checksum, TestMount};

fn mount_on(cluster: &RedisCluster, extra: &[&str]) -> TestMount {
    let seeds = cluster.seed_arg();
    let mut args = vec!["--ram", "redis", "--redis-cluster", seeds.as_str()];
    args.extend_from_slice(extra);
    TestMount::with_args(&args)
}

/// Bytes of `n` KiB, different for every `seed`.
fn content(seed: u64, kib: usize) -> Vec<u8> {
    common::random_bytes(kib * 1024, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Per master (by port): the slices of prefix `mavfs` it holds, as (keys, bytes).
fn slices_per_master(cluster: &RedisCluster) -> BTreeMap<u16, (u64, u64)> {
    let mut out = BTreeMap::new();
    for i in cluster.masters() {
        let mut con = cluster.nodes[i].connection();
        let mut cursor = 0u64;
        let (mut keys, mut bytes) = (0u64, 0u64);
        loop {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg("mavfs:s:*")
                .arg("COUNT")
                .arg(1000)
                .query(&mut con)
                .expect("SCAN a master");
            for k in found {
                let n: u64 = redis::cmd("STRLEN").arg(&k).query(&mut con).unwrap();
                keys += 1;
                bytes += n;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        out.insert(cluster.nodes[i].port(), (keys, bytes));
    }
    out
}

#[test]
fn file_data_spreads_over_every_master_and_outlives_the_mount() {
    let cluster = RedisCluster::start(3, 0);
    let files = 200u64;
    let mut sums = Vec::new();
    {
        let m = mount_on(&cluster, &[]);
        let dir = m.vram().join("spread");
        fs::create_dir(&dir).unwrap();
        for i in 0..files {
            let data = content(i, 1024);
            fs::write(dir.join(format!("f{i:03}")), &data).unwrap();
            sums.push(checksum(&data));
        }
        // Read back through the same mount before it goes.
        for i in (0..files).step_by(37) {
            let got = fs::read(dir.join(format!("f{i:03}"))).unwrap();
            assert_eq!(checksum(&got), sums[i as usize], "f{i:03} read back");
        }
        // stats shows the three masters and what each holds.
        let stats = common::ctl_stats(m.mnt());
        let nodes = stats["cluster"]
            .as_array()
            .expect("stats names the cluster's masters");
        assert_eq!(nodes.len(), 3, "{nodes:?}");
        let held: u64 = nodes
            .iter()
            .map(|n| n["slice_bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(held, files << 20, "{nodes:?}");
        assert_eq!(
            nodes.iter().filter(|n| n["metadata"] == true).count(),
            1,
            "one master serves the metadata: {nodes:?}"
        );
        // `mavfsctl stats` prints a row per master, with its share.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mavfsctl"))
            .arg("--mount")
            .arg(m.mnt())
            .arg("stats")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("127.0.0.1:"))
            .collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows.iter().all(|r| r.contains('%')), "{text}");
        assert_eq!(
            rows.iter().filter(|r| r.ends_with("meta")).count(),
            1,
            "{text}"
        );
    }
    let spread = slices_per_master(&cluster);
    println!("slices per master (port: keys, bytes): {spread:?}");
    assert_eq!(spread.len(), 3, "three masters hold slices: {spread:?}");
    let total: u64 = spread.values().map(|(_, b)| b).sum();
    assert_eq!(total, files << 20, "the masters hold every byte once");
    let least = spread.values().map(|(_, b)| *b).min().unwrap();
    let most = spread.values().map(|(_, b)| *b).max().unwrap();
    assert!(
        least > 0 && most <= 2 * least,
        "no master holds more than twice another's share: {spread:?}"
    );

    // A new mount sees every file whole.
    let m = mount_on(&cluster, &[]);
    let dir = m.vram().join("spread");
    assert_eq!(fs::read_dir(&dir).unwrap().count() as u64, files);
    for i in 0..files {
        let got = fs::read(dir.join(format!("f{i:03}"))).unwrap();
        assert_eq!(checksum(&got), sums[i as usize], "f{i:03} after a remount");
    }
}

#[test]
fn posix_basics_on_a_cluster_mount() {
    let cluster = RedisCluster::start(3, 0);
    let m = mount_on(&cluster, &[]);
    let v = m.vram();
    fs::create_dir_all(v.join("a/b")).unwrap();
    fs::write(v.join("a/b/f"), b"hello cluster").unwrap();
    fs::rename(v.join("a/b/f"), v.join("a/g")).unwrap();
    fs::hard_link(v.join("a/g"), v.join("a/h")).unwrap();
    std::os::unix::fs::symlink("g", v.join("a/s")).unwrap();
    assert_eq!(fs::read(v.join("a/s")).unwrap(), b"hello cluster");
    assert_eq!(fs::metadata(v.join("a/h")).unwrap().len(), 13);
    // A write across a chunk boundary, then a truncate into it.
    let f = fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(v.join("a/g"))
        .unwrap();
    let span = content(7, 2048);
    f.write_all_at(&span, (1 << 20) - 4096).unwrap();
    f.set_len((1 << 20) + 10).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let got = fs::read(v.join("a/h")).unwrap();
    assert_eq!(got.len(), (1 << 20) + 10);
    assert_eq!(&got[..13], b"hello cluster");
    assert!(got[13..(1 << 20) - 4096].iter().all(|&b| b == 0));
    assert_eq!(&got[(1 << 20) - 4096..], &span[..4096 + 10]);
    fs::remove_file(v.join("a/g")).unwrap();
    fs::remove_file(v.join("a/h")).unwrap();
    fs::remove_file(v.join("a/s")).unwrap();
    fs::remove_dir_all(v.join("a")).unwrap();
    assert_eq!(fs::read_dir(&v).unwrap().count(), 0);
    // What was freed is collected: no slice is left on any master.
    let left = common::until(Duration::from_secs(20), || {
        slices_per_master(&cluster).values().all(|(k, _)| *k == 0)
    });
    assert!(
        left.is_some(),
        "slices left after every file went: {:?}",
        slices_per_master(&cluster)
    );
}

/// The master that serves the prefix's metadata (slot of `{mavfs}`), by index in `nodes`.
fn metadata_master(cluster: &RedisCluster) -> usize {
    let masters = cluster.masters();
    let mut con = cluster.nodes[masters[0]].connection();
    let slot: u64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("{mavfs}")
        .query(&mut con)
        .unwrap();
    masters
        .into_iter()
        .find(|&i| {
            let mut c = cluster.nodes[i].connection();
            let n: u64 = redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query(&mut c)
                .unwrap_or(0);
            n > 0
        })
        .expect("a master holds the prefix's metadata")
}

#[test]
fn a_master_killed_under_a_writer_loses_no_fsynced_file() {
    let mut cluster = RedisCluster::start(3, 1);
    let m = mount_on(&cluster, &[]);
    let dir = m.vram().join("load");
    fs::create_dir(&dir).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // (file, checksum) of every file whose fsync and close returned; the longest wait
    // between two of them; every error met.
    let done = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let errors = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let writer = {
        let (stop, done, errors, dir) = (stop.clone(), done.clone(), errors.clone(), dir.clone());
        thread::spawn(move || {
            let mut longest = Duration::ZERO;
            let mut last = Instant::now();
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                let data = content(1000 + i, 64);
                let r = (|| -> std::io::Result<()> {
                    let mut f = fs::File::create(dir.join(format!("w{i:05}")))?;
                    f.write_all(&data)?;
                    f.sync_all()
                })();
                match r {
                    Ok(()) => {
                        done.lock().unwrap().push((i, checksum(&data)));
                        longest = longest.max(last.elapsed());
                        last = Instant::now();
                    }
                    Err(e) => errors
                        .lock()
                        .unwrap()
                        .push((Instant::now(), format!("w{i:05}: {e}"))),
                }
                i += 1;
            }
            longest
        })
    };
    let count = || done.lock().unwrap().len();
    assert!(
        common::until(Duration::from_secs(30), || count() >= 50).is_some(),
        "the writer got going"
    );
    let victim = metadata_master(&cluster);
    let before = count();
    let killed = Instant::now();
    cluster.kill(victim);
    let promoted = common::until(Duration::from_secs(60), || cluster.masters().len() == 3);
    println!("a replica took over {promoted:?} after the kill");
    // The writer goes on.
    assert!(
        common::until(Duration::from_secs(60), || count() >= before + 50).is_some(),
        "the writer went on after the failover ({} files before the kill, {} now; errors: {:?})",
        before,
        count(),
        errors.lock().unwrap()
    );
    println!("writes resumed {:?} after the kill", killed.elapsed());
    stop.store(true, Ordering::Release);
    let longest = writer.join().unwrap();
    println!(
        "{} files fsynced; the writer's longest wait between two: {longest:?} (node timeout {} ms)",
        count(),
        common::cluster::NODE_TIMEOUT_MS
    );
    // A change under way on the killed master at the kill may fail (EIO: whether it ran
    // cannot be known, as on one server); nothing else may.
    let errors = errors.lock().unwrap();
    assert!(
        errors.len() <= 1 && errors.iter().all(|(at, _)| *at > killed),
        "the writer met errors: {errors:?}"
    );
    for (i, sum) in done.lock().unwrap().iter() {
        let got = fs::read(dir.join(format!("w{i:05}"))).unwrap();
        assert_eq!(checksum(&got), *sum, "w{i:05} after the failover");
    }
    check_remount_sees(&cluster, &dir, &done.lock().unwrap());
}

/// A new mount on the cluster sees each `(file, checksum)` whole.
fn check_remount_sees(cluster: &RedisCluster, dir: &Path, files: &[(u64, u64)]) {
    let m = mount_on(cluster, &[]);
    let dir = m.vram().join(dir.file_name().unwrap());
    for (i, sum) in files {
        let got = fs::read(dir.join(format!("w{i:05}"))).unwrap();
        assert_eq!(checksum(&got), *sum, "w{i:05} on a new mount");
    }
}

/// Slice ids named by some chunk of prefix `mavfs` (`{mavfs}:l:*` and inodes' `l`), and those stored on the
/// masters (`mavfs:s:*`).
fn named_and_stored(cluster: &RedisCluster) -> (Vec<u64>, Vec<u64>) {
    let (mut named, mut stored) = (Vec::new(), Vec::new());
    for i in cluster.masters() {
        let mut con = cluster.nodes[i].connection();
        let lists: Vec<String> = redis::cmd("KEYS")
            .arg("{mavfs}:l:*")
            .query(&mut con)
            .unwrap();
        let inodes: Vec<String> = redis::cmd("KEYS")
            .arg("{mavfs}:i:*")
            .query(&mut con)
            .unwrap();
        let mut entries = Vec::new();
        for l in lists {
            let all: Vec<String> = redis::cmd("HVALS").arg(&l).query(&mut con).unwrap();
            entries.extend(all);
        }
        // A short chunk 0 lies in its inode.
        for i in inodes {
            let e: Option<String> = redis::cmd("HGET").arg(&i).arg("l").query(&mut con).unwrap();
            entries.extend(e);
        }
        for e in entries {
            // `<len>|<sid>:<pos>:<n>:<soff>|...`
            named.extend(
                e.split('|')
                    .skip(1)
                    .filter_map(|s| s.split(':').next()?.parse::<u64>().ok()),
            );
        }
        let slices: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
        stored.extend(
            slices
                .iter()
                .filter_map(|k| k.rsplit(':').next()?.parse::<u64>().ok()),
        );
    }
    for v in [&mut named, &mut stored] {
        v.sort_unstable();
        v.dedup();
    }
    (named, stored)
}

#[test]
fn a_mount_killed_mid_write_leaves_no_slice_behind_for_long() {
    let cluster = RedisCluster::start(3, 0);
    let seeds = cluster.seed_arg();
    let args = ["--ram", "redis", "--redis-cluster", seeds.as_str()];
    // Heartbeats of 300 ms: a dead mount's session ends after 1.2 s, and the other mount
    // sweeps every 1.2 s.
    let env = [("MAVFS_TEST_HEARTBEAT_MS", "300")];
    let deadline = common::default_deadline();
    let _keeper = TestMount::start_env(&args, None, deadline, &env);
    let mut victim = TestMount::start_env(&args, None, deadline, &env);
    let dir = victim.vram().join("doomed");
    fs::create_dir(&dir).unwrap();
    let written = Arc::new(Mutex::new(0u64));
    let writer = {
        let (dir, written) = (dir.clone(), written.clone());
        thread::spawn(move || {
            // 4 MiB files (four slices each) until the mount is gone.
            let data = content(1, 4096);
            for i in 0.. {
                if fs::write(dir.join(format!("f{i}")), &data).is_err() {
                    return;
                }
                *written.lock().unwrap() += 1;
            }
        })
    };
    assert!(
        common::until(Duration::from_secs(30), || *written.lock().unwrap() >= 5).is_some(),
        "the writer got going"
    );
    victim.signal_and_wait(libc::SIGKILL);
    common::force_unmount(victim.mnt());
    writer.join().unwrap();
    let (named, stored) = named_and_stored(&cluster);
    println!(
        "at the kill: {} slices named, {} stored",
        named.len(),
        stored.len()
    );
    let took = common::until(Duration::from_secs(30), || {
        let (named, stored) = named_and_stored(&cluster);
        named == stored
    });
    let (named, stored) = named_and_stored(&cluster);
    assert!(
        took.is_some(),
        "slices nobody names stay stored: {:?}",
        stored
            .iter()
            .filter(|s| named.binary_search(s).is_err())
            .collect::<Vec<_>>()
    );
    println!("every stored slice is named again after {took:?}");
}

#[test]
fn a_cluster_user_limited_by_acl_runs_a_mount() {
    // The README's rule for one server, and what a cluster needs besides.
    let rule = "on >acl-pw resetkeys ~{mavfs}:* ~mavfs:* resetchannels -@all +@read +@write \
                +@keyspace +@hash +@set +@sortedset +@string +@scripting +@transaction \
                +@connection +info -@dangerous +info +cluster|slots +wait";
    let cluster = RedisCluster::start(3, 0);
    for i in cluster.masters() {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg("mavfs");
        for part in rule.split_whitespace() {
            cmd.arg(part);
        }
        let mut con = cluster.nodes[i].connection();
        cmd.query::<()>(&mut con).unwrap();
        // Nobody gets in without that user's password.
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg("off")
            .query::<()>(&mut con)
            .unwrap();
    }
    let seeds = cluster.seed_arg();
    // The user from --redis-url (its host is not used), the password from the environment.
    let args = [
        "--ram",
        "redis",
        "--redis-cluster",
        seeds.as_str(),
        "--redis-url",
        "redis://mavfs@unused:1/0",
    ];
    let env = [("MAVFS_REDIS_PASSWORD", "acl-pw")];
    let m = TestMount::start_env(&args, None, common::default_deadline(), &env);
    let v = m.vram();
    fs::create_dir(v.join("d")).unwrap();
    let data = content(3, 3000);
    fs::write(v.join("d/f"), &data).unwrap();
    fs::File::open(v.join("d/f")).unwrap().sync_all().unwrap();
    fs::rename(v.join("d/f"), v.join("g")).unwrap();
    assert_eq!(checksum(&fs::read(v.join("g")).unwrap()), checksum(&data));
    let st = common::ctl_stats(m.mnt());
    assert_eq!(st["backend_state"], "up", "{st}");
    assert_eq!(st["cluster"].as_array().map(Vec::len), Some(3), "{st}");
    fs::remove_file(v.join("g")).unwrap();
    assert!(
        !m.daemon_stderr().contains("NOPERM"),
        "{}",
        m.daemon_stderr()
    );
}

/// How many slots master `i` serves now.
fn slots_of(cluster: &RedisCluster, i: usize) -> u64 {
    let mut con = cluster.nodes[i].connection();
    let slots: redis::Value = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
    let port = i64::from(cluster.nodes[i].port());
    let redis::Value::Array(ranges) = slots else {
        return 0;
    };
    ranges
        .iter()
        .filter_map(|r| {
            let redis::Value::Array(r) = r else {
                return None;
            };
            let (redis::Value::Int(a), redis::Value::Int(b), redis::Value::Array(n)) =
                (&r[0], &r[1], &r[2])
            else {
                return None;
            };
            (n.get(1) == Some(&redis::Value::Int(port))).then_some((b - a + 1) as u64)
        })
        .sum()
}

#[test]
fn data_slots_move_between_masters_under_a_busy_mount() {
    let cluster = RedisCluster::start(3, 0);
    let m = mount_on(&cluster, &[]);
    let dir = m.vram().join("moving");
    fs::create_dir(&dir).unwrap();
    let files = 40u64;
    // Two versions of each file, written in turn.
    let version = |i: u64, round: u64| content(i + round % 2 * 1000, 1024);
    for i in 0..files {
        fs::write(dir.join(format!("f{i}")), version(i, 0)).unwrap();
    }
    // From a master that does not hold the metadata, to another.
    let meta = metadata_master(&cluster);
    let others: Vec<usize> = cluster
        .masters()
        .into_iter()
        .filter(|&i| i != meta)
        .collect();
    let id = |i: usize| -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut cluster.nodes[i].connection())
            .unwrap()
    };
    let (from, to) = (others[0], others[1]);
    let before = slots_of(&cluster, from);
    // Meanwhile the mount rewrites and reads its files, checking each.
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (stop, dir) = (stop.clone(), dir.clone());
        thread::spawn(move || -> Result<u64, String> {
            let mut round = 1;
            while !stop.load(Ordering::Acquire) {
                for i in 0..files {
                    let path = dir.join(format!("f{i}"));
                    let want = version(i, round);
                    fs::write(&path, &want).map_err(|e| format!("write f{i}: {e}"))?;
                    let got = fs::read(&path).map_err(|e| format!("read f{i}: {e}"))?;
                    if checksum(&got) != checksum(&want) {
                        return Err(format!("f{i} read back other bytes"));
                    }
                }
                round += 1;
            }
            Ok(round - 1)
        })
    };
    let out = std::process::Command::new("redis-cli")
        .args(["--cluster", "reshard"])
        .arg(format!("127.0.0.1:{}", cluster.nodes[from].port()))
        .args(["--cluster-from", &id(from), "--cluster-to", &id(to)])
        .args(["--cluster-slots", "3000", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reshard: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stop.store(true, Ordering::Release);
    let rounds = busy
        .join()
        .unwrap()
        .expect("the mount worked through the resharding");
    let after = slots_of(&cluster, from);
    println!("slots of the source master: {before} -> {after}; {rounds} rounds meanwhile");
    assert_eq!(after + 3000, before);
    // Every file whole in one of its versions, on this mount and on a new one.
    for m in [&m, &mount_on(&cluster, &[])] {
        let dir = m.vram().join("moving");
        for i in 0..files {
            let got = checksum(&fs::read(dir.join(format!("f{i}"))).unwrap());
            assert!(
                (0..2).any(|r| checksum(&version(i, r)) == got),
                "f{i} holds neither version"
            );
        }
    }
}
