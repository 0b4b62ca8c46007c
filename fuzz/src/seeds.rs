//! The committed seed corpora (`fuzz/seeds/<target>/`), read by the corpus-replay tests of
//! `crates/{wire,frame,group}/tests/fuzz_replay.rs` (included there with `#[path]`; not part of
//! the fuzz crate itself). Paths resolve from the including crate's manifest directory.

use std::path::PathBuf;

/// `fuzz/seeds/<target>/`.
pub fn seed_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

/// Every file of `fuzz/seeds/<target>/`, sorted by name, with its bytes.
pub fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = seed_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}
