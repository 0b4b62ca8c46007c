//! Where a received file lands: its name made safe as one path component, and a new file that
//! never replaces an existing one.

use std::path::{Path, PathBuf};

use super::MAX_SAVED_NAME;

/// Characters that reorder or hide text (bidi controls, zero-width characters, BOM).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A file name from another party made safe as one path component: path separators, control,
/// bidi and invisible characters and `: * ? " < > |` become `_`; leading dots and spaces and
/// trailing dots and spaces are dropped; at most [`MAX_SAVED_NAME`] bytes (cut at a character
/// boundary); empty becomes `file`.
pub fn sanitize_file_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            let bad = c.is_control()
                || is_invisible(c)
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|');
            if bad { '_' } else { c }
        })
        .collect();
    let mut s = replaced.trim_start_matches(['.', ' ']);
    if s.len() > MAX_SAVED_NAME {
        let mut cut = MAX_SAVED_NAME;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = &s[..cut];
    }
    let s = s.trim_end_matches(['.', ' ']);
    if s.is_empty() {
        "file".to_owned()
    } else {
        s.to_owned()
    }
}

/// `name` with ` (n)` before its extension: `notes.pdf` → `notes (1).pdf`, `Bob` → `Bob (1)`.
fn with_suffix(name: &str, n: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

/// Creates a new file named `name` (one path component, e.g. from [`sanitize_file_name`]) in
/// `dir`, never opening an existing one: on a collision it tries `name (1)`, `name (2)`, ...
/// (before the extension). Returns the file and its path.
pub fn create_unique(dir: &Path, name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    const TRIES: u32 = 10_000;
    for n in 0..TRIES {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            with_suffix(name, n)
        };
        let path = dir.join(&candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{TRIES} files named like {name:?} already exist"),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hostile_file_names_are_sanitized() {
        for (name, want) in [
            ("notes.pdf", "notes.pdf"),
            ("..", "file"),
            (".", "file"),
            ("", "file"),
            ("../../etc/x", "_.._etc_x"),
            ("/etc/passwd", "_etc_passwd"),
            ("..\\..\\win.ini", "_.._win.ini"),
            (".bashrc", "bashrc"),
            ("a\nb\x1b[8m", "a_b_[8m"),
            ("evil\u{202E}fdp.exe", "evil_fdp.exe"),
            ("trailing. . ", "trailing"),
            ("C:x", "C_x"),
        ] {
            assert_eq!(sanitize_file_name(name), want, "{name:?}");
        }
        let long = "é".repeat(200);
        let s = sanitize_file_name(&long);
        assert!(s.len() <= MAX_SAVED_NAME && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn create_unique_never_reuses_a_file() {
        let dir = std::env::temp_dir().join(format!("hush-file-unique-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (_, a) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, b) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, c) = create_unique(&dir, "notes.pdf").unwrap();
        let (_, d) = create_unique(&dir, "Bob").unwrap();
        let (_, e) = create_unique(&dir, "Bob").unwrap();
        assert_eq!(a, dir.join("notes.pdf"));
        assert_eq!(b, dir.join("notes (1).pdf"));
        assert_eq!(c, dir.join("notes (2).pdf"));
        assert_eq!(d, dir.join("Bob"));
        assert_eq!(e, dir.join("Bob (1)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
