//! Command-line options of `mavfs-mount` and their validation into a `MountConfig`, before
//! anything is mounted: a user gets one clear line instead of a half-made mount.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::host::{physical_ram, plain_message};
use crate::ram::redis::{self, RedisTarget, RedisTls};
use std::fs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RamKind {
    /// In-process store (like tmpfs); `dict` is the Python tool's name for it.
    #[value(alias = "dict")]
    Memory,
    /// A Redis server.
    Redis,
}

/// The tier `--tier` mounts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TierArg {
    Vram,
    Vdisk,
}

/// Mount MAVFS: `vram/` (RAM tier) and `vdisk/` (a host directory) under one mount point.
#[derive(Debug, Parser)]
#[command(name = "mavfs-mount", version, about)]
pub struct Args {
    /// Where to mount (an existing, empty directory).
    pub mountpoint: PathBuf,
    /// Host directory behind `vdisk/`; created if missing.
    #[arg(long, value_name = "DIR")]
    pub disk_dir: PathBuf,
    /// Store behind `vram/`.
    #[arg(
        long,
        value_enum,
        default_value = "memory",
        value_name = "memory|redis"
    )]
    pub ram: RamKind,
    /// Capacity of `vram/` (e.g. 512M, 4G); default: half of physical RAM on memory; on
    /// redis, Redis' maxmemory if set, else unlimited.
    #[arg(long, value_name = "SIZE")]
    pub ram_limit: Option<String>,
    /// Redis server for `--ram redis`.
    #[arg(
        long,
        value_name = "redis://[user:pass@]host:port/db",
        default_value = "redis://127.0.0.1:6379/0"
    )]
    pub redis_url: String,
    /// A Redis Cluster for `--ram redis` instead of one server: some of its nodes (the
    /// others are found from them). User, password and TLS as with --redis-url.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]")]
    pub redis_cluster: Option<String>,
    /// A file whose first line is the Redis password (kept out of the command line, where
    /// every user sees it); the environment variable MAVFS_REDIS_PASSWORD works too.
    #[arg(long, value_name = "FILE")]
    pub redis_password_file: Option<PathBuf>,
    /// CA certificate (PEM) that signed the server's, for a rediss:// URL (default: the
    /// system's trusted roots).
    #[arg(long, value_name = "FILE")]
    pub redis_ca_cert: Option<PathBuf>,
    /// Client certificate (PEM), for a rediss:// server that asks for one; with --redis-key.
    #[arg(long, value_name = "FILE", requires = "redis_key")]
    pub redis_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "redis_cert")]
    pub redis_key: Option<PathBuf>,
    /// Redis host (replaces the host of --redis-url).
    #[arg(long, value_name = "HOST")]
    pub redis_host: Option<String>,
    /// Redis port (replaces the port of --redis-url).
    #[arg(long, value_name = "PORT")]
    pub redis_port: Option<String>,
    /// Redis database number (replaces the db of --redis-url).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub redis_db: Option<String>,
    /// Every key this mount writes starts with `PREFIX:`; mounts with the same Redis and
    /// prefix share one `vram/`.
    #[arg(long, value_name = "PREFIX", default_value = redis::DEFAULT_PREFIX)]
    pub redis_prefix: String,
    /// Seconds to wait for Redis (connect, and every answer) before failing with EIO.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub redis_timeout: String,
    /// Stay in the foreground and log to stderr; SIGINT/SIGTERM unmount.
    #[arg(short, long)]
    pub foreground: bool,
    /// FUSE worker threads (default: number of CPUs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Keep vram/ (the in-process store) across unmounts: saved in DIR at unmount and at
    /// SIGTERM (and with `mavfsctl snapshot`), the newest complete snapshot loaded at mount.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Also save while mounted, every INTERVAL in which anything changed (30s, 5m, 1h).
    #[arg(long, value_name = "INTERVAL", requires = "snapshot_dir")]
    pub snapshot_interval: Option<String>,
    /// A tiering policy (TOML): rules by path under /vram that demote idle files to /vdisk,
    /// keep durable copies there, or delete scratch files; watermarks. See the README.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Let the kernel keep writes in its page cache and hand them over in batches (about
    /// 8x the random small writes on vram/, --ram memory only). The cost: running out of
    /// space (--ram-limit, or the host disk under vdisk/) is reported by close() or fsync()
    /// instead of write(), and a vdisk/ file changed on the host directly keeps the size
    /// the kernel knew while it stays cached.
    #[arg(long)]
    pub writeback_cache: bool,
    /// Serve requests over io_uring, on a queue per CPU, instead of over /dev/fuse: creates,
    /// unlinks and small I/O cost far less where waking the other CPU is dear (virtual
    /// machines). Needs Linux 6.14+ with the fuse module's enable_uring on.
    #[arg(long)]
    pub uring: bool,
    /// Let other users use the mount.
    #[arg(long)]
    pub allow_other: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9877); off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// What `df` and /proc/mounts show as the mount's source (default: the disk dir).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Mount only this tier, as the root of the mount point (a plain RAM filesystem, or the
    /// disk dir alone); `mavfsctl` still works, push and pull still reach both tiers.
    #[arg(long, value_enum, value_name = "vram|vdisk")]
    pub tier: Option<TierArg>,
    /// Extra mount options, comma separated (ro, noatime, noacl, ...).
    #[arg(short = 'o', value_name = "OPT[,OPT]")]
    pub options: Vec<String>,
}

