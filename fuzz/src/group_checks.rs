//! Checks for hush-group's message decoder and state machines (SPEC §8-§10).
//!
//! Shared by the `group_decode` fuzz target and by `crates/group/tests/fuzz_replay.rs`
//! (included there with `#[path]`), so it uses only hush-group and `rand` (a dev-dependency of
//! hush-group).
//!
//! Input layout: `mode || chunk*`, each chunk `flags || u16 len (BE) || bytes[len]` (a short
//! last chunk takes what is left). Every chunk, and the whole input, goes through
//! [`Message::decode`] with a re-encode round trip. Unless `mode` bit 7 is set, a real meeting
//! is set up first (a [`Host`] and a [`Member`] it admitted, deterministic), and each chunk is
//! then fed to the member or (flags bit 1) to the host:
//!
//! - flags bit 0: "hostile but well-formed": the decoded message is re-signed so its signature
//!   verifies (rosters and epoch keys with the host's own key, as a malicious or buggy host
//!   would; join, leave and rekey requests by the joiner identity, whose key is then put in
//!   the content), so the checks behind the signature are reached;
//! - flags bit 2: admit a pending join as a connector (explicit consent) rather than as a
//!   participant;
//! - flags bits 3..7: advance the clock by that many times 1.5 s, then run the timers.
//!
//! Invariants checked: decoding is total and round-trips; no input panics a state machine;
//! a member's epoch never goes back and its pinned host never changes; the host's epoch never
//! goes back; every `EpochReady` carries keys of its own epoch.

