//! The sweep: dead mounts' opens given back, slices nobody names collected, sparse packs
//! packed again, and what an older format left deleted a step at a time. Run at mount, every `SWEEP_EVERY`
//! heartbeats, and at unmount.

use super::*;

impl Inner {
    pub(super) fn sweep(&self) {
        self.sweep_with(&self.sid);
    }

    /// Gives back dead sessions' opens (all but `keep`'s) and collects the gc set.
    pub(super) fn sweep_with(&self, keep: &str) {
        match self.script(&self.scripts.sweep, false, &[keep.as_bytes()]) {
            Ok(v) => {
                let a = array(&v);
                if let Some(n) = a.first().and_then(number).filter(|&n| n > 0) {
                    info!(
                        "gave back the open files of {n} mount(s) that ended without closing them"
                    );
                }
                if let Some(gc) = a.get(1) {
                    self.drop_chunks(array(gc));
                }
            }
            Err(e) => debug!("sweep: {e}"),
        }
        self.sweep_old_sets();
        // Not at the session's end: new packs would be listed under a session gone.
        if !keep.is_empty() {
            // A pack stays open a sweep at most: what it holds past its bytes (room to grow,
            // files removed since) is given back within a minute.
            self.seal_open_pack();
            self.repack_sparse();
        }
        // Slices listed for deletion whose deleter failed or died: delete and unlist them
        // (listed ids are named by no chunk, so deleting one twice is harmless).
        loop {
            match self.script(&self.scripts.gc_claim, true, &[b"500"]) {
                Ok(v) if !array(&v).is_empty() => {
                    let members: Vec<&[u8]> = array(&v).iter().filter_map(bytes).collect();
                    if !self.drop_members(&members) || members.len() < 500 {
                        return;
                    }
                }
                Ok(_) => return,
                Err(e) => {
                    debug!("collecting slices: {e}");
                    return;
                }
            }
        }
    }

    /// Deletes up to `DC_STEPS` thousand keys' worth of an older format's per-directory
    /// sets, going on from where the last sweep stopped; the heartbeat's thread runs this, so
    /// one sweep is kept short.
    fn sweep_old_sets(&self) {
        const DC_STEPS: usize = 100;
        let mut cursor = self.dc_cursor.lock();
        for _ in 0..DC_STEPS {
            match self.script(&self.scripts.dc_sweep, false, &[cursor.as_bytes()]) {
                Ok(v) => {
                    *cursor = text(&v);
                    if *cursor == "0" {
                        return;
                    }
                }
                Err(e) => {
                    debug!("deleting an older format's directory sets: {e}");
                    return;
                }
            }
        }
    }
}