/// A validated mount request.
#[derive(Debug, Clone)]
pub struct MountConfig {
    pub mountpoint: PathBuf,
    pub disk_dir: PathBuf,
    pub ram: RamKind,
    /// `--ram-limit`; `None`: the backend's default (see `memory_limit` for memory).
    pub ram_limit: Option<u64>,
    /// Where `--ram redis` keeps `vram/` (validated, but not connected to yet).
    pub redis: RedisTarget,
    pub foreground: bool,
    pub threads: usize,
    /// The kernel caches writes (FUSE_WRITEBACK_CACHE): only where this mount alone
    /// changes `vram/`.
    pub writeback_cache: bool,
    /// Serve over io_uring (`uring`), not `/dev/fuse` alone.
    pub uring: bool,
    pub allow_other: bool,
    pub options: Vec<String>,
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The tier mounted alone as the root, if one is.
    pub tier: Option<crate::node::Place>,
    /// What `df` shows as the source.
    pub source: Option<String>,
    /// The tiering policy given at mount.
    pub policy: Option<crate::policy::Policy>,
    /// Where the in-process store is saved, and how often while mounted.
    pub snapshot_dir: Option<PathBuf>,
    pub snapshot_interval: Option<Duration>,
}

/// Parses `90`, `30s`, `5m`, `1h`, `500ms`: a time of at least a second.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid interval '{s}' (use a number with s, m or h, e.g. 60s or 5m)");
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    let secs = num.parse::<f64>().map_err(|_| bad())? * mult;
    if !(1.0..=1e9).contains(&secs) {
        return Err(format!("interval '{s}' out of range (at least 1s)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `512M`, `4G`, `1.5G`, `1024`, `64KiB`: binary units, case-insensitive.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!("invalid size '{s}' (use a number with an optional K, M, G or T suffix, e.g. 512M)")
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

fn access_ok(path: &Path, mode: i32) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated string.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

/// One mount of this namespace, as `/proc/self/mountinfo` gives it.
pub struct MountEntry {
    /// `major:minor` of the mounted filesystem (its name under `/sys/class/bdi`).
    pub dev: String,
    pub point: PathBuf,
    pub fstype: String,
    pub source: String,
}

/// The mounts of this namespace; none when mountinfo cannot be read.
pub fn mount_table() -> Vec<MountEntry> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| {
            // id parent major:minor root point options [optional...] - fstype source super
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split(' ');
            let dev = l.nth(2)?;
            let point = l.nth(1)?;
            let mut r = right.split(' ');
            Some(MountEntry {
                dev: dev.to_owned(),
                point: PathBuf::from(OsStr::from_bytes(&unescape_mountinfo(point))),
                fstype: r.next()?.to_owned(),
                source: r.next()?.to_owned(),
            })
        })
        .collect()
}

/// True if `path` (canonical) is the mount point of some mount in this namespace.
pub fn is_mount_point(path: &Path) -> bool {
    mount_table().iter().any(|m| m.point == path)
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
pub fn unescape_mountinfo(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn find_in_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

impl MountConfig {
    /// Checks everything that can be checked before mounting; the error is one line.
    pub fn from_args(args: Args) -> Result<MountConfig, String> {
        let ram_limit = match &args.ram_limit {
            Some(s) => Some(parse_size(s)?),
            None => None,
        };
        let redis = redis_target(&args)?;
        if args.redis_cluster.is_some() && args.ram != RamKind::Redis {
            return Err("--redis-cluster needs --ram redis".into());
        }
        if args.threads == Some(0) {
            return Err("--threads must be at least 1".into());
        }
        if args.writeback_cache && args.ram != RamKind::Memory {
            return Err(
                "--writeback-cache needs --ram memory (other mounts of a Redis vram/ would not \
                 see the writes this kernel still holds)"
                    .into(),
            );
        }
        if args.snapshot_dir.is_some() && args.ram != RamKind::Memory {
            return Err(
                "--snapshot-dir needs --ram memory (Redis keeps a Redis vram/ itself)".into(),
            );
        }
        let snapshot_interval = args
            .snapshot_interval
            .as_deref()
            .map(parse_interval)
            .transpose()?;
        // Made absolute here: the daemon leaves its working directory.
        let snapshot_dir = args
            .snapshot_dir
            .as_deref()
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| format!("--snapshot-dir: {e}"))?;
        let metrics_addr = match &args.metrics_addr {
            Some(a) => Some(a.parse().map_err(|_| {
                format!("invalid --metrics-addr '{a}' (use IP:PORT, e.g. 127.0.0.1:9877)")
            })?),
            None => None,
        };
        let mp = &args.mountpoint;
        let meta = std::fs::metadata(mp).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("mount point {} does not exist", mp.display()),
            _ => format!("mount point {}: {e}", mp.display()),
        })?;
        if !meta.is_dir() {
            return Err(format!("mount point {} is not a directory", mp.display()));
        }
        let mountpoint = mp
            .canonicalize()
            .map_err(|e| format!("mount point {}: {e}", mp.display()))?;
        if is_mount_point(&mountpoint) {
            return Err(format!(
                "mount point {} is already a mount point (unmount it first: umount {})",
                mountpoint.display(),
                mountpoint.display()
            ));
        }
        let dd = &args.disk_dir;
        match std::fs::metadata(dd) {
            Ok(m) if !m.is_dir() => {
                return Err(format!("disk dir {} is not a directory", dd.display()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dd)
                .map_err(|e| format!("cannot create disk dir {}: {e}", dd.display()))?,
            Err(e) => return Err(format!("disk dir {}: {e}", dd.display())),
        }
        let disk_dir = dd
            .canonicalize()
            .map_err(|e| format!("disk dir {}: {e}", dd.display()))?;
        if !access_ok(&disk_dir, libc::W_OK | libc::X_OK) || disk_is_read_only(&disk_dir) {
            return Err(format!("disk dir {} is not writable", disk_dir.display()));
        }
        if disk_dir.starts_with(&mountpoint) {
            return Err(format!(
                "disk dir {} lies inside the mount point {}",
                disk_dir.display(),
                mountpoint.display()
            ));
        }
        if !Path::new("/dev/fuse").exists() {
            return Err("/dev/fuse is missing (load the fuse module: modprobe fuse)".into());
        }
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !root && !find_in_path("fusermount3") {
            return Err("fusermount3 is missing (install the fuse3 package)".into());
        }
        let threads = args.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        let options = args
            .options
            .iter()
            .flat_map(|o| o.split(','))
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let policy = match &args.policy {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| {
                    format!("policy {}: {}", f.display(), crate::host::plain_message(&e))
                })?;
                Some(
                    crate::policy::Policy::parse(&text)
                        .map_err(|e| format!("policy {}: {e}", f.display()))?,
                )
            }
            None => None,
        };
        Ok(MountConfig {
            policy,
            mountpoint,
            disk_dir,
            ram: args.ram,
            ram_limit,
            redis,
            foreground: args.foreground,
            threads,
            writeback_cache: args.writeback_cache,
            uring: args.uring,
            allow_other: args.allow_other,
            options,
            metrics_addr,
            source: args.source.clone(),
            snapshot_dir,
            snapshot_interval,
            tier: args.tier.map(|t| match t {
                TierArg::Vram => crate::node::Place::Vram,
                TierArg::Vdisk => crate::node::Place::Vdisk,
            }),
        })
    }
}

