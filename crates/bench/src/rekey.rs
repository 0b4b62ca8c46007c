//! `hush bench --mode rekey`: what one epoch change costs in a meeting of N members, measured
//! on the sans-IO group layer in one thread (no network): the host's CPU, one member's CPU, the
//! bytes the host sends and the bytes the relay fans out (a broadcast counts once per other
//! member, a message to one member once). Two changes per (KEM, N):
//!
//! - a **leave** (the run's main numbers): a fresh secret, wrapped to every remaining member;
//! - a **join** (`join_*` keys): the secret ratcheted, the full roster and a welcome to the
//!   joiner only.
//!
//! Blob bytes only: the relay's framing (a few bytes per message) is not counted.

use std::time::Instant;

use hush_group::{
    Host, HostConfig, HostInput, Identity, KemId, Member, MemberConfig, Outgoing, Step,
};

/// One (KEM, N) measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct RekeyRun {
    /// The meeting's KEM.
    pub kem: KemId,
    /// Members before the change, host included.
    pub members: usize,
    /// Leave: host CPU to start the epoch.
    pub host_cpu_ms: f64,
    /// Leave: one remaining member's CPU to take the epoch (commit and epoch key).
    pub member_cpu_ms: f64,
    /// Leave: bytes the host sends.
    pub host_bytes: usize,
    /// Leave: bytes the relay sends out.
    pub relay_fanout_bytes: usize,
    /// Join: host CPU (verifying the request, then the epoch).
    pub join_host_cpu_ms: f64,
    /// Join: one existing member's CPU (the commit; the secret is ratcheted).
    pub join_member_cpu_ms: f64,
    /// Join: the joiner's CPU for the roster and its welcome.
    pub joiner_cpu_ms: f64,
    /// Join: bytes the host sends.
    pub join_host_bytes: usize,
    /// Join: bytes the relay sends out.
    pub join_relay_fanout_bytes: usize,
}

/// The default meeting sizes.
pub const DEFAULT_MEMBERS: [usize; 4] = [10, 50, 200, 1000];

/// Time `f` takes on this thread, which does nothing else (no I/O, no waiting), so its wall
/// time is its CPU time; the kernel's per-thread CPU counters tick in 4 ms here, too coarse.
fn cpu_ms<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let wall = Instant::now();
    let out = f();
    (out, wall.elapsed().as_secs_f64() * 1e3)
}

fn bytes(step: &Step, members: usize) -> (usize, usize) {
    let mut host = 0;
    let mut fanout = 0;
    for o in &step.outgoing {
        match o {
            Outgoing::Broadcast(b) => {
                host += b.len();
                fanout += b.len() * members.saturating_sub(1);
            }
            Outgoing::To(_, b) => {
                host += b.len();
                fanout += b.len();
            }
            _ => {}
        }
    }
    (host, fanout)
}

struct Peer {
    relay_id: u64,
    member: Member,
}

