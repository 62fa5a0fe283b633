//! The control file's protocol, shared by the daemon and `mavfsctl` so they cannot drift.
//!
//! A client opens `MOUNT/.mavfs-ctl` read-write, writes ONE request as a JSON object on one
//! line, then reads answers, one JSON object per line, until end of file:
//!
//! ```text
//! > {"v":1,"op":"push","src":"/vram/data","dst":"/vdisk/data","move":false,"force":false}
//! < {"state":"running","progress":{"bytes_done":1048576,"bytes_total":8388608,...}}
//! < {"state":"done","result":{"files":3,"dirs":1,"symlinks":0,"bytes":8388608}}
//! ```
//!
//! Each read returns the state at that moment (`running` while a job goes on), so a client
//! polls at its own pace; the final answer (`done`, `error` or `cancelled`) comes once, then
//! end of file. Closing the file while a job runs cancels it, and so does writing
//! `{"v":1,"op":"cancel"}` on the same open file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;
/// Longest request accepted, in bytes.
pub const MAX_REQUEST: usize = 64 * 1024;
/// The control file's name in the mount root.
pub const CONTROL_NAME: &str = ".mavfs-ctl";
/// The control file's extended attribute naming what the mount root holds: `both` tiers,
/// or `vram` or `vdisk` alone (a mount with `--tier`).
pub const ROOT_XATTR: &str = "user.mavfs.root";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Copy `src` (under /vram) to `dst` (under /vdisk).
    Push(Copy),
    /// Copy `src` (under /vdisk) to `dst` (under /vram).
    Pull(Copy),
    Stats,
    /// Stop the job running on this open file.
    Cancel,
    /// The push and pull jobs running, and those a stopped daemon left unfinished.
    Jobs,
    /// Finish an interrupted job (its journal id).
    Resume {
        id: u64,
    },
    /// Stop a running job from any shell, or give up an interrupted one: its temporary files
    /// go, what arrived whole stays, the source is untouched.
    CancelJob {
        id: u64,
    },
    /// Save vram/ (the in-process store) to its snapshot dir now.
    Snapshot,
    /// An instant copy of a tree inside vram/, its file data shared until written.
    Clone {
        src: String,
        dst: String,
    },
    /// Pin (or unpin) a file or tree under /vram: a policy never demotes or deletes it.
    Pin {
        path: String,
        #[serde(default = "yes")]
        pin: bool,
    },
    /// Load a policy file's text in place of the mount's policy.
    PolicyLoad {
        text: String,
    },
    /// Where a file is and what the policy makes of it.
    State {
        path: String,
    },
    /// What a policy (this text, or the mount's) asks for now, and why; nothing changes.
    PolicyCheck {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    /// Virtual paths: `/vram/...` or `/vdisk/...`.
    pub src: String,
    pub dst: String,
    /// Remove the source once the destination is complete.
    #[serde(default, rename = "move")]
    pub move_source: bool,
    /// Replace existing destination files.
    #[serde(default)]
    pub force: bool,
    /// Read each copy back and compare its checksum with the source's before placing it.
    #[serde(default)]
    pub verify: bool,
    /// Only say what would be copied (files, bytes, conflicts); change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// At most this many bytes a second (a policy's moves, `--rate`); None: as fast as it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    #[serde(flatten)]
    pub op: Op,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub elapsed_ms: u64,
    /// Bytes read back from the destination and found equal to the source (`verify`).
    #[serde(default)]
    pub verified_bytes: u64,
}

/// What a finished copy did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// FIFOs, sockets and device nodes.
    #[serde(default)]
    pub specials: u64,
    /// Bytes whose copy was read back and found equal (`verify`).
    #[serde(default)]
    pub verified_bytes: u64,
    /// Files already at the destination whole, left as they were (a resumed job).
    #[serde(default)]
    pub skipped: u64,
    /// What could not be kept, each naming its path (an xattr the destination refuses, a
    /// source changed during a move and so kept).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// A dry run: nothing was changed, and `conflicts` lists what would stop the copy.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// At most this many warnings or conflicts are listed; the rest are counted in one line.
pub const MAX_LISTED: usize = 100;

impl Copied {
    /// Adds a warning, keeping the list short.
    pub fn warn(&mut self, w: String) {
        push_listed(&mut self.warnings, w);
    }

    pub fn conflict(&mut self, c: String) {
        push_listed(&mut self.conflicts, c);
    }
}

