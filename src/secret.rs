//! Keeping the Redis password out of sight: the process's own arguments are overwritten
//! once read (as mount.cifs does), so `ps` and `/proc/PID/cmdline` never show it.

use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

/// glibc passes `main`'s arguments to `.init_array` functions too; that is the only way to
/// reach the memory `/proc/PID/cmdline` reads (std keeps copies).
extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
    ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static CAPTURE: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture;

/// The byte range of the password in `s`, if it holds a URL with one (`scheme://user:PASS@`).
pub fn password_span(s: &[u8]) -> Option<(usize, usize)> {
    let start = s.windows(3).position(|w| w == b"://")? + 3;
    let rest = &s[start..];
    // The authority ends at the first '/', '?' or '#'; the userinfo at its last '@'.
    let auth_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let at = rest[..auth_end].iter().rposition(|&b| b == b'@')?;
    let colon = rest[..at].iter().position(|&b| b == b':')?;
    (colon + 1 < at).then_some((start + colon + 1, start + at))
}

/// Overwrites with `*` every password inside a URL among the process's arguments. Returns
/// false if an argument holds a password and the arguments could not be reached.
pub fn scrub_argv() -> bool {
    let argc = ARGC.load(Ordering::Relaxed);
    let argv = ARGV.load(Ordering::Relaxed);
    if argv.is_null() {
        return !std::env::args_os().any(|a| {
            password_span(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).is_some()
        });
    }
    for i in 0..argc {
        // SAFETY: argv holds argc valid NUL-terminated strings for the life of the process
        // (captured from the C runtime before main); we only overwrite bytes inside one,
        // never its length.
        unsafe {
            let p = *argv.add(i);
            if p.is_null() {
                continue;
            }
            let len = CStr::from_ptr(p).to_bytes().len();
            let bytes = std::slice::from_raw_parts_mut(p.cast::<u8>(), len);
            // A URL may come twice in one argument (`-o redis_url=...,...`): scrub them all.
            let mut from = 0;
            while let Some((a, b)) = password_span(&bytes[from..]) {
                bytes[from + a..from + b].fill(b'*');
                from += b;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_of_a_url_is_found() {
        fn span(s: &str) -> Option<&str> {
            password_span(s.as_bytes()).map(|(a, b)| &s[a..b])
        }
        assert_eq!(span("redis://:s3cret@host:6379/0"), Some("s3cret"));
        assert_eq!(span("redis://user:p@ss@host/0"), Some("p@ss"));
        assert_eq!(span("--redis-url=rediss://u:x@h"), Some("x"));
        assert_eq!(span("redis://user@host/0"), None);
        assert_eq!(span("redis://host:6379/0"), None);
        assert_eq!(span("redis://host/a:b@c"), None);
        assert_eq!(span("/mnt/plain"), None);
    }
}
