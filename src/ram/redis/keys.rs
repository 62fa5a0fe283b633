//! The key names of one prefix (the layout is in the module header of `redis`).

use super::*;

/// The key names of one prefix.
#[derive(Debug)]
pub(super) struct Keys {
    /// `{P}`: the hash tag that puts all metadata in one cluster slot.
    pub(super) tag: String,
    /// `P`: chunk keys are `P:c:<ino>:<idx>`.
    pub(super) plain: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Keys {
            tag: format!("{{{prefix}}}"),
            plain: prefix.to_owned(),
        }
    }
    pub(super) fn meta(&self) -> String {
        format!("{}:meta", self.tag)
    }
    pub(super) fn inode(&self, ino: Ino) -> String {
        format!("{}:i:{ino}", self.tag)
    }
    pub(super) fn dir(&self, ino: Ino) -> String {
        format!("{}:d:{ino}", self.tag)
    }
    /// A file's chunk list: chunk index -> its slices.
    pub(super) fn chunks(&self, ino: Ino) -> String {
        format!("{}:l:{ino}", self.tag)
    }
    pub(super) fn xattrs(&self, ino: Ino) -> String {
        format!("{}:x:{ino}", self.tag)
    }
    /// The channel of notices between mounts (`notices.rs`).
    pub(super) fn notices(&self) -> String {
        format!("{}:notices", self.tag)
    }
    pub(super) fn gc(&self) -> String {
        format!("{}:gc", self.tag)
    }
    pub(super) fn alive(&self, sid: &str) -> String {
        format!("{}:alive:{sid}", self.tag)
    }
    /// A mount's slices sent and not yet published.
    pub(super) fn pending(&self, session: &str) -> String {
        format!("{}:w:{session}", self.tag)
    }
    pub(super) fn sessions(&self) -> String {
        format!("{}:sessions", self.tag)
    }
    pub(super) fn slice(&self, sid: u64) -> String {
        format!("{}:s:{sid}", self.plain)
    }
    /// A slice key from a `{P}:gc` member (a slice id).
    pub(super) fn gc_slice(&self, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.plain.len() + 3 + member.len());
        k.extend_from_slice(self.plain.as_bytes());
        k.extend_from_slice(b":s:");
        k.extend_from_slice(member);
        k
    }
    /// The glob that matches `s` literally.
    pub(super) fn glob_escape(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}
