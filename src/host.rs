//! The ground floor's facts of the machine the daemon runs on, and how its errors read for a
//! person. Every layer may use these; they use nothing of the project.

/// This machine's memory, in bytes.
pub fn physical_ram() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64).saturating_mul(page.max(0) as u64)
}

/// An error's text without the ` (os error N)` that `io::Error` appends: the message is for
/// a person; the number says nothing more.
pub fn plain_message(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}
