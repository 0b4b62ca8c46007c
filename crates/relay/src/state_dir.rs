//! A relay's stable identity on disk (SPEC §7.12): `--state-dir DIR` holds `cert.pem` and
//! `key.pem`, generated once and reused, so the pin clients hold survives a restart.
//!
//! Generation is atomic: each file is written under a temporary name (the key `0600`, the
//! directory `0700`) and renamed into place, the key first, so a directory holding a certificate
//! always holds its key. A directory with a key and no certificate (or the reverse)
//! is an error, never silently replaced: replacing it would change the pin.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::error::RelayError;
use crate::tls::SELF_SIGNED_NAMES;

/// File name of the certificate inside a state directory.
pub const CERT_FILE: &str = "cert.pem";
/// File name of the private key inside a state directory.
pub const KEY_FILE: &str = "key.pem";

/// The two PEM files of a state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Returns the state directory's certificate and key, generating them on first use.
pub(crate) fn ensure(dir: &Path) -> Result<StateFiles, RelayError> {
    let files = StateFiles {
        cert: dir.join(CERT_FILE),
        key: dir.join(KEY_FILE),
    };
    match (files.cert.exists(), files.key.exists()) {
        (true, true) => return Ok(files),
        (true, false) => return Err(half(dir, KEY_FILE, CERT_FILE)),
        (false, true) => return Err(half(dir, CERT_FILE, KEY_FILE)),
        (false, false) => {}
    }
    create_private_dir(dir)?;
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| RelayError::CertGen(e.to_string()))?;
    let key_pem = zeroize::Zeroizing::new(ck.signing_key.serialize_pem());
    write_atomic(&files.key, key_pem.as_bytes(), 0o600)?;
    write_atomic(&files.cert, ck.cert.pem().as_bytes(), 0o644)?;
    tracing::info!(dir = %dir.display(), "generated the relay's identity");
    Ok(files)
}

fn half(dir: &Path, missing: &str, present: &str) -> RelayError {
    RelayError::Config {
        path: dir.to_owned(),
        reason: format!(
            "state directory has {present} but no {missing}; restore it or remove {present} \
             to generate a new identity (clients' pins change)"
        ),
    }
}

/// The pin (SHA-256 of the end-entity certificate's DER) of a state directory or a PEM file.
///
/// # Errors
/// [`RelayError::Pem`] if the file is missing, unreadable or holds no certificate.
pub fn pin_of(path: &Path) -> Result<[u8; 32], RelayError> {
    let file = if path.is_dir() {
        path.join(CERT_FILE)
    } else {
        path.to_owned()
    };
    let err = |reason: String| RelayError::Pem {
        what: "certificate",
        path: file.clone(),
        reason,
    };
    let first = CertificateDer::pem_file_iter(&file)
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no CERTIFICATE block".into()))?
        .map_err(|e| err(e.to_string()))?;
    Ok(Sha256::digest(first.as_ref()).into())
}

fn create_private_dir(dir: &Path) -> Result<(), RelayError> {
    let w = |source| RelayError::Write {
        path: dir.to_owned(),
        source,
    };
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(w)
}

/// Writes `path` through a temporary file in the same directory and a rename, so a crash leaves
/// either no file or the whole file.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RelayError> {
    let w = |source| RelayError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(w)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hush-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generated_once_then_reused_with_the_same_pin() {
        let d = tmp("reuse");
        let a = ensure(&d).unwrap();
        let pin = pin_of(&d).unwrap();
        let key = fs::read(&a.key).unwrap();
        let b = ensure(&d).unwrap();
        assert_eq!(a, b);
        assert_eq!(pin_of(&d).unwrap(), pin, "the pin survives a restart");
        assert_eq!(fs::read(&b.key).unwrap(), key, "the key is not regenerated");
        assert_eq!(
            pin_of(&a.cert).unwrap(),
            pin,
            "a PEM file gives the same pin"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&a.key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the key is private");
            let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        let left: Vec<_> = fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left behind");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_half_state_dir_is_an_error_not_a_new_identity() {
        let d = tmp("half");
        let f = ensure(&d).unwrap();
        fs::remove_file(&f.cert).unwrap();
        let e = ensure(&d).unwrap_err().to_string();
        assert!(e.contains("has key.pem but no cert.pem"), "{e}");
        assert!(!f.cert.exists(), "nothing regenerated");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn pin_of_a_missing_or_empty_file_names_it() {
        let d = tmp("pin");
        fs::create_dir_all(&d).unwrap();
        let e = pin_of(&d).unwrap_err().to_string();
        assert!(e.contains("cert.pem"), "{e}");
        let empty = d.join("empty.pem");
        fs::write(&empty, "").unwrap();
        let e = pin_of(&empty).unwrap_err().to_string();
        assert!(e.contains("no CERTIFICATE block"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }
}