impl MountConfig {
    /// The limit of the in-process store: `--ram-limit`, else half of physical RAM.
    pub fn memory_limit(&self) -> u64 {
        self.ram_limit
            .unwrap_or_else(|| (physical_ram() / 2).max(64 << 20))
    }
}

/// The Redis URL with `--redis-host/port/db` applied, the prefix and the timeout, checked.
fn redis_target(args: &Args) -> Result<RedisTarget, String> {
    let bad_url = |why: &str| {
        format!(
            "invalid --redis-url '{}': {why} (want redis://[user:pass@]host:port/db)",
            redis::redact(&args.redis_url)
        )
    };
    let mut url =
        ::redis::parse_redis_url(&args.redis_url).ok_or_else(|| bad_url("not a Redis URL"))?;
    match url.scheme() {
        "redis" | "valkey" | "rediss" | "valkeys" => {}
        _ if args.redis_host.is_some() || args.redis_port.is_some() => {
            return Err("--redis-host and --redis-port apply only to a redis:// URL".into())
        }
        _ => {}
    }
    if let Some(h) = &args.redis_host {
        if h.is_empty() || url.set_host(Some(h)).is_err() {
            return Err(format!("invalid --redis-host '{h}'"));
        }
    }
    if let Some(p) = &args.redis_port {
        let port: u16 = p
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("invalid --redis-port '{p}' (want 1-65535)"))?;
        if url.set_port(Some(port)).is_err() {
            return Err(format!(
                "--redis-port does not apply to '{}'",
                args.redis_url
            ));
        }
    }
    if let Some(d) = &args.redis_db {
        let db: u32 = d
            .parse()
            .map_err(|_| format!("invalid --redis-db '{d}' (want a database number, e.g. 0)"))?;
        if url.scheme() != "unix" && url.scheme() != "redis+unix" {
            url.set_path(&format!("/{db}"));
        } else {
            return Err("--redis-db applies only to a redis:// URL".into());
        }
    }
    let env_password = std::env::var("MAVFS_REDIS_PASSWORD").ok();
    let password = match (&args.redis_password_file, env_password) {
        (Some(f), _) => Some(read_password(f)?),
        (None, Some(p)) if !p.is_empty() => Some(p),
        _ => None,
    };
    if let Some(p) = password {
        if url.password().is_some() {
            return Err("the Redis password is given twice (in --redis-url and in \
                 --redis-password-file or MAVFS_REDIS_PASSWORD); keep one"
                .into());
        }
        if url.set_password(Some(&p)).is_err() {
            return Err("a password does not apply to this --redis-url".into());
        }
    }
    let tls = matches!(url.scheme(), "rediss" | "valkeys");
    let given = [&args.redis_ca_cert, &args.redis_cert, &args.redis_key];
    if !tls && given.iter().any(|f| f.is_some()) {
        return Err("--redis-ca-cert, --redis-cert and --redis-key need a rediss:// URL".into());
    }
    let pem = |f: &Option<PathBuf>, what: &str| -> Result<Option<Vec<u8>>, String> {
        f.as_ref()
            .map(|p| {
                fs::read(p).map_err(|e| {
                    format!("cannot read {what} {}: {}", p.display(), plain_message(&e))
                })
            })
            .transpose()
    };
    let tls = tls
        .then(|| -> Result<RedisTls, String> {
            Ok(RedisTls {
                ca: pem(&args.redis_ca_cert, "--redis-ca-cert")?,
                cert: pem(&args.redis_cert, "--redis-cert")?,
                key: pem(&args.redis_key, "--redis-key")?,
            })
        })
        .transpose()?;
    let url = url.to_string();
    ::redis::Client::open(url.as_str()).map_err(|e| {
        let e = e.to_string();
        bad_url(e.split(" - ").last().unwrap_or(&e))
    })?;
    redis::check_prefix(&args.redis_prefix)?;
    let secs: f64 = args
        .redis_timeout
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .ok_or_else(|| {
            format!(
                "invalid --redis-timeout '{}' (want seconds, more than 0, e.g. 5 or 0.5)",
                args.redis_timeout
            )
        })?;
    let seeds = match &args.redis_cluster {
        None => Vec::new(),
        Some(list) => cluster_seeds(list, &url, args)?,
    };
    Ok(RedisTarget {
        url,
        prefix: args.redis_prefix.clone(),
        timeout: Duration::from_secs_f64(secs),
        tls,
        seeds,
    })
}

