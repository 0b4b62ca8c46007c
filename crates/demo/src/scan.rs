//! Looking through what the relay wrote (its payload dump and knowledge report) for known
//! plaintexts, and short hex excerpts for the reader.

use std::path::{Path, PathBuf};

/// Every file under `dir` (recursively) with its bytes; unreadable entries are skipped.
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
}

/// Whether `needle` occurs in `hay` (an empty needle never does).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// How many (file, needle) pairs match: 0 means no file holds any needle.
pub fn hits(files: &[(PathBuf, Vec<u8>)], needles: &[Vec<u8>]) -> usize {
    files
        .iter()
        .map(|(_, b)| needles.iter().filter(|n| contains(b, n)).count())
        .sum()
}

/// The needles found in `text`, as strings.
pub fn found_in(text: &[u8], needles: &[String]) -> Vec<String> {
    needles
        .iter()
        .filter(|n| contains(text, n.as_bytes()))
        .cloned()
        .collect()
}

/// Total bytes of the files.
pub fn total_bytes(files: &[(PathBuf, Vec<u8>)]) -> u64 {
    files.iter().map(|(_, b)| b.len() as u64).sum()
}

/// `a1b2c3…` (the first `n` bytes in hex) and the length.
pub fn hex_excerpt(bytes: &[u8], n: usize) -> String {
    let shown = &bytes[..bytes.len().min(n)];
    let more = if bytes.len() > n { "…" } else { "" };
    format!("{}{more} ({} bytes)", hex::encode(shown), bytes.len())
}

/// A short quoted text excerpt.
pub fn quote(bytes: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut q: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        q.push('…');
    }
    format!("{q:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_and_excerpts() {
        assert!(contains(b"xxabcxx", b"abc"));
        assert!(!contains(b"xxabxx", b"abc"));
        assert!(!contains(b"abc", b""));
        let files = vec![(PathBuf::from("a"), b"hello secret".to_vec())];
        assert_eq!(hits(&files, &[b"secret".to_vec(), b"nope".to_vec()]), 1);
        assert_eq!(hex_excerpt(&[1, 2, 3], 2), "0102… (3 bytes)");
        assert_eq!(quote(b"abcdef", 3), "\"abc…\"");
        assert_eq!(
            found_in(b"a Bob b", &["Bob".into(), "Eve".into()]),
            vec!["Bob"]
        );
    }
}
