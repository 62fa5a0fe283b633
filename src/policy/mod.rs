//! Tiering policies: rules, by path prefix under `/vram`, that demote idle files to
//! `/vdisk` (the same relative path), keep a durable copy there soon after each change, or
//! delete scratch files; and pins that keep files in `vram/` whatever the rules say.
//!
//! The policy is a TOML file (`--policy FILE`, `mavfsctl policy load FILE`); `plan` says
//! what it asks for now, and why, without changing anything; the control file's policy
//! thread carries the plan out through the same jobs `mavfsctl push` runs.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use serde::Deserialize;

use crate::config::parse_interval;
use crate::node::{Ino, Place};
use crate::sync::Mutex;
use crate::vpath::VPath;

mod plan;

pub use plan::{mark, plan, version, vram_path, Action, Dirty, Planned};

/// A pin: kept on the store inode (so Redis and snapshots keep it), never shown to users.
pub const PIN_XATTR: &str = "trusted.mavfs.pin";
/// The version (`mtime_ns:size`) of a file whose durable copy on `vdisk/` is current.
pub const PERSISTED_XATTR: &str = "trusted.mavfs.persisted";

/// Attributes that are the daemon's own bookkeeping: hidden from users, not copied by jobs.
pub fn is_internal_xattr(name: &OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().starts_with(b"trusted.mavfs.")
}

/// The `vram/` files this mount has open for writing: a policy leaves them alone.
#[derive(Debug, Default)]
pub struct Writers(Mutex<std::collections::HashMap<Ino, u32>>);

impl Writers {
    /// Whether open flags give write access.
    pub fn writes(flags: i32) -> bool {
        flags & libc::O_ACCMODE != libc::O_RDONLY
    }

    pub fn opened(&self, ino: Ino) {
        *self.0.lock().entry(ino).or_default() += 1;
    }

    pub fn released(&self, ino: Ino) {
        let mut map = self.0.lock();
        if let Some(n) = map.get_mut(&ino) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ino);
            }
        }
    }

    pub fn writing(&self, ino: Ino) -> bool {
        self.0.lock().contains_key(&ino)
    }
}

const MAX_TICK: Duration = Duration::from_secs(10);

/// A loaded policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// Past `high` of `--ram-limit` in use, files are demoted until `low` is reached.
    pub marks: Option<Marks>,
    /// The most bytes a second the policy's copies take (`policy_rate`); None: one file at
    /// a time, as fast as it goes.
    pub rate: Option<u64>,
}

/// Watermarks, as fractions of the RAM tier's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marks {
    pub high: f64,
    pub low: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written: `/vram/cache`.
    pub path: String,
    /// Its components under `/vram`.
    comps: Vec<OsString>,
    /// Not used (opened, read or written) for this long: moved to `/vdisk`.
    pub demote_after: Option<Duration>,
    /// A durable copy on `/vdisk` within this long of the last change.
    pub persist_after: Option<Duration>,
    /// Not used for this long: removed.
    pub delete_after: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rule: Vec<RuleFile>,
    vram: Option<MarksFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarksFile {
    high_watermark: Option<String>,
    low_watermark: Option<String>,
    policy_rate: Option<String>,
}