/// `--redis-cluster`'s nodes as URLs, with the scheme, user and password of `url`.
fn cluster_seeds(list: &str, url: &str, args: &Args) -> Result<Vec<String>, String> {
    if args.redis_host.is_some() || args.redis_port.is_some() || args.redis_db.is_some() {
        return Err(
            "--redis-host, --redis-port and --redis-db do not apply to --redis-cluster \
             (a cluster has database 0 only; name its nodes in --redis-cluster)"
                .into(),
        );
    }
    let base = ::redis::parse_redis_url(url).ok_or("not a Redis URL")?;
    if !matches!(base.scheme(), "redis" | "rediss" | "valkey" | "valkeys") {
        return Err(
            "--redis-cluster needs a redis:// or rediss:// --redis-url (for its user and password)"
                .into(),
        );
    }
    let mut seeds = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad =
            |why: &str| format!("invalid --redis-cluster node '{item}': {why} (want HOST:PORT)");
        let (host, port) = item.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("the port is not 1-65535"))?;
        let mut u = base.clone();
        if host.is_empty() || u.set_host(Some(host)).is_err() {
            return Err(bad("not a host name or address"));
        }
        u.set_port(Some(port)).map_err(|()| bad("no port"))?;
        u.set_path("");
        seeds.push(u.to_string());
    }
    if seeds.is_empty() {
        return Err("--redis-cluster names no node (want HOST:PORT[,HOST:PORT...])".into());
    }
    Ok(seeds)
}

