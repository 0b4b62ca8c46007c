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
use hush_client::{DataMessage, EndReason, MeetingConfig, MeetingError, MeetingEvent, TrustAnchor};
use hush_group::IdentityKey;
use hush_group::names::Escaped;

use super::Failure;

/// Exit code when the relay issues the keys and the user did not ask for that, or a meeting
/// that was end-to-end encrypted would continue on the relay's keys (SPEC §12.5).
pub(crate) const MODE_REFUSED_EXIT: u8 = super::exit::REFUSED;

/// Maps a refusal of the relay's key mode to its exit code; other errors pass unchanged.
pub(crate) fn mode_refusal(e: MeetingError) -> anyhow::Error {
    match e {
        MeetingError::TransportRefused { .. } | MeetingError::Downgrade { .. } => Failure {
            code: MODE_REFUSED_EXIT,
            message: e.to_string(),
        }
        .into(),
        e => e.into(),
    }
}

/// Where the meeting is: the relay, how to trust it, and the room.
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// Relay address (host:port), or several comma-separated relays of one deployment: the
    /// meeting starts on the first and moves to the next when one goes away or is lost.
    #[arg(long)]
    pub relay: String,
    /// SHA-256 of the relay's certificate (64 hex digits), as the relay prints it.
    #[arg(long, required_unless_present = "relay_ca")]
    relay_cert_sha256: Option<String>,
    /// Trust the CA certificates in this PEM file instead of a pin; the relay's certificate must
    /// then name the host of --relay (or --server-name).
    #[arg(long, conflicts_with = "relay_cert_sha256")]
    relay_ca: Option<PathBuf>,
    /// TLS server name to check the relay's certificate against with --relay-ca (every relay of
    /// --relay). Default: the host name in --relay, or `hush-relay` for an IP address.
    #[arg(long, requires = "relay_ca")]
    server_name: Option<String>,
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
    let relays = relay
        .relay
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(resolve)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (first, _) = relays.first().context("--relay names no relay")?;
    let mut cfg = MeetingConfig::new(*first, trust, &relay.room, name)?;
    cfg.alternates = relays.iter().skip(1).map(|(a, _)| *a).collect();
    for (addr, host) in &relays {
        if let Some(n) = relay.server_name.as_ref().or(host.as_ref()) {
            cfg.server_names.insert(*addr, n.clone());
        }
    }
    if let Some(path) = &policy.identity {
        cfg.identity = hush_client::load_identity(path)?;
    }
    if let Some(key) = &policy.host_key {
        cfg.host_key = Some(IdentityKey(hex32(key, "--host-key")?));
    }
    cfg.allow_regions = policy.allow_regions.clone();
    Ok(cfg)
}

/// A `--relay` entry's address, and its host name when it is not an IP literal (the TLS server
/// name a CA-issued certificate names).
fn resolve(relay: &str) -> anyhow::Result<(SocketAddr, Option<String>)> {
    let addr = relay
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve relay address {relay:?}"))?
        .next()
        .with_context(|| format!("relay address {relay:?} resolves to nothing"))?;
    let host = relay.rsplit_once(':').map_or(relay, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = host
        .parse::<std::net::IpAddr>()
        .is_err()
        .then(|| host.to_owned());
    Ok((addr, name))
}

/// 64 hex digits, optionally after `sha256=` (as `hush relay` and `hush relay pin` print a pin).
fn hex32(s: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    let s = s.strip_prefix("sha256=").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).with_context(|| {
        format!(
            "{what} must be 64 hex digits (optionally after `sha256=`), got {} characters",
            s.len()
        )
    })?;
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

/// Another party's text (a display name, a file name) escaped and in double quotes, for a
/// terminal: `"Alice"`.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", Escaped(text))
}

/// The first 8 hex digits of an identity, for lines printed per message.
pub(crate) fn short_fp(id: &IdentityKey) -> String {
    id.to_hex().chars().take(8).collect()
}

