//! Programs running from the mount: their files must not be cut under them.

use super::*;

/// The programs this mount's kernel runs, counted by their exec opens until released.
///
/// The kernel refuses a writer's open of a running program (ETXTBSY) before it asks us,
/// but with FUSE_ATOMIC_O_TRUNC it checks a read-only `open(O_TRUNC)` only after the
/// open has truncated: the file and the kernel's cached pages of it, so the program would
/// die. Such an open is refused here instead. Touched only by exec opens, their releases
/// and opens with O_TRUNC (a round trip each anyway), so one lock serves. The kernel marks
/// an ELF interpreter's open too: while programs use one on the mount, it is not truncated
/// either (they would die as well).
#[derive(Default)]
pub(super) struct Running(Mutex<std::collections::HashMap<u64, u32>>);

/// The kernel marks the open that `execve` makes with this bit, and passes it to OPEN and
/// RELEASE among the file's flags (FMODE_EXEC).
pub(super) const FMODE_EXEC: i32 = 0x20;

impl Running {
    pub(super) fn opened(&self, ino: u64, flags: i32) {
        if flags & FMODE_EXEC != 0 {
            *self.0.lock().entry(ino).or_default() += 1;
        }
    }

    pub(super) fn released(&self, ino: u64, flags: i32) {
        if flags & FMODE_EXEC == 0 {
            return;
        }
        let mut map = self.0.lock();
        if let Some(n) = map.get_mut(&ino) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ino);
            }
        }
    }

    /// Whether an open with `flags` of `ino` truncates it: O_TRUNC, unless the file is a
    /// running program (ETXTBSY, as the kernel answers a writer).
    pub(super) fn truncates(&self, ino: u64, flags: i32) -> FsResult<bool> {
        if flags & libc::O_TRUNC == 0 {
            return Ok(false);
        }
        if self.0.lock().contains_key(&ino) {
            return Err(FsError::TextBusy);
        }
        Ok(true)
    }
}