fn push_listed(list: &mut Vec<String>, item: String) {
    match list.len() {
        n if n < MAX_LISTED => list.push(item),
        MAX_LISTED => list.push("(more not listed)".into()),
        _ => {}
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TierStats {
    pub files: u64,
    pub dirs: u64,
    /// Logical bytes: the sum of file sizes.
    pub bytes: u64,
    /// What the files really take on the host (`st_blocks`), on vdisk.
    #[serde(default)]
    pub blocks_bytes: u64,
    /// Operations served by the daemon since the mount (vdisk file data going through
    /// FUSE passthrough never reaches the daemon and is not counted).
    pub ops: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub errors: u64,
    /// Per kind of operation (`lookup`, `read`, `write`, ...), those that ran at least once.
    #[serde(default)]
    pub by_op: BTreeMap<String, OpStats>,
    /// Failed operations by errno name (`ENOENT`, ...).
    #[serde(default)]
    pub errors_by_errno: BTreeMap<String, u64>,
}

/// One kind of operation on one tier since the mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    pub ops: u64,
    pub errors: u64,
    /// Bytes read or written (reads and writes only).
    pub bytes: u64,
    /// Mean latency in microseconds, and the bucket bounds the median and 99th percentile
    /// fall under (the histogram's buckets are powers of two).
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// A push or pull running in the daemon, or left unfinished by one that stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: u64,
    /// `push` or `pull`.
    pub op: String,
    pub src: String,
    pub dst: String,
    pub progress: Progress,
    /// `running`, or `interrupted` (the daemon running it stopped: resume or cancel it).
    #[serde(default = "running")]
    pub state: String,
    /// `copying`, or `removing` (the source, once all was copied, for a move).
    #[serde(default)]
    pub phase: String,
    #[serde(default, rename = "move")]
    pub move_source: bool,
    #[serde(default)]
    pub verify: bool,
}

fn running() -> String {
    "running".into()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub vram: TierStats,
    pub vdisk: TierStats,
    /// `memory`, or the Redis URL without its password.
    pub backend: String,
    pub vram_limit: u64,
    pub vram_used: u64,
    /// What the inodes' metadata takes of the limit besides (`INODE_COST` each).
    #[serde(default)]
    pub vram_meta: u64,
    /// The Redis server's `used_memory`, on Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_memory: Option<u64>,
    /// Redis: the round trip of a PING in microseconds, or None when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_rtt_us: Option<u64>,
    /// Redis: `up`, or why it cannot be reached. Empty for the in-process store.
    #[serde(default)]
    pub backend_state: String,
    /// The daemon's resident memory (what the in-process store costs, with the rest).
    #[serde(default)]
    pub daemon_rss: u64,
    pub disk_dir: String,
    pub disk_free: u64,
    pub disk_total: u64,
    pub uptime_secs: u64,
    /// Push and pull jobs running now.
    #[serde(default)]
    pub jobs: Vec<JobInfo>,
    /// Bytes that jobs read back and found equal to their source since the mount.
    #[serde(default)]
    pub verified_bytes: u64,
    /// Where the in-process store is saved, if it is (`--snapshot-dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotStats>,
    /// The tiering policy and what it did, if the mount has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyStats>,
    /// On a Redis Cluster: each master, and what it holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<crate::ram::NodeStats>,
    /// Requests served over io_uring since the mount, on a mount with `--uring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uring_requests: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyStats {
    pub rules: u64,
    /// Files the policy demoted, persisted and deleted since the mount, and the bytes it
    /// copied to /vdisk for them.
    pub demoted: u64,
    pub persisted: u64,
    pub deleted: u64,
    pub moved_bytes: u64,
    /// Files under a persist_after rule whose durable copy is not current (as of the last
    /// round), their bytes, and the age of the oldest change among them ("dirty age").
    pub dirty_files: u64,
    pub dirty_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_age_secs: Option<u64>,
    /// The last action that failed, in one line ("" if none).
    #[serde(default)]
    pub last_error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotStats {
    pub dir: String,
    /// The newest snapshot this mount saved or loaded ("" if none yet).
    pub last: String,
    pub last_bytes: u64,
    /// Seconds since it was taken (or, for a loaded one, written).
    pub last_age_secs: u64,
    /// Seconds its save (or load) took.
    pub last_took_secs: f64,
    /// Whether vram/ changed since: what a kill now would lose.
    pub changed_since: bool,
    /// Why the last save failed ("" if it did not).
    #[serde(default)]
    pub failed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Answer {
    Running { progress: Progress },
    Done { result: Outcome },
    Error { message: String },
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    Copied(Copied),
    Stats(Box<Stats>),
    Jobs(JobList),
    /// What a request that moves no data did, in one line.
    Note {
        note: String,
    },
    State(FileState),
}

/// `mavfsctl state PATH`: where a file is and what the policy makes of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileState {
    pub path: String,
    /// `vram`, `vdisk`, or `both` (a durable copy, or an older one, on /vdisk too).
    pub tier: String,
    pub size: u64,
    pub pinned: bool,
    /// The rule that applies (its path), and what it says.
    #[serde(default)]
    pub rule: String,
    /// Seconds since the file was last read or written.
    pub idle_secs: u64,
    /// Of a file in /vram: `current` (its copy on /vdisk is of this version), `stale`
    /// (an older one is there), `none`.
    pub durable_copy: String,
}

impl Answer {
    /// The answer as one line of JSON, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_else(|e| {
            format!("{{\"state\":\"error\",\"message\":\"cannot encode the answer: {e}\"}}")
                .into_bytes()
        });
        v.push(b'\n');
        v
    }

    pub fn is_final(&self) -> bool {
        !matches!(self, Answer::Running { .. })
    }
}