/// `90%` as 0.9.
fn percent(what: &str, s: &str) -> Result<f64, String> {
    let bad = || format!("[vram] {what}: '{s}' is not a percentage (e.g. 90%)");
    let n: f64 = s
        .trim()
        .strip_suffix('%')
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if !(0.0..=100.0).contains(&n) {
        return Err(bad());
    }
    Ok(n / 100.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    path: String,
    demote_after: Option<String>,
    persist_after: Option<String>,
    delete_after: Option<String>,
}

impl Policy {
    /// Parses a policy file's text; the error is one line naming what is wrong and where.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            // One line: the parser's message may run over several.
            let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            match e.span() {
                Some(s) => {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })?;
        let mut rules: Vec<Rule> = Vec::new();
        for r in file.rule {
            let at = |what: &str, v: &Option<String>| -> Result<Option<Duration>, String> {
                v.as_deref()
                    .map(|s| parse_interval(s).map_err(|e| format!("rule {}: {what}: {e}", r.path)))
                    .transpose()
            };
            let p = VPath::parse(&r.path).map_err(|e| format!("rule {}: {e}", r.path))?;
            if p.tier != Place::Vram {
                return Err(format!("rule {}: rules apply to paths under /vram", r.path));
            }
            let rule = Rule {
                path: r.path.clone(),
                comps: p.comps.iter().map(|c| c.to_os_string()).collect(),
                demote_after: at("demote_after", &r.demote_after)?,
                persist_after: at("persist_after", &r.persist_after)?,
                delete_after: at("delete_after", &r.delete_after)?,
            };
            if rule.demote_after.is_none()
                && rule.persist_after.is_none()
                && rule.delete_after.is_none()
            {
                return Err(format!(
                    "rule {}: says nothing (give demote_after, persist_after or delete_after)",
                    r.path
                ));
            }
            if rule.delete_after.is_some()
                && (rule.demote_after.is_some() || rule.persist_after.is_some())
            {
                return Err(format!(
                    "rule {}: delete_after is for scratch files, not with demote_after or persist_after",
                    r.path
                ));
            }
            if rules.iter().any(|o| o.comps == rule.comps) {
                return Err(format!("rule {}: a second rule for the same path", r.path));
            }
            rules.push(rule);
        }
        let vram = file.vram.unwrap_or(MarksFile {
            high_watermark: None,
            low_watermark: None,
            policy_rate: None,
        });
        let marks = match (&vram.high_watermark, &vram.low_watermark) {
            (Some(h), Some(l)) => {
                let high = percent("high_watermark", h)?;
                let low = percent("low_watermark", l)?;
                if low >= high {
                    return Err(format!(
                        "[vram] low_watermark ({l}) must be below high_watermark ({h})"
                    ));
                }
                Some(Marks { high, low })
            }
            (None, None) => None,
            _ => return Err("[vram] give both high_watermark and low_watermark".into()),
        };
        let rate = vram
            .policy_rate
            .map(|r| {
                crate::config::parse_size(&r)
                    .map_err(|e| format!("[vram] policy_rate (bytes a second): {e}"))
            })
            .transpose()?;
        Ok(Policy { rules, marks, rate })
    }

    /// The rule for a path under `/vram` (its components): the longest prefix.
    pub fn rule_for(&self, comps: &[OsString]) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| comps.starts_with(&r.comps))
            .max_by_key(|r| r.comps.len())
    }

    /// Whether some rule applies at or under a directory (its components).
    fn reaches(&self, comps: &[OsString]) -> bool {
        self.rules
            .iter()
            .any(|r| comps.starts_with(&r.comps) || r.comps.starts_with(comps))
    }

    /// How often the policy thread looks: often enough for the shortest time a rule names
    /// (a quarter of it), between 1 s and 10 s (files dated back, or a watermark passed,
    /// are seen soon).
    pub fn tick(&self) -> Duration {
        self.rules
            .iter()
            .flat_map(|r| [r.demote_after, r.persist_after, r.delete_after])
            .flatten()
            .map(|d| d / 4)
            .min()
            .unwrap_or(MAX_TICK)
            .clamp(Duration::from_secs(1), MAX_TICK)
    }
}

/// `1m 30s`-style: the largest two units.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_and_picks_the_longest_prefix() {
        let p = Policy::parse(
            r#"
            [vram]
            high_watermark = "90%"
            low_watermark = "75%"
            policy_rate = "64M"
            [[rule]]
            path = "/vram/cache"
            demote_after = "10m"
            [[rule]]
            path = "/vram/cache/hot"
            persist_after = "30s"
            [[rule]]
            path = "/vram/tmp"
            delete_after = "1h"
            "#,
        )
        .unwrap();
        let comps = |s: &str| -> Vec<OsString> { s.split('/').map(OsString::from).collect() };
        assert_eq!(p.rule_for(&comps("cache/a")).unwrap().path, "/vram/cache");
        assert_eq!(
            p.rule_for(&comps("cache/hot/b")).unwrap().path,
            "/vram/cache/hot"
        );
        assert!(p.rule_for(&comps("cachet/b")).is_none());
        assert_eq!(
            p.rule_for(&comps("tmp/x")).unwrap().delete_after,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(p.tick(), Duration::from_millis(7500));
        assert_eq!(
            p.marks,
            Some(Marks {
                high: 0.9,
                low: 0.75
            })
        );
        assert_eq!(p.rate, Some(64 << 20));
        assert!(p.reaches(&comps("cache")));
        assert!(!p.reaches(&comps("other")));
    }

    #[test]
    fn refuses_with_one_line_naming_the_fault() {
        for (text, needle) in [
            ("[[rule]]\npath = \"/vdisk/x\"\ndemote_after = \"1m\"", "under /vram"),
            ("[[rule]]\npath = \"/vram/x\"", "says nothing"),
            ("[[rule]]\npath = \"/vram/x\"\ndemote_after = \"soon\"", "demote_after"),
            ("[[rule]]\npath = \"/vram/x\"\ndemote_after = \"1m\"\ncolour = 1", "line 4"),
            (
                "[[rule]]\npath = \"/vram/x\"\ndelete_after = \"1m\"\npersist_after = \"1m\"",
                "scratch",
            ),
            (
                "[[rule]]\npath = \"/vram/x\"\ndemote_after = \"1m\"\n[[rule]]\npath = \"/vram/x/\"\ndemote_after = \"2m\"",
                "same path",
            ),
            ("[[rule]\n", "line 1"),
            ("[vram]\nhigh_watermark = \"90\"\nlow_watermark = \"75%\"", "percentage"),
            ("[vram]\nhigh_watermark = \"70%\"\nlow_watermark = \"75%\"", "below"),
            ("[vram]\nhigh_watermark = \"70%\"", "both"),
            ("[vram]\npolicy_rate = \"fast\"", "policy_rate"),
        ] {
            let e = Policy::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e:?}");
        }
    }
}
