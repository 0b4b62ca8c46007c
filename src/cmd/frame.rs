//! `hush frame seal|open|inspect` (issue 2; SPEC §2, §5): one SFrame frame at a time, as hex
//! on stdin and stdout, for scripts and the demo.
//!
//! Exit codes: 0 success; 1 authentication failure (`open` only: wrong key, or the frame or
//! metadata was altered); 2 any other error (bad hex, unknown suite, malformed or truncated frame, bad
//! arguments). Errors are one line on stderr.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;
use hush_frame::{BaseKey, CipherSuite, FrameError, Opener, Sealer};

use super::Failure;

/// `hush frame open`: the only one that authenticates, so the only one that can exit 1.
const OPEN_EXIT_CODES: &str = "Input and output are hex (whitespace around it is ignored).\n\
Exit codes: 0 success, 1 authentication failure (wrong key or altered frame/metadata), \
2 any other error (bad hex, unknown suite, malformed or truncated frame).";

/// `hush frame seal` and `inspect`: nothing to authenticate.
const EXIT_CODES: &str = "Input and output are hex (whitespace around it is ignored).\n\
Exit codes: 0 success, 2 error (bad hex, unknown suite, malformed or truncated frame).";

const SUITES: &str = "Suite: number (1-5, 0xF001) or name (AES_128_CTR_HMAC_SHA256_80, \
AES_128_CTR_HMAC_SHA256_64, AES_128_CTR_HMAC_SHA256_32, AES_128_GCM_SHA256_128, \
AES_256_GCM_SHA512_128, CHACHA20_POLY1305_SHA256; also aes-128-gcm, aes-256-gcm, \
chacha20-poly1305)";

/// `hush frame` subcommands.
#[derive(Debug, Subcommand)]
pub enum Args {
    /// Seal hex plaintext from stdin into an SFrame frame (header || ciphertext || tag), printed
    /// as one line of lowercase hex.
    #[command(after_help = EXIT_CODES)]
    Seal {
        #[arg(long, help = SUITES)]
        suite: String,
        /// SFrame base key, hex.
        #[arg(long)]
        key: String,
        /// Key id written in the header.
        #[arg(long)]
        kid: u64,
        /// Frame counter written in the header (never reuse one under a key).
        #[arg(long)]
        ctr: u64,
        /// Metadata authenticated with the frame but not encrypted, hex.
        #[arg(long, default_value = "")]
        metadata: String,
    },
    /// Open a hex SFrame frame from stdin (KID and CTR come from its header) and print the
    /// plaintext as hex.
    #[command(after_help = OPEN_EXIT_CODES)]
    Open {
        #[arg(long, help = SUITES)]
        suite: String,
        /// SFrame base key, hex.
        #[arg(long)]
        key: String,
        /// Metadata the frame was sealed with, hex.
        #[arg(long, default_value = "")]
        metadata: String,
    },
    /// Print what a relay sees in clear in a hex SFrame frame from stdin: KID, CTR, header
    /// length and payload length (ciphertext and tag).
    #[command(after_help = EXIT_CODES)]
    Inspect,
}

/// Runs `hush frame ...`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::Seal {
            suite,
            key,
            kid,
            ctr,
            metadata,
        } => {
            let suite = parse_suite(&suite)?;
            let key = base_key(&key)?;
            let metadata = parse_hex("--metadata", &metadata)?;
            let mut buf = read_stdin_hex()?;
            let mut sealer = Sealer::new(suite, kid, key).starting_at(ctr);
            sealer.seal(&metadata, &mut buf).map_err(frame_failure)?;
            super::stdout_line(&hex::encode(&buf))?;
        }
        Args::Open {
            suite,
            key,
            metadata,
        } => {
            let suite = parse_suite(&suite)?;
            let key = base_key(&key)?;
            let metadata = parse_hex("--metadata", &metadata)?;
            let mut buf = read_stdin_hex()?;
            let (header, _) = hush_frame::Header::decode(&buf)
                .map_err(|e| frame_failure(FrameError::Header(e)))?;
            let mut opener = Opener::new();
            opener
                .add_key(header.kid, suite, key)
                .map_err(frame_failure)?;
            opener.open(&metadata, &mut buf).map_err(frame_failure)?;
            super::stdout_line(&hex::encode(&buf))?;
        }
        Args::Inspect => {
            let buf = read_stdin_hex()?;
            let (header, header_len, payload_len) =
                hush_frame::inspect(&buf).map_err(|e| frame_failure(FrameError::Header(e)))?;
            super::stdout_line(&format!(
                "kid={} ctr={} header_len={header_len} payload_len={payload_len}",
                header.kid, header.ctr
            ))?;
        }
    }
    Ok(())
}

fn parse_suite(s: &str) -> anyhow::Result<CipherSuite> {
    s.parse::<CipherSuite>()
        .map_err(|e| failure(2, format!("--suite: {e}")))
}

fn parse_hex(what: &str, s: &str) -> anyhow::Result<Vec<u8>> {
    let s: String = s.split_whitespace().collect();
    hex::decode(&s).map_err(|e| failure(2, format!("{what}: invalid hex: {e}")))
}

fn base_key(s: &str) -> anyhow::Result<BaseKey> {
    BaseKey::new(parse_hex("--key", s)?).map_err(|e| failure(2, format!("--key: {e}")))
}

fn read_stdin_hex() -> anyhow::Result<Vec<u8>> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading stdin")?;
    parse_hex("stdin", &s)
}

/// Exit 1 for an authentication failure, 2 for everything else.
fn frame_failure(e: FrameError) -> anyhow::Error {
    let code = if matches!(e, FrameError::Authentication) {
        1
    } else {
        2
    };
    failure(code, e.to_string())
}

/// A one-line error that exits with `code`.
fn failure(code: u8, message: String) -> anyhow::Error {
    anyhow::Error::new(Failure { code, message })
}
