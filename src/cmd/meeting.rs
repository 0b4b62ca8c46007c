//! What `hush join` and `hush connector` share: the relay-connection flags, how they become a
//! [`MeetingConfig`] (SPEC §11), the status lines both print on stdout (SPEC §11.5) and the
//! session lines both print on stderr.
//!
//! The flags come in two groups, [`RelayArgs`] and [`PolicyArgs`], flattened into each command
//! around its own `--name` and command-specific flags, so that `--help` lists them in the same
//! order as before the split (the name's help text differs between the two commands).

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, bail};
use hush_client::{MeetingConfig, MeetingEvent, TrustAnchor};
use hush_group::IdentityKey;

/// Where the meeting is: the relay, how to trust it, and the room.
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// Relay address (host:port).
    #[arg(long)]
    pub relay: String,
    /// SHA-256 of the relay's certificate (64 hex digits), as the relay prints it.
    #[arg(long, required_unless_present = "relay_ca")]
    relay_cert_sha256: Option<String>,
    /// Trust the CA certificates in this PEM file instead of a pin.
    #[arg(long, conflicts_with = "relay_cert_sha256")]
    relay_ca: Option<PathBuf>,
    /// Room name.
    #[arg(long)]
    pub room: String,
}

/// Which relays and hosts to accept, and who this participant is.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// Refuse relays outside these regions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    allow_regions: Option<Vec<String>>,
    /// Identity file (`hush identity new`); default: a fresh identity for this session.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Only accept a host with this identity key (64 hex digits); default: trust on first use.
    #[arg(long)]
    host_key: Option<String>,
}

impl RelayArgs {
    /// How to trust the relay: the pin (`--relay-cert-sha256`) or the CA file (`--relay-ca`).
    /// Separate from [`meeting_config`] so that `hush connector` reports a bad pin before its own
    /// flag errors, as it always has.
    pub(crate) fn trust(&self) -> anyhow::Result<TrustAnchor> {
        Ok(match (&self.relay_cert_sha256, &self.relay_ca) {
            (Some(pin), _) => TrustAnchor::Sha256(hex32(pin, "--relay-cert-sha256")?),
            (None, Some(ca)) => TrustAnchor::CaFile(ca.clone()),
            (None, None) => bail!("--relay-cert-sha256 or --relay-ca is required"),
        })
    }
}

/// The meeting configuration of a guest named `name`, trusting the relay by `trust` (from
/// [`RelayArgs::trust`]); the role and the host's choices are the caller's to set.
pub(crate) fn meeting_config(
    relay: &RelayArgs,
    trust: TrustAnchor,
    name: &str,
    policy: &PolicyArgs,
) -> anyhow::Result<MeetingConfig> {
    let mut cfg = MeetingConfig::new(resolve(&relay.relay)?, trust, &relay.room, name)?;
    if let Some(path) = &policy.identity {
        cfg.identity = hush_client::load_identity(path)?;
    }
    if let Some(key) = &policy.host_key {
        cfg.host_key = Some(IdentityKey(hex32(key, "--host-key")?));
    }
    cfg.allow_regions = policy.allow_regions.clone();
    Ok(cfg)
}

fn resolve(relay: &str) -> anyhow::Result<SocketAddr> {
    relay
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve relay address {relay:?}"))?
        .next()
        .with_context(|| format!("relay address {relay:?} resolves to nothing"))
}

fn hex32(s: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .with_context(|| format!("{what} must be 64 hex digits"))?;
    Ok(out)
}

/// Prints one line on stdout and flushes (stdout is the contract for scripts).
pub(crate) fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// Prints the `security code: <code>` and `e2ee: ...` lines (SPEC §11.5) for the events that
/// carry them; true if `ev` was one.
pub(crate) fn print_status(ev: &MeetingEvent) -> bool {
    match ev {
        MeetingEvent::SecurityCode(code) => out(&format!("security code: {code}")),
        MeetingEvent::E2ee(status) => out(&status.to_string()),
        _ => return false,
    }
    true
}

/// Prints the stderr line of a roster change, a refused frame or a connection change; true if
/// `ev` was one. An error once the relay is lost for good (no reconnection under way).
pub(crate) fn print_session_event(ev: &MeetingEvent) -> anyhow::Result<bool> {
    match ev {
        MeetingEvent::RosterChanged(view) => {
            let names: Vec<String> = view
                .members
                .iter()
                .map(|m| format!("{} ({:?})", m.name, m.role))
                .collect();
            eprintln!("epoch {}: {}", view.epoch, names.join(", "));
        }
        MeetingEvent::Refused { from, reason } => {
            eprintln!("refused from participant {from}: {reason}");
        }
        MeetingEvent::Disconnected {
            reason,
            reconnecting,
        } => {
            eprintln!("disconnected: {reason}");
            if !reconnecting {
                bail!("lost the relay: {reason}");
            }
        }
        MeetingEvent::Reconnected => eprintln!("reconnected"),
        _ => return Ok(false),
    }
    Ok(true)
}
