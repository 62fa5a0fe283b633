//! The space account with shared chunks, and images taken while the tree changes.

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

fn store() -> MemoryStore {
    MemoryStore::new(1 << 40, 0, 0)
}

fn file(s: &MemoryStore, name: &str) -> Ino {
    s.create(
        ROOT_INO,
        OsStr::new(name),
        &NewNode::new(Kind::File, 0o644, 0, 0),
    )
    .unwrap()
    .ino
}

/// The bytes the chunks of every linked file hold, each chunk counted once.
fn distinct_bytes(s: &MemoryStore) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    for node in s.table.values() {
        if let Body::File(f) = &node.state.read().body {
            for c in f.chunks.values() {
                if seen.insert(c.bytes().as_ptr() as usize) {
                    total += c.len() as u64;
                }
            }
        }
    }
    total
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, u64, usize),
    Punch(usize, u64, u64),
    Truncate(usize, u64),
    Clone(usize),
    Unlink(usize),
    Image,
}

fn op() -> impl Strategy<Value = Op> {
    let at = 0u64..(3 * CHUNK);
    prop_oneof![
        (0usize..8, at.clone(), 1usize..300_000).prop_map(|(f, o, n)| Op::Write(f, o, n)),
        (0usize..8, at.clone(), 1u64..2_000_000).prop_map(|(f, o, n)| Op::Punch(f, o, n)),
        (0usize..8, at).prop_map(|(f, n)| Op::Truncate(f, n)),
        (0usize..8).prop_map(Op::Clone),
        (0usize..8).prop_map(Op::Unlink),
        Just(Op::Image),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever is cloned, written, punched or removed, the account holds each chunk once
    /// and a file reads what was written to it alone.
    #[test]
    fn shared_chunks_are_counted_once_and_never_leak_a_write(ops in proptest::collection::vec(op(), 1..40)) {
        let s = store();
        let mut files: Vec<(Ino, Vec<u8>)> = vec![(file(&s, "f0"), Vec::new())];
        let mut images = Vec::new();
        let mut n = 1;
        for op in ops {
            let count = files.len().max(1);
            let pick = |i: usize| i % count;
            match op {
                Op::Write(i, off, len) if !files.is_empty() => {
                    let (ino, model) = &mut files[pick(i)];
                    let data = vec![(off % 251) as u8 + 1; len];
                    s.write(*ino, off, &data).unwrap();
                    let end = off as usize + len;
                    if model.len() < end { model.resize(end, 0); }
                    model[off as usize..end].copy_from_slice(&data);
                }
                Op::Punch(i, off, len) if !files.is_empty() => {
                    let (ino, model) = &mut files[pick(i)];
                    s.fallocate(*ino, off, len, Falloc::PunchHole).unwrap();
                    let end = ((off + len) as usize).min(model.len());
                    if (off as usize) < end { model[off as usize..end].fill(0); }
                }
                Op::Truncate(i, size) if !files.is_empty() => {
                    let (ino, model) = &mut files[pick(i)];
                    s.setattr(*ino, &SetAttr { size: Some(size), ..Default::default() }).unwrap();
                    model.resize(size as usize, 0);
                }
                Op::Clone(i) if !files.is_empty() => {
                    let (ino, model) = files[pick(i)].clone();
                    let name = format!("f{n}");
                    n += 1;
                    let made = s.clone_tree(ino, ROOT_INO, OsStr::new(&name)).unwrap();
                    files.push((made.ino, model));
                }
                Op::Unlink(i) if files.len() > 1 => {
                    let (ino, _) = files.remove(pick(i));
                    let name = s.readdir(ROOT_INO, 0, 1000).unwrap().entries.into_iter()
                        .find(|e| e.ino == ino).unwrap().name;
                    s.unlink(ROOT_INO, &name).unwrap();
                }
                Op::Image => images.push(s.image(false)),
                _ => {}
            }
            prop_assert_eq!(s.usage().bytes, distinct_bytes(&s));
            for (ino, model) in &files {
                let got = s.read(*ino, 0, u32::MAX).unwrap();
                prop_assert!(&got == model, "file {} differs", ino);
            }
        }
        drop(images);
        prop_assert_eq!(s.usage().bytes, distinct_bytes(&s));
    }
}

#[test]
fn an_image_sees_a_rename_between_directories_whole() {
    let s = Arc::new(store());
    let dir = |n: &str| {
        s.create(
            ROOT_INO,
            OsStr::new(n),
            &NewNode::new(Kind::Dir, 0o755, 0, 0),
        )
        .unwrap()
        .ino
    };
    let (a, b) = (dir("a"), dir("b"));
    s.create(a, OsStr::new("f"), &NewNode::new(Kind::File, 0o644, 0, 0))
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mover = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut moves = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = if moves.is_multiple_of(2) {
                    (a, b)
                } else {
                    (b, a)
                };
                s.rename(
                    from,
                    OsStr::new("f"),
                    to,
                    OsStr::new("f"),
                    RenameMode::Replace,
                )
                .unwrap();
                moves += 1;
            }
            moves
        })
    };
    for _ in 0..2000 {
        let image = s.image(false);
        let holding: usize = image.dirs_holding(OsStr::new("f"));
        assert_eq!(holding, 1, "f in {holding} directories of one image");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(mover.join().unwrap() > 0);
}

