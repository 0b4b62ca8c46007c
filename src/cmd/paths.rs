//! Paths from the command line, checked before anything connects (issue 12, newcomer item 9):
//! each error names the flag and the path exactly as the user gave it.

use std::path::Path;

use anyhow::bail;

/// A file to read (`--send-file`): it exists, is a regular file and can be opened.
pub(crate) fn input_file(flag: &str, path: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => bail!("{flag} {}: {}", path.display(), reason(&e)),
    };
    if !meta.is_file() {
        bail!("{flag} {}: not a regular file", path.display());
    }
    if let Err(e) = std::fs::File::open(path) {
        bail!("{flag} {}: {}", path.display(), reason(&e));
    }
    Ok(())
}

/// A directory to write into (`--recv-dir`): created if missing; an existing file is refused.
pub(crate) fn output_dir(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.exists() && !path.is_dir() {
        bail!("{flag} {}: exists and is not a directory", path.display());
    }
    if let Err(e) = std::fs::create_dir_all(path) {
        bail!(
            "{flag} {}: cannot create it: {}",
            path.display(),
            reason(&e)
        );
    }
    Ok(())
}

/// A file to create (`--record`, `--record-file`): its directory exists, and the path is not a
/// directory itself.
pub(crate) fn output_file(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("{flag} {}: is a directory", path.display());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}

/// An I/O error's reason without the `(os error N)` suffix.
fn reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_flag_and_the_path_as_given() {
        let dir = std::env::temp_dir().join(format!("hush-paths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        let missing = dir.join("missing.pdf");
        let e = input_file("--send-file", &missing).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "--send-file {}: No such file or directory",
                missing.display()
            )
        );
        let e = input_file("--send-file", &dir).unwrap_err().to_string();
        assert!(e.ends_with("not a regular file"), "{e}");
        input_file("--send-file", &file).unwrap();
        let e = output_dir("--recv-dir", &file).unwrap_err().to_string();
        assert!(e.ends_with("exists and is not a directory"), "{e}");
        output_dir("--recv-dir", &dir.join("new")).unwrap();
        assert!(dir.join("new").is_dir());
        let e = output_file("--record", &dir.join("no/m.hushrec"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = output_file("--record", &dir).unwrap_err().to_string();
        assert!(e.ends_with("is a directory"), "{e}");
        output_file("--record", &dir.join("m.hushrec")).unwrap();
        output_file("--record", Path::new("relative.hushrec")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