/// Parses one request; the error is the message to answer with.
pub fn parse_request(bytes: &[u8]) -> Result<Request, String> {
    if bytes.len() > MAX_REQUEST {
        return Err(format!(
            "request too large ({} bytes, at most {MAX_REQUEST})",
            bytes.len()
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "malformed request: not UTF-8".to_string())?;
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("malformed request: {e}"))?;
    let Some(fields) = value.as_object() else {
        return Err("malformed request: not a JSON object".into());
    };
    match fields.get("v") {
        None => return Err("malformed request: missing \"v\" (protocol version)".into()),
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(VERSION) => {}
            Some(n) => {
                return Err(format!(
                    "unsupported protocol version {n} (this mount speaks {VERSION})"
                ))
            }
            None => {
                return Err(format!(
                    "malformed request: field \"v\" must be the protocol version {VERSION}, not {v}"
                ))
            }
        },
    }
    // Every field a request may have, with its JSON type: anything else is refused by
    // name, so a misspelt option is never taken for its default.
    let allowed: &[(&str, &str)] = match fields.get("op").map(|o| o.as_str()) {
        Some(Some("push" | "pull")) => &[
            ("v", ""),
            ("op", ""),
            ("src", "string"),
            ("dst", "string"),
            ("move", "boolean"),
            ("force", "boolean"),
            ("verify", "boolean"),
            ("dry_run", "boolean"),
            ("rate", "number"),
        ],
        Some(Some("stats" | "cancel" | "jobs" | "snapshot")) => &[("v", ""), ("op", "")],
        Some(Some("clone")) => &[
            ("v", ""),
            ("op", ""),
            ("src", "string"),
            ("dst", "string"),
        ],
        Some(Some("resume" | "cancel_job")) => &[("v", ""), ("op", ""), ("id", "number")],
        Some(Some("state")) => &[("v", ""), ("op", ""), ("path", "string")],
        Some(Some("pin")) => &[("v", ""), ("op", ""), ("path", "string"), ("pin", "boolean")],
        Some(Some("policy_load" | "policy_check")) => {
            &[("v", ""), ("op", ""), ("text", "string")]
        }
        Some(Some(op)) => {
            return Err(format!(
                "unknown request \"{op}\" (expected push, pull, stats, jobs, resume, cancel_job, cancel, snapshot, clone, pin, state, policy_load or policy_check)"
            ))
        }
        Some(None) => return Err("malformed request: field \"op\" must be a string".into()),
        None => return Err("malformed request: missing \"op\"".into()),
    };
    for (name, v) in fields {
        let Some((_, want)) = allowed.iter().find(|(n, _)| n == name) else {
            return Err(format!("malformed request: unknown field \"{name}\""));
        };
        let ok = match *want {
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "number" => v.is_u64(),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "malformed request: field \"{name}\" must be a {want}, not {v}"
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("malformed request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_named() {
        let r =
            parse_request(br#"{"v":1,"op":"push","src":"/vram/a","dst":"/vdisk/a","move":true}"#)
                .unwrap();
        assert_eq!(
            r.op,
            Op::Push(Copy {
                src: "/vram/a".into(),
                dst: "/vdisk/a".into(),
                move_source: true,
                force: false,
                verify: false,
                dry_run: false,
                rate: None,
            })
        );
        assert!(parse_request(b"{nope")
            .unwrap_err()
            .starts_with("malformed request"));
        assert!(parse_request(br#"{"v":1,"op":"format"}"#)
            .unwrap_err()
            .contains("unknown request"));
        assert!(parse_request(br#"{"v":9,"op":"stats"}"#)
            .unwrap_err()
            .contains("version"));
        assert!(parse_request(br#"{"v":1,"op":"push"}"#)
            .unwrap_err()
            .contains("malformed"));
        for (req, named) in [
            (r#"{"v":-1,"op":"stats"}"#, "\"v\""),
            (r#"{"v":"1","op":"stats"}"#, "\"v\""),
            (r#"{"v":1.0,"op":"stats"}"#, "\"v\""),
            (r#"{"v":1,"op":"stats","verbose":true}"#, "\"verbose\""),
            (
                r#"{"v":1,"op":"push","src":"/vram/a","dst":"/vdisk/a","mvoe":true}"#,
                "\"mvoe\"",
            ),
            (
                r#"{"v":1,"op":"push","src":"/vram/a","dst":"/vdisk/a","move":"yes"}"#,
                "\"move\"",
            ),
            (r#"{"v":1,"op":"pull","src":7,"dst":"/vram/a"}"#, "\"src\""),
            (r#"{"v":1,"op":3}"#, "\"op\""),
            (r#"[1]"#, "object"),
        ] {
            let e = parse_request(req.as_bytes()).unwrap_err();
            assert!(e.contains(named), "{req}: {e}");
        }
        assert!(parse_request(&vec![b' '; MAX_REQUEST + 1])
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn answers_are_one_line_each() {
        let a = Answer::Error {
            message: "no such path: /vram/x".into(),
        };
        let line = a.to_line();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let back: Answer = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, a);
        assert!(back.is_final());
    }
}