use hush_group::message::{MemberNotice, msg_type, sign};
use hush_group::{
    Event, Host, HostConfig, HostInput, Identity, IdentityKey, Member, MemberConfig, Message,
    Outgoing, Step,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Room name of the fuzzed meeting (signatures bind it).
pub const ROOM: &str = "fuzz-room";
/// Relay id of the host's connection.
pub const HOST_RELAY: u64 = 100;
/// Relay id of the admitted member's connection.
pub const MEMBER_RELAY: u64 = 200;
/// Relay id a fuzzed message to the host claims to come from.
pub const JOINER_RELAY: u64 = 300;

/// The host identity of the fuzzed meeting.
pub fn host_identity() -> Identity {
    Identity::from_secret_bytes(&[1; 32])
}

/// The host's public key, computed once (the invariant checks need it after every chunk).
fn host_key() -> IdentityKey {
    static KEY: std::sync::OnceLock<IdentityKey> = std::sync::OnceLock::new();
    *KEY.get_or_init(|| host_identity().public())
}

/// The identity of the admitted member.
pub fn member_identity() -> Identity {
    Identity::from_secret_bytes(&[2; 32])
}

/// The identity of a would-be joiner (used to re-sign requests to the host).
pub fn joiner_identity() -> Identity {
    Identity::from_secret_bytes(&[3; 32])
}

/// The deterministic meeting every input starts from.
pub struct Meeting {
    /// The host (epoch 2 after setup: itself and the member).
    pub host: Host,
    /// The admitted member, keyed for epoch 2 (in the light mode: a fresh member that expects
    /// the host key but has seen nothing).
    pub member: Member,
    /// The randomness of every operation, seeded with 0.
    pub rng: StdRng,
    /// Milliseconds since the meeting started.
    pub now: u64,
}

fn deliver(step: Step, member: &mut Member, now: u64) {
    for out in step.outgoing {
        let bytes = match out {
            Outgoing::Broadcast(b) => b,
            Outgoing::To(id, b) if id == MEMBER_RELAY => b,
            _ => continue,
        };
        if !member.is_removed() {
            let _ = member.handle(HOST_RELAY, &bytes, now);
        }
    }
}

/// Sets up the meeting: host at epoch 1, the member says hello, asks to join, is admitted;
/// the member holds the keys of epoch 2. With `light`, the member is left unjoined.
pub fn setup(light: bool) -> Meeting {
    let mut rng = StdRng::seed_from_u64(0);
    let host_id = host_identity();
    let (mut host, step) = match Host::new(
        host_id.clone(),
        "Fuzz Host",
        ROOM,
        HOST_RELAY,
        HostConfig::default(),
        &mut rng,
        0,
    ) {
        Ok(x) => x,
        Err(e) => panic!("host setup: {e:?}"),
    };
    drop(step);
    let member = Member::new(
        member_identity(),
        "Fuzz Member",
        ROOM,
        Some(host_id.public()),
        MemberConfig::default(),
    );
    let mut member = match member {
        Ok(m) => m,
        Err(e) => panic!("member setup: {e:?}"),
    };
    if !light {
        let roster = host.roster_bytes().to_vec();
        let ev = member.handle(HOST_RELAY, &roster, 0);
        assert!(
            matches!(ev.as_deref(), Ok([Event::ReadyToJoin { .. }])),
            "{ev:?}"
        );
        let req = match member.join_request(&mut rng) {
            Ok(r) => r,
            Err(e) => panic!("join request: {e:?}"),
        };
        let pending = match host.handle_join_request(MEMBER_RELAY, &req) {
            Ok(p) => p,
            Err(e) => panic!("host refused the member: {e:?}"),
        };
        let step = match host.admit(pending, &mut rng, 0) {
            Ok(s) => s,
            Err(e) => panic!("admit: {e:?}"),
        };
        deliver(step, &mut member, 0);
        assert_eq!(member.epoch(), Some(2));
        assert!(member.is_joined());
    }
    Meeting {
        host,
        member,
        rng,
        now: 0,
    }
}

/// Re-encodes a decoded message; must equal the bytes it came from.
pub fn encode(msg: &Message) -> Vec<u8> {
    match msg {
        Message::Hello => hush_group::message::hello(),
        Message::Roster(s) => {
            assert_eq!(s.content.encode_body(), s.body, "roster body round trip");
            s.to_bytes()
        }
        Message::JoinRequest(s) => {
            assert_eq!(s.content.encode_body(), s.body, "join request round trip");
            s.to_bytes()
        }
        Message::EpochKey(k) => k.to_bytes(),
        Message::Commit(s) => {
            assert_eq!(s.content.encode_body(), s.body, "commit round trip");
            s.to_bytes()
        }
        Message::Welcome(s) => {
            assert_eq!(s.content.encode_body(), s.body, "welcome round trip");
            s.to_bytes()
        }
        Message::Denied(s) => {
            assert_eq!(s.content.encode_body(), s.body, "denial round trip");
            s.to_bytes()
        }
        Message::Leave(s) => {
            assert_eq!(s.content.encode_body(msg_type::LEAVE), s.body);
            s.to_bytes()
        }
        Message::RekeyRequest(s) => {
            assert_eq!(s.content.encode_body(msg_type::REKEY_REQUEST), s.body);
            s.to_bytes()
        }
        other => panic!("unknown message variant {other:?}"),
    }
}

/// Decodes `bytes`; on success checks the round trip and returns the message.
pub fn decode_round_trip(bytes: &[u8]) -> Option<Message> {
    let msg = Message::decode(bytes).ok()?;
    assert_eq!(encode(&msg), bytes, "re-encoding of {msg:?} differs");
    Some(msg)
}

/// Re-signs a decoded message so its signature verifies (see the module doc).
fn resign(msg: Message) -> Vec<u8> {
    let host = host_identity();
    let joiner = joiner_identity();
    match msg {
        Message::Hello => hush_group::message::hello(),
        Message::Roster(s) => {
            let body = s.content.encode_body();
            sign(s.content, body, &host, ROOM).to_bytes()
        }
        Message::EpochKey(k) => k.to_bytes(),
        Message::Commit(s) => {
            let body = s.content.encode_body();
            sign(s.content, body, &host, ROOM).to_bytes()
        }
        Message::Welcome(s) => {
            let body = s.content.encode_body();
            sign(s.content, body, &host, ROOM).to_bytes()
        }
        Message::Denied(s) => {
            let body = s.content.encode_body();
            sign(s.content, body, &host, ROOM).to_bytes()
        }
        Message::JoinRequest(s) => {
            let mut c = s.content;
            c.identity = joiner.public();
            let body = c.encode_body();
            sign(c, body, &joiner, ROOM).to_bytes()
        }
        Message::Leave(s) => notice(s.content, msg_type::LEAVE, &joiner),
        Message::RekeyRequest(s) => notice(s.content, msg_type::REKEY_REQUEST, &joiner),
        other => panic!("unknown message variant {other:?}"),
    }
}

fn notice(mut c: MemberNotice, ty: u8, who: &Identity) -> Vec<u8> {
    c.identity = who.public();
    let body = c.encode_body(ty);
    sign(c, body, who, ROOM).to_bytes()
}

fn check_events(events: &[Event]) {
    for e in events {
        if let Event::EpochReady {
            epoch,
            my_sender,
            receivers,
        } = e
        {
            assert_eq!(my_sender.epoch(), *epoch);
            assert!(receivers.iter().all(|r| r.epoch() == *epoch));
            assert!(receivers.iter().all(|r| r.index() != my_sender.index()));
        }
    }
}

/// Splits the input into chunks: `flags || u16 len || bytes`.
pub fn chunks(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((&flags, rest)) = data.split_first() {
        let len = match rest {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => 0,
        };
        let rest = rest.get(2..).unwrap_or(&[]);
        let len = len.min(rest.len());
        out.push((flags, &rest[..len]));
        data = &rest[len..];
    }
    out
}

/// `group_decode` target (see the module doc).
pub fn check_group(data: &[u8]) {
    let _ = decode_round_trip(data);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut m = setup(mode & 0x80 != 0);
    let pinned = m.member.host();
    for (flags, bytes) in chunks(rest) {
        let decoded = decode_round_trip(bytes);
        let input = match decoded {
            Some(msg) if flags & 0x01 != 0 => resign(msg),
            _ => bytes.to_vec(),
        };
        m.now = m.now.saturating_add(u64::from(flags >> 3) * 1500);
        let member_epoch = m.member.epoch();
        let host_epoch = m.host.epoch();
        if flags & 0x02 == 0 {
            if let Ok(events) = m.member.handle(HOST_RELAY, &input, m.now) {
                check_events(&events);
            }
        } else {
            match m.host.handle(JOINER_RELAY, &input, &mut m.rng, m.now) {
                Ok(HostInput::Join(pending)) => {
                    let step = if flags & 0x04 != 0 {
                        m.host.admit_connector(pending, &mut m.rng, m.now)
                    } else {
                        m.host.admit(pending, &mut m.rng, m.now)
                    };
                    if let Ok(step) = step {
                        check_events(&step.events);
                        deliver(step, &mut m.member, m.now);
                    }
                }
                Ok(HostInput::Step(step)) => {
                    check_events(&step.events);
                    deliver(step, &mut m.member, m.now);
                }
                Ok(other) => panic!("unknown host input {other:?}"),
                Err(_) => {}
            }
        }
        if flags >> 3 != 0 {
            check_events(&m.member.poll(m.now));
            if let Ok(step) = m.host.handle_timeout(m.now, &mut m.rng) {
                check_events(&step.events);
                deliver(step, &mut m.member, m.now);
            }
        }
        // Invariants: no rollback, no host change.
        if let (Some(before), Some(after)) = (member_epoch, m.member.epoch()) {
            assert!(
                after >= before,
                "member epoch went back {before} -> {after}"
            );
        }
        assert!(m.host.epoch() >= host_epoch, "host epoch went back");
        let now_pinned: Option<IdentityKey> = m.member.host();
        if let Some(p) = pinned {
            assert_eq!(now_pinned, Some(p), "pinned host changed");
        }
        if let Some(h) = now_pinned {
            assert_eq!(h, host_key(), "member pinned a foreign host");
        }
    }
}