/// Delivers a step as an honest relay would; returns an error if any member refuses.
fn deliver(peers: &mut [Peer], step: &Step) -> anyhow::Result<()> {
    for o in &step.outgoing {
        match o {
            Outgoing::Broadcast(b) => {
                for p in peers.iter_mut().filter(|p| !p.member.is_removed()) {
                    p.member.handle(1, b, 0)?;
                }
            }
            Outgoing::To(id, b) => {
                if let Some(p) = peers.iter_mut().find(|p| p.relay_id == *id) {
                    p.member.handle(1, b, 0)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The messages of `step` for member `relay_id`, in order.
fn messages_for(step: &Step, relay_id: u64) -> Vec<Vec<u8>> {
    step.outgoing
        .iter()
        .filter_map(|o| match o {
            Outgoing::Broadcast(b) => Some(b.clone()),
            Outgoing::To(id, b) if *id == relay_id => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn joiner(name: &str) -> anyhow::Result<Member> {
    let mut rng = hush_group::os_rng();
    Ok(Member::new(
        Identity::generate(&mut rng),
        name,
        "bench-room",
        None,
        MemberConfig::default(),
    )?)
}

/// Builds a meeting of `n` members (one epoch for all the joins), then measures a leave and a
/// join.
pub fn measure(kem: KemId, n: usize) -> anyhow::Result<RekeyRun> {
    let mut rng = hush_group::os_rng();
    let config = HostConfig {
        kem,
        max_members: hush_group::MAX_MEMBERS,
        ..HostConfig::default()
    };
    let (mut host, _) = Host::new(
        Identity::generate(&mut rng),
        "Host",
        "bench-room",
        1,
        config,
        &mut rng,
        0,
    )?;
    let mut peers = Vec::with_capacity(n);
    for i in 1..n {
        let mut member = joiner(&format!("Member {i}"))?;
        member.handle(1, host.roster_bytes(), 0)?;
        let req = member.join_request(&mut rng)?;
        let relay_id = 100 + i as u64;
        let pending = host.handle_join_request(relay_id, &req)?;
        host.stage_admit(pending, false, &mut rng)?;
        peers.push(Peer { relay_id, member });
    }
    let step = host.commit(&mut rng, 0)?;
    deliver(&mut peers, &step)?;
    let code = host.member().security_code().map(str::to_owned);
    anyhow::ensure!(
        peers
            .iter()
            .all(|p| p.member.security_code().map(str::to_owned) == code),
        "not every member holds the host's security code"
    );

    // A leave: the last member goes.
    let gone = peers.pop().map_or(0, |p| p.relay_id);
    let (step, host_cpu_ms) = cpu_ms(|| host.remove(gone, &mut rng, 0));
    let step = step?;
    let (host_bytes, relay_fanout_bytes) = bytes(&step, n - 1);
    let probe = peers.first().map_or(0, |p| p.relay_id);
    let mut member_cpu_ms = 0.0;
    for p in &mut peers {
        let msgs = messages_for(&step, p.relay_id);
        let (r, ms) = cpu_ms(|| -> anyhow::Result<()> {
            for m in &msgs {
                p.member.handle(1, m, 0)?;
            }
            Ok(())
        });
        r?;
        if p.relay_id == probe {
            member_cpu_ms = ms;
        }
    }

    // A join: a newcomer.
    let mut newcomer = joiner("Newcomer")?;
    newcomer.handle(1, host.roster_bytes(), 0)?;
    let req = newcomer.join_request(&mut rng)?;
    let relay_id = 100 + n as u64;
    let (step, join_host_cpu_ms) = cpu_ms(|| -> anyhow::Result<Step> {
        match host.handle(relay_id, &req, &mut rng, 0)? {
            HostInput::Join(p) => Ok(host.admit(p, &mut rng, 0)?),
            _ => anyhow::bail!("the join request was not taken"),
        }
    });
    let step = step?;
    let (join_host_bytes, join_relay_fanout_bytes) = bytes(&step, n);
    let msgs = messages_for(&step, probe);
    let probe_member = peers
        .iter_mut()
        .find(|p| p.relay_id == probe)
        .ok_or_else(|| anyhow::anyhow!("no member"))?;
    let (r, join_member_cpu_ms) = cpu_ms(|| -> anyhow::Result<()> {
        for m in &msgs {
            probe_member.member.handle(1, m, 0)?;
        }
        Ok(())
    });
    r?;
    let msgs = messages_for(&step, relay_id);
    let (r, joiner_cpu_ms) = cpu_ms(|| -> anyhow::Result<()> {
        for m in &msgs {
            // The commit does not follow the joiner's roster: ignored, as designed.
            newcomer.handle(1, m, 0)?;
        }
        Ok(())
    });
    r?;
    anyhow::ensure!(
        newcomer.security_code() == host.member().security_code()
            && probe_member.member.security_code() == host.member().security_code(),
        "the joiner or a member does not hold the host's security code"
    );
    Ok(RekeyRun {
        kem,
        members: n,
        host_cpu_ms,
        member_cpu_ms,
        host_bytes,
        relay_fanout_bytes,
        join_host_cpu_ms,
        join_member_cpu_ms,
        joiner_cpu_ms,
        join_host_bytes,
        join_relay_fanout_bytes,
    })
}

fn kem_name(kem: KemId) -> &'static str {
    match kem {
        KemId::XWing => "xwing",
        _ => "x25519",
    }
}

/// The `--json` object: `{"runs":[{"mode":"rekey","kem":…,"members":…,…}]}`.
pub fn json(runs: &[RekeyRun]) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "mode": "rekey",
                "kem": kem_name(r.kem),
                "members": r.members,
                "host_cpu_ms": r.host_cpu_ms,
                "member_cpu_ms": r.member_cpu_ms,
                "host_bytes": r.host_bytes,
                "relay_fanout_bytes": r.relay_fanout_bytes,
                "join_host_cpu_ms": r.join_host_cpu_ms,
                "join_member_cpu_ms": r.join_member_cpu_ms,
                "joiner_cpu_ms": r.joiner_cpu_ms,
                "join_host_bytes": r.join_host_bytes,
                "join_relay_fanout_bytes": r.join_relay_fanout_bytes,
            })
        })
        .collect();
    serde_json::json!({ "runs": runs })
}

/// Runs every (KEM, N) and prints the JSON object or a table on stdout.
pub fn run(kems: &[KemId], members: &[usize], as_json: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut runs = Vec::new();
    for &kem in kems {
        for &n in members {
            anyhow::ensure!(
                (2..=hush_group::MAX_MEMBERS).contains(&n),
                "--members {n}: a meeting has 2 to {} members",
                hush_group::MAX_MEMBERS
            );
            runs.push(measure(kem, n)?);
        }
    }
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", json(&runs))?;
        return Ok(());
    }
    writeln!(
        out,
        "rekey: one epoch change, sans-IO group layer, one thread (leave: fresh secret; join: ratchet)"
    )?;
    writeln!(
        out,
        "{:>6} {:>5} | {:>9} {:>9} {:>10} {:>11} | {:>9} {:>9} {:>9} {:>11}",
        "kem",
        "N",
        "host ms",
        "member ms",
        "host B",
        "fan-out B",
        "join host",
        "member",
        "joiner",
        "fan-out B"
    )?;
    for r in &runs {
        writeln!(
            out,
            "{:>6} {:>5} | {:>9.2} {:>9.3} {:>10} {:>11} | {:>9.2} {:>9.3} {:>9.2} {:>11}",
            kem_name(r.kem),
            r.members,
            r.host_cpu_ms,
            r.member_cpu_ms,
            r.host_bytes,
            r.relay_fanout_bytes,
            r.join_host_cpu_ms,
            r.join_member_cpu_ms,
            r.joiner_cpu_ms,
            r.join_relay_fanout_bytes
        )?;
    }
    Ok(())
}
