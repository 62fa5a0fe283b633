//! POSIX ACLs in their xattr form (`system.posix_acl_access`, `system.posix_acl_default`):
//! what the daemon must do itself once the kernel hands ACLs over (FUSE_POSIX_ACL). The
//! kernel checks permissions against them; the filesystem keeps the mode and the ACL in
//! step, and gives new nodes their parent's default ACL, as Linux's `posix_acl_*` do.
//!
//! The value is kept byte for byte as the kernel sent it: a little-endian `u32` version
//! (2), then 8-byte entries `tag:u16 perm:u16 id:u32`.

use std::ffi::OsStr;

pub const ACCESS: &str = "system.posix_acl_access";
pub const DEFAULT: &str = "system.posix_acl_default";

const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;

/// Whether `name` is one of the two ACL attributes.
pub fn is_acl(name: &OsStr) -> bool {
    name == ACCESS || name == DEFAULT
}

/// An ACL value, checked: a known version and whole entries of known tags, each of the
/// owner, group and other entries present once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl(Vec<u8>);

impl Acl {
    pub fn parse(value: &[u8]) -> Option<Acl> {
        let (head, body) = value.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*head) != VERSION || body.len() % 8 != 0 {
            return None;
        }
        let mut seen = [0u32; 3];
        for e in body.chunks_exact(8) {
            match u16::from_le_bytes([e[0], e[1]]) {
                USER_OBJ => seen[0] += 1,
                GROUP_OBJ => seen[1] += 1,
                OTHER => seen[2] += 1,
                USER | GROUP | MASK => {}
                _ => return None,
            }
        }
        (seen == [1, 1, 1]).then(|| Acl(value.to_vec()))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn entries(&mut self) -> impl Iterator<Item = (u16, &mut [u8])> {
        self.0[4..]
            .chunks_exact_mut(8)
            .map(|e| (u16::from_le_bytes([e[0], e[1]]), &mut e[2..4]))
    }

    fn has(&self, tag: u16) -> bool {
        self.0[4..]
            .chunks_exact(8)
            .any(|e| u16::from_le_bytes([e[0], e[1]]) == tag)
    }

    /// The permission bits the ACL gives the owner, group class (the mask, if any) and
    /// others, and whether the mode alone says as much (no named entries, no mask).
    pub fn mode(&self) -> (u16, bool) {
        let mut mode = 0;
        let mut equiv = true;
        let mut mask = None;
        for e in self.0[4..].chunks_exact(8) {
            let perm = u16::from_le_bytes([e[2], e[3]]) & 7;
            match u16::from_le_bytes([e[0], e[1]]) {
                USER_OBJ => mode |= perm << 6,
                GROUP_OBJ => mode |= perm << 3,
                OTHER => mode |= perm,
                MASK => {
                    mask = Some(perm);
                    equiv = false;
                }
                _ => equiv = false,
            }
        }
        if let Some(m) = mask {
            mode = (mode & !0o070) | (m << 3);
        }
        (mode, equiv)
    }

    /// A new node's ACL from its parent's default ACL (`posix_acl_create_masq`): `mode`
    /// (the caller's, without umask) and the ACL restrict each other. The access ACL to
    /// keep (None when the mode says it all) and the new permission bits.
    pub fn create(mut self, mode: u16) -> (Option<Acl>, u16) {
        let mut m = mode & 0o777;
        let mut equiv = true;
        for (tag, perm) in self.entries() {
            let mut p = u16::from_le_bytes([perm[0], perm[1]]);
            match tag {
                USER_OBJ => {
                    p &= (m >> 6) | !7;
                    m &= (p << 6) | !0o700;
                }
                OTHER => {
                    p &= m | !7;
                    m &= p | !0o007;
                }
                USER | GROUP | MASK => equiv = false,
                _ => {}
            }
            perm.copy_from_slice(&p.to_le_bytes());
        }
        // The mask, where there is one, stands for the group class; else the owning group.
        let class = if self.has(MASK) { MASK } else { GROUP_OBJ };
        for (tag, perm) in self.entries() {
            if tag == class {
                let p = u16::from_le_bytes([perm[0], perm[1]]) & ((m >> 3) | !7);
                m &= (p << 3) | !0o070;
                perm.copy_from_slice(&p.to_le_bytes());
            }
        }
        let mode = (mode & !0o777) | m;
        ((!equiv).then_some(self), mode)
    }

    /// The ACL after a chmod to `mode` (`__posix_acl_chmod_masq`): owner, group class and
    /// other entries take the mode's bits; named entries stay.
    pub fn chmod(mut self, mode: u16) -> Acl {
        let class = if self.has(MASK) { MASK } else { GROUP_OBJ };
        for (tag, perm) in self.entries() {
            let p = match tag {
                USER_OBJ => (mode >> 6) & 7,
                OTHER => mode & 7,
                t if t == class => (mode >> 3) & 7,
                _ => continue,
            };
            perm.copy_from_slice(&p.to_le_bytes());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut v = VERSION.to_le_bytes().to_vec();
        for &(tag, perm, id) in entries {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        v
    }

    const U: u32 = u32::MAX;

    #[test]
    fn parse_refuses_what_is_not_an_acl() {
        assert!(Acl::parse(b"").is_none());
        assert!(Acl::parse(&acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 5, U)])).is_none());
        let mut torn = acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 5, U), (OTHER, 5, U)]);
        torn.pop();
        assert!(Acl::parse(&torn).is_none());
        let mut v1 = acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 5, U), (OTHER, 5, U)]);
        v1[0] = 1;
        assert!(Acl::parse(&v1).is_none());
        assert!(Acl::parse(&acl(&[(USER_OBJ, 7, U), (0x40, 5, U), (OTHER, 5, U)])).is_none());
    }

    #[test]
    fn mode_follows_the_mask_and_tells_equivalence() {
        let plain = Acl::parse(&acl(&[(USER_OBJ, 6, U), (GROUP_OBJ, 4, U), (OTHER, 0, U)]));
        assert_eq!(plain.unwrap().mode(), (0o640, true));
        let masked = acl(&[
            (USER_OBJ, 7, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 3, U),
            (OTHER, 1, U),
        ]);
        assert_eq!(Acl::parse(&masked).unwrap().mode(), (0o731, false));
    }

    #[test]
    fn create_masks_as_linux_does() {
        // A default ACL with a named user: the mask takes the group class of the mode.
        let d = acl(&[
            (USER_OBJ, 7, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 7, U),
            (OTHER, 5, U),
        ]);
        let (a, mode) = Acl::parse(&d).unwrap().create(0o100644);
        assert_eq!(mode, 0o100644);
        let want = acl(&[
            (USER_OBJ, 6, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 4, U),
            (OTHER, 4, U),
        ]);
        assert_eq!(a.unwrap().bytes(), want);
        // Only the three base entries: the mode says it all, no access ACL.
        let d = acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 0, U), (OTHER, 0, U)]);
        let (a, mode) = Acl::parse(&d).unwrap().create(0o2777);
        assert!(a.is_none());
        assert_eq!(mode, 0o2700);
    }

    #[test]
    fn chmod_rewrites_owner_class_and_other() {
        let a = acl(&[
            (USER_OBJ, 7, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 7, U),
            (OTHER, 5, U),
        ]);
        let got = Acl::parse(&a).unwrap().chmod(0o640);
        let want = acl(&[
            (USER_OBJ, 6, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 4, U),
            (OTHER, 0, U),
        ]);
        assert_eq!(got.bytes(), want);
        assert_eq!(got.mode(), (0o640, false));
    }
}
