//! What Redis's allocator gives a string, and where to cut bytes so that it wastes little.
//!
//! Redis keeps a string in one block of jemalloc's, whose sizes step by a quarter of a power
//! of two above 128 bytes (1 KiB, 1.25 KiB, 1.5 KiB, ... 1 MiB, 1.25 MiB, ...). A string also
//! takes a header of up to 10 bytes (and 2 more when Redis read it as a big argument), so the
//! bytes of a whole chunk (1 MiB) take a block of 1.25 MiB: a quarter wasted. Cut into one
//! slice that fills the 1 MiB block and a second of a few bytes, they waste nothing.

/// Bytes Redis adds to a string's own in its block, at most.
const STRING_EXTRA: u64 = 16;

/// Bytes Redis adds to a string of `n` bytes that came as an argument: its header and NUL,
/// and for a big one (read straight into its string) the CRLF it was read with.
fn extra(n: u64) -> u64 {
    match n {
        0..256 => 4,
        256..32_768 => 6,
        32_768..65_536 => 8,
        _ => 12,
    }
}
/// What a small slice of its own costs besides its block: its key, and the key table's entry.
const SLICE_KEY_COST: u64 = 96;
/// Slices shorter than this are never cut.
const CUT_FROM: u64 = 4096;

/// The block jemalloc gives `n` bytes.
pub(super) fn block(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let delta = n.next_power_of_two() >> 3;
    n.div_ceil(delta) * delta
}

/// The largest block of at most `m` bytes (`m` >= 128).
fn block_below(m: u64) -> u64 {
    let delta = (1u64 << m.ilog2()) >> 2;
    m / delta * delta
}

/// Where to cut `len` bytes into two slices that cost Redis less than one, if anywhere: the
/// first part then fills a block exactly.
pub(super) fn cut(len: u64) -> Option<u64> {
    if len < CUT_FROM {
        return None;
    }
    let whole = block(len + extra(len));
    let body = block_below(len + STRING_EXTRA) - STRING_EXTRA;
    if body >= len {
        return None;
    }
    let tail = len - body;
    let parts = block(body + extra(body)) + block(tail + extra(tail)) + SLICE_KEY_COST;
    (parts < whole).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_step_by_a_quarter_of_a_power_of_two() {
        assert_eq!(block(1), 8);
        assert_eq!(block(100), 112);
        assert_eq!(block(129), 160);
        assert_eq!(block(1024), 1024);
        assert_eq!(block(1030), 1280);
        assert_eq!(block(4102), 5120);
        assert_eq!(block(65_536), 65_536);
        assert_eq!(block((1 << 20) + 10), 1_310_720);
        assert_eq!(block_below((1 << 20) + 16), 1 << 20);
        assert_eq!(block_below(1_300_000), 1 << 20);
        assert_eq!(block_below(1_310_720), 1_310_720);
    }

    #[test]
    fn a_whole_chunk_is_cut_to_fill_its_block() {
        let body = cut(1 << 20).unwrap();
        assert_eq!(body + STRING_EXTRA, 1 << 20);
        assert_eq!(cut(128 << 10), Some((128 << 10) - STRING_EXTRA));
        assert_eq!(cut(8192), Some(8192 - STRING_EXTRA));
        // Bytes that fill their block nearly already, or few: one slice.
        assert_eq!(cut(1_310_720 - 100), None);
        assert_eq!(cut((1 << 20) - 12), None);
        assert_eq!(cut((1 << 20) - 11), Some((1 << 20) - STRING_EXTRA));
        assert_eq!(cut(1000), None);
    }

    #[test]
    fn a_cut_never_costs_more() {
        for len in (CUT_FROM..3 << 20).step_by(997) {
            if let Some(body) = cut(len) {
                assert!(body > 0 && body < len, "{len}");
                let tail = len - body;
                let parts = block(body + extra(body)) + block(tail + extra(tail));
                assert!(parts + SLICE_KEY_COST < block(len + extra(len)), "{len}");
                assert!(body + STRING_EXTRA <= block(body + extra(body)), "{len}");
            }
        }
    }
}