/// The first line of a password file.
fn read_password(f: &Path) -> Result<String, String> {
    let text = fs::read_to_string(f).map_err(|e| {
        format!(
            "cannot read --redis-password-file {}: {}",
            f.display(),
            plain_message(&e)
        )
    })?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(format!(
            "--redis-password-file {} is empty (want the password on its first line)",
            f.display()
        ));
    }
    Ok(line)
}

fn disk_is_read_only(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: statvfs writes into the zeroed struct we pass.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        libc::statvfs(c.as_ptr(), &mut s) == 0 && (s.f_flag & libc::ST_RDONLY) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        for bad in ["", "0", "-1M", "12X", "M", "1..2G"] {
            assert!(parse_size(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn cluster_nodes_take_the_url_s_user_and_password() {
        let args = Args::try_parse_from(["mavfs-mount", "/m", "--disk-dir", "/d"]).unwrap();
        let seeds = cluster_seeds(
            "10.0.0.5:7000, [::1]:7001,[2001:db8::5]:7002,",
            "rediss://u:pw@x:1/0",
            &args,
        )
        .unwrap();
        assert_eq!(
            seeds,
            [
                "rediss://u:pw@10.0.0.5:7000",
                "rediss://u:pw@[::1]:7001",
                "rediss://u:pw@[2001:db8::5]:7002"
            ]
        );
        for bad in ["10.0.0.5", "h:0", "h:70000", ":7000", "::1:7000", " , "] {
            assert!(
                cluster_seeds(bad, "redis://x:1/0", &args).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/mnt/a\040b"), b"/mnt/a b");
        assert_eq!(unescape_mountinfo("/plain"), b"/plain");
    }
}