/// A chat message from another party, escaped and marked as theirs:
/// `chat from Bob (<first 8 hex of its identity>): "text"` (transport mode, where there is no
/// roster: `chat from #1: "text"`).
pub(crate) fn print_chat(d: &DataMessage) {
    let text = String::from_utf8_lossy(&d.payload);
    match &d.sender_identity {
        Some(id) => eprintln!(
            "chat from {} ({}): \"{}\"",
            Escaped(&d.sender_name),
            short_fp(id),
            Escaped(&text)
        ),
        None => eprintln!(
            "chat from {}: \"{}\"",
            Escaped(&d.sender_name),
            Escaped(&text)
        ),
    }
}

/// `hush join --chat`: a received chat line on stdout, `[chat] Bob (1a2b3c4d): hello`, the name
/// and the text escaped, the sender's short fingerprint after its name (names are not unique).
pub(crate) fn chat_line(d: &DataMessage) -> String {
    let text = String::from_utf8_lossy(&d.payload);
    match &d.sender_identity {
        Some(id) => format!(
            "[chat] {} ({}): {}",
            Escaped(&d.sender_name),
            short_fp(id),
            Escaped(&text)
        ),
        None => format!("[chat] {}: {}", Escaped(&d.sender_name), Escaped(&text)),
    }
}

/// Prints the stderr line of a roster change, a refused frame or a connection change; true if
/// `ev` was one. An error once the relay is lost for good (no reconnection under way).
pub(crate) fn print_session_event(ev: &MeetingEvent) -> anyhow::Result<bool> {
    match ev {
        MeetingEvent::RosterChanged(view) => {
            let names: Vec<String> = view
                .members
                .iter()
                .map(|m| {
                    format!(
                        "{} ({:?}, {})",
                        quoted(&m.name),
                        m.role,
                        m.identity.fingerprint()
                    )
                })
                .collect();
            eprintln!("epoch {}: {}", view.epoch, names.join(", "));
        }
        MeetingEvent::Refused { from, reason } => {
            eprintln!(
                "refused from participant {from}: {}",
                Escaped(&reason.to_string())
            );
        }
        MeetingEvent::Disconnected {
            reason,
            reconnecting,
        } => {
            // The relay's close reason: its text, not ours.
            eprintln!("disconnected: {}", Escaped(reason));
            if !reconnecting {
                return Err(Failure {
                    code: super::exit::NETWORK,
                    message: format!("lost the relay: {}", Escaped(reason)),
                }
                .into());
            }
        }
        MeetingEvent::Reconnected => eprintln!("reconnected"),
        // Another member's forgery in someone's name (SPEC §14): the line escapes the name.
        MeetingEvent::Forged(f) => eprintln!("forged {f}"),
        MeetingEvent::SendFailed(f) => {
            // Sizes and our own message types: no text from outside but the network's error.
            eprintln!("cannot send {}", Escaped(&f.to_string()));
        }
        MeetingEvent::JoinRefused { request, reason } => {
            let what = match reason {
                hush_client::DenyReason::ConnectorNeedsConsent => {
                    "it would decrypt the meeting; to admit connectors run the host with \
                     --admit-connectors, or with --admit ask and answer the prompt"
                }
                _ => "refused",
            };
            eprintln!(
                "refused connector {} ({}): {what}",
                quoted(&request.name),
                request.identity.fingerprint()
            );
        }
        MeetingEvent::Moved { relay, region } => {
            eprintln!("moved to relay {relay} (region \"{}\")", Escaped(region));
        }
        MeetingEvent::Carriers { relays } => {
            let list: Vec<String> = relays
                .iter()
                .map(|(name, region)| format!("{} (region \"{}\")", Escaped(name), Escaped(region)))
                .collect();
            eprintln!("carried by relays: {}", list.join(", "));
        }
        MeetingEvent::HostAway { grace } => eprintln!(
            "the host left the room: keeping the current keys for up to {} s while it may come \
             back",
            grace.as_secs()
        ),
        MeetingEvent::Ended(why) => {
            let code = match why {
                EndReason::Downgrade(_) | EndReason::Denied(_) | EndReason::HostExists { .. } => {
                    MODE_REFUSED_EXIT
                }
                _ => super::exit::FAILURE,
            };
            return Err(Failure {
                code,
                message: why.to_string(),
            }
            .into());
        }
        _ => return Ok(false),
    }
    Ok(true)
}
