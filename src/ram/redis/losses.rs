//! Which descriptors of each file are open on this mount, and the kept writes given up
//! while they were (`Behind::give_up`): each descriptor open then is told at its next close
//! or fsync, once, as Linux tells a writeback error.

use super::*;

/// A file's descriptors open on this mount, and its kept writes given up last while some
/// were open: as Linux's errseq, each descriptor open then hears of it at its next close or
/// fsync, once (a new open does not clear it, nor does one descriptor's hearing it).
#[derive(Default)]
struct Opens {
    n: u32,
    loss: Option<Loss>,
}

struct Loss {
    /// Descriptors numbered up to this were open when the writes were given up.
    upto: u64,
    no_space: bool,
    /// Those told already.
    told: Vec<u64>,
}

#[derive(Default)]
pub(super) struct Losses {
    opens: Mutex<HashMap<Ino, Opens>>,
    /// The last number given to a descriptor.
    handles: AtomicU64,
}

impl Losses {
    /// Numbers a descriptor of `ino` just opened on this mount (its file handle).
    pub(super) fn opened(&self, ino: Ino) -> u64 {
        let mut opens = self.opens.lock();
        opens.entry(ino).or_default().n += 1;
        self.handles.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// A descriptor of `ino` was released: with the file's last, what was given up of it
    /// goes (nobody is left to tell).
    pub(super) fn closed(&self, ino: Ino) {
        let mut opens = self.opens.lock();
        if let Some(o) = opens.get_mut(&ino) {
            o.n -= 1;
            if o.n == 0 {
                opens.remove(&ino);
            }
        }
    }

    /// The failure `give_up` recorded last for the file, if descriptor `fh` was open then
    /// and has not heard of it.
    pub(super) fn lost(&self, ino: Ino, fh: u64) -> StoreResult<()> {
        let mut opens = self.opens.lock();
        let Some(loss) = opens.get_mut(&ino).and_then(|o| o.loss.as_mut()) else {
            return Ok(());
        };
        if fh > loss.upto || loss.told.contains(&fh) {
            return Ok(());
        }
        loss.told.push(fh);
        if loss.no_space {
            return Err(StoreError::NoSpace);
        }
        Err(StoreError::Unavailable(format!(
            "writes to inode {ino} kept for its close could not be stored"
        )))
    }

    /// `ino`'s kept writes were given up now: each descriptor open hears of it.
    pub(super) fn given_up(&self, ino: Ino, no_space: bool) {
        let mut opens = self.opens.lock();
        let upto = self.handles.load(Ordering::Acquire);
        if let Some(o) = opens.get_mut(&ino) {
            o.loss = Some(Loss {
                upto,
                no_space,
                told: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::behind::Behind;
    use super::*;

    #[test]
    fn a_loss_is_told_once_to_each_descriptor_open_then_until_the_last_closes() {
        let (b, mut full) = (Behind::default(), false);
        let keep = |full: &mut bool| assert!(b.keep(7, 0, b"kept", full));
        let (one, two, three) = (b.losses.opened(7), b.losses.opened(7), b.losses.opened(7));
        let elsewhere = b.losses.opened(8);
        assert!(!b.give_up(7, true), "nothing kept: nothing given up");
        assert!(b.losses.lost(7, one).is_ok());
        keep(&mut full);
        assert!(b.give_up(7, true));
        assert!(matches!(b.losses.lost(7, one), Err(StoreError::NoSpace)));
        assert!(b.losses.lost(7, one).is_ok(), "told once");
        let after = b.losses.opened(7);
        assert!(b.losses.lost(7, after).is_ok(), "opened after");
        assert!(b.losses.lost(8, elsewhere).is_ok(), "another file");
        b.losses.closed(7);
        assert!(matches!(b.losses.lost(7, two), Err(StoreError::NoSpace)));
        // A second loss (no space: no) is told to all open then, the told ones too.
        keep(&mut full);
        assert!(b.give_up(7, false));
        for fh in [one, two, after] {
            assert!(
                matches!(b.losses.lost(7, fh), Err(StoreError::Unavailable(_))),
                "{fh}"
            );
        }
        // Released, numbers and all: the record goes with the last.
        for _ in 0..3 {
            b.losses.closed(7);
        }
        assert!(
            b.losses.lost(7, three).is_ok(),
            "the file's last descriptor went"
        );
        keep(&mut full);
        assert!(b.give_up(7, true));
        assert!(
            b.losses.lost(7, three).is_ok(),
            "given up with nothing open: nobody to tell"
        );
        assert!(b.losses.opens.lock().get(&7).is_none());
    }
}
