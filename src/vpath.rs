//! A path on the mount as a request names it (`/vram/a/b`), parsed once: its tier and its
//! components. `.`, `..`, empty components and the names of copies in progress are refused.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use crate::node::{is_tmp_name, Place, TMP_PREFIX};

#[derive(Debug, Clone)]
pub struct VPath<'a> {
    /// As the request wrote it, for messages.
    pub text: &'a str,
    pub tier: Place,
    pub comps: Vec<&'a OsStr>,
}

impl<'a> VPath<'a> {
    pub fn parse(text: &'a str) -> Result<VPath<'a>, String> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| format!("{text}: not a virtual path (/vram/... or /vdisk/...)"))?;
        let mut parts = rest.split('/').filter(|p| !p.is_empty());
        let tier = match parts.next() {
            Some("vram") => Place::Vram,
            Some("vdisk") => Place::Vdisk,
            _ => return Err(format!("{text}: not under /vram or /vdisk")),
        };
        let comps: Vec<&OsStr> = parts.map(OsStr::new).collect();
        if comps
            .iter()
            .any(|c| c.as_bytes() == b"." || c.as_bytes() == b"..")
        {
            return Err(format!(
                "{text}: '.' and '..' are not allowed in a virtual path"
            ));
        }
        if comps.iter().any(|c| is_tmp_name(c)) {
            return Err(format!(
                "{text}: names starting with {} are reserved for copies in progress",
                String::from_utf8_lossy(TMP_PREFIX)
            ));
        }
        Ok(VPath { text, tier, comps })
    }
}

impl fmt::Display for VPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_once_and_bad_ones_are_named() {
        let p = VPath::parse("/vram//a/b/").unwrap();
        assert_eq!((p.tier, p.comps.len()), (Place::Vram, 2));
        assert_eq!(VPath::parse("/vdisk").unwrap().comps.len(), 0);
        for bad in [
            "vram/a",
            "/tmp/a",
            "/vram/../etc",
            "/vdisk/./a",
            "/vram/.mavfs-tmp.1",
        ] {
            let e = VPath::parse(bad).unwrap_err();
            assert!(e.starts_with(bad), "{e}");
        }
    }
}