#[test]
fn an_image_reads_back_as_written_and_any_flipped_byte_is_caught() {
    let s = store();
    let mut want = Vec::new();
    // Sizes that leave the reader's blocks part used before a chunk, and chunks of every
    // length up to a whole one.
    for (n, size) in [0usize, 1, 4095, 70_000, CHUNK as usize, 2_500_000]
        .iter()
        .enumerate()
    {
        let ino = file(&s, &format!("f{n}"));
        let data: Vec<u8> = (0..*size).map(|i| (i * 7 + n) as u8).collect();
        s.write(ino, 0, &data).unwrap();
        s.setxattr(ino, OsStr::new("user.n"), &[n as u8; 300], XattrSet::Any)
            .unwrap();
        want.push((ino, data));
    }
    for d in 0..300 {
        file(&s, &format!("many-{d}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.snap");
    let f = std::fs::File::create(&path).unwrap();
    let written = s.image(false).write_to(&f).unwrap();
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());
    let back = MemoryStore::load_image(&path, 1 << 40).unwrap();
    for (ino, data) in &want {
        assert_eq!(&back.read(*ino, 0, u32::MAX).unwrap(), data);
        assert_eq!(
            back.getxattr(*ino, OsStr::new("user.n")).unwrap().len(),
            300
        );
    }
    assert_eq!(back.usage(), s.usage());
    let bytes = std::fs::read(&path).unwrap();
    for at in [
        0,
        9,
        40,
        5_000,
        1 << 20,
        (1 << 20) + 3,
        bytes.len() / 2,
        bytes.len() - 33,
        bytes.len() - 1,
    ] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        assert!(
            MemoryStore::load_image(&path, 1 << 40).is_err(),
            "a flipped byte at {at} of {} was not caught",
            bytes.len()
        );
    }
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(
        MemoryStore::load_image(&path, 1 << 40),
        Err(super::image::LoadError::Torn)
    ));
}

#[test]
fn a_store_saved_as_it_closes_refuses_every_change_after() {
    let dir = tempfile::tempdir().unwrap();
    let snaps =
        Arc::new(Snapshots::open(dir.path(), dir.path(), std::time::Duration::ZERO).unwrap());
    let (s, notes) = MemoryStore::from_snapshots(snaps, 1 << 30, 0, 0).unwrap();
    assert!(notes.is_empty());
    let f = file(&s, "f");
    s.write(f, 0, b"before").unwrap();
    assert!(s.save_and_close().unwrap().is_ok());
    assert!(matches!(
        s.write(f, 0, b"after"),
        Err(StoreError::ReadOnly(_))
    ));
    assert!(matches!(
        s.clone_tree(f, ROOT_INO, OsStr::new("g")),
        Err(StoreError::ReadOnly(_))
    ));
    assert_eq!(s.read(f, 0, 100).unwrap(), b"before");
}

#[test]
fn a_chunk_freed_and_used_again_never_shows_its_old_bytes() {
    let s = store();
    let old = file(&s, "old");
    s.write(old, 0, &vec![0xAA; 4 * CHUNK as usize]).unwrap();
    s.unlink(ROOT_INO, OsStr::new("old")).unwrap();
    // New chunks now come from the buffers "old" gave back: written past a hole, in part,
    // or grown by a truncate, each reads zeros where nothing was written.
    let new = file(&s, "new");
    s.write(new, CHUNK + 4096, b"x").unwrap();
    s.write(new, 2 * CHUNK + 100, &[7; 10]).unwrap();
    // A chunk cut short keeps its buffer; writing past the cut must not bring back what
    // was cut off.
    s.write(new, 3 * CHUNK, &vec![0xBB; CHUNK as usize])
        .unwrap();
    let size = |n| SetAttr {
        size: Some(n),
        ..Default::default()
    };
    s.setattr(new, &size(3 * CHUNK + 10)).unwrap();
    s.write(new, 3 * CHUNK + 5000, b"y").unwrap();
    s.setattr(new, &size(4 * CHUNK)).unwrap();
    let all = s.read(new, 0, 4 * CHUNK as u32).unwrap();
    assert_eq!(all.len(), 4 * CHUNK as usize);
    let mut want = vec![0u8; 4 * CHUNK as usize];
    want[(CHUNK + 4096) as usize] = b'x';
    want[(2 * CHUNK + 100) as usize..(2 * CHUNK + 110) as usize].fill(7);
    want[(3 * CHUNK) as usize..(3 * CHUNK + 10) as usize].fill(0xBB);
    want[(3 * CHUNK + 5000) as usize] = b'y';
    assert!(all == want, "a recycled chunk showed bytes nobody wrote");
}

#[test]
fn reads_handed_over_in_place_match_copied_reads() {
    let s = store();
    let f = file(&s, "f");
    s.write(f, 100, &[1; 5000]).unwrap();
    s.write(f, CHUNK, &vec![2; CHUNK as usize]).unwrap();
    s.write(f, 3 * CHUNK + 10, b"tail").unwrap();
    let edges = [
        0,
        99,
        100,
        5100,
        8192,
        CHUNK - 1,
        CHUNK,
        2 * CHUNK - 3,
        2 * CHUNK,
    ];
    let edges = edges
        .iter()
        .chain(&[3 * CHUNK, 3 * CHUNK + 12, 3 * CHUNK + 14, 5 * CHUNK]);
    for &offset in edges {
        for size in [0u32, 1, 4096, 131072, CHUNK as u32, 3 * CHUNK as u32] {
            let mut calls = Vec::new();
            s.read_with(f, offset, size, &mut |d| calls.push(d.to_vec()))
                .unwrap();
            assert_eq!(calls.len(), 1, "{offset}+{size}: one answer");
            assert!(
                calls[0] == s.read(f, offset, size).unwrap(),
                "{offset}+{size}: the bytes differ"
            );
        }
    }
}
