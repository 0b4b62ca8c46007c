//! Whole meetings of sans-IO cores on the simulated network (`sim`): joins and leaves, a join
//! storm of 200, a host reconnect, rotation, a host that never returns, floods by non-members,
//! connector consent, and random hostile schedules (drops, duplicates, delays, disconnects)
//! checked against the invariants. Milliseconds each, no sockets, no sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use hush_session::{Admit, ClientRole, EndReason};
use proptest::prelude::*;
use sim::*;

fn guest(name: &str, seed: u64) -> hush_session::SessionConfig {
    config(name, ClientRole::Guest, seed)
}

#[test]
fn sim_join_and_leave_start_epochs_and_every_member_shows_the_same_code() {
    let mut net = Net::new(1);
    let host = net.join(config("host", host_auto(), 100));
    let a = net.join(guest("a", 101));
    let b = net.join(guest("b", 102));
    net.advance(1000);
    net.check_invariants();
    let e = net.nodes[host].seen.epoch;
    for i in [host, a, b] {
        assert_eq!(net.nodes[i].seen.epoch, e);
        assert_eq!(net.nodes[i].seen.roster.len(), 3);
    }
    net.leave(b);
    net.advance(1000);
    net.check_invariants();
    assert!(net.nodes[a].seen.epoch > e, "a leave starts a new epoch");
    assert_eq!(net.nodes[a].seen.roster.len(), 2);
    // The departed member never got a key of an epoch after its leave.
    let last_b = *net.nodes[b].seen.keyed.iter().max().unwrap();
    assert!(last_b <= e);
    assert_eq!(net.nodes[a].seen.code, net.nodes[host].seen.code);
}

#[test]
fn sim_a_commit_too_large_to_send_is_an_event_not_a_silent_stall() {
    let mut net = Net::new(9);
    let mut cfg = config("host", host_auto(), 900);
    // Room for the host's first roster and one joiner's commit, not for a batch of ten.
    cfg.max_message = 900;
    let host = net.join(cfg);
    for i in 0..10 {
        net.join(guest(&format!("g{i}"), 910 + i));
    }
    net.advance(1000);
    let seen = &net.nodes[host].seen;
    assert!(seen.largest_sent <= 900, "sent {} bytes", seen.largest_sent);
    let commit = seen
        .send_failed
        .iter()
        .find(|f| f.what() == "commit")
        .unwrap_or_else(|| panic!("no commit reported: {:?}", seen.send_failed));
    assert!(commit.bytes > 900);
    assert_eq!(commit.to, hush_wire::Target::All);
    let line = commit.to_string();
    assert!(
        line.starts_with("commit (") && line.contains("to everyone: larger than the 900 bytes"),
        "{line}"
    );
}

#[test]
fn sim_a_join_storm_of_200_shares_epochs_and_converges() {
    let mut net = Net::new(2);
    let host = net.join(config("host", host_auto(), 200));
    for i in 0..200 {
        net.join(guest(&format!("g{i}"), 1000 + i));
    }
    // Within a few seconds of virtual time everyone holds the same epoch of 201 members.
    net.advance(5_000);
    net.check_invariants();
    let e = net.nodes[host].seen.epoch;
    assert!(
        net.nodes
            .iter()
            .all(|n| n.seen.epoch == e && n.seen.roster.len() == 201)
    );
    // Batching: far fewer epochs than joins (one per 200 ms batch, not one per join).
    assert!(e < 40, "{e} epochs for 200 joins");
    // A clean network: nothing anyone sent was refused.
    let refused: Vec<usize> = net.nodes.iter().map(|n| n.seen.refused).collect();
    assert!(refused.iter().all(|&r| r == 0), "refusals: {refused:?}");
}

#[test]
fn sim_host_reconnect_keeps_the_members_that_stayed_connected() {
    let mut net = Net::new(3);
    let host = net.join(config("host", host_auto(), 300));
    let a = net.join(guest("a", 301));
    let b = net.join(guest("b", 302));
    net.advance(1000);
    let before = net.nodes[a].seen.epoch;
    net.disconnect(host);
    net.advance(100);
    assert!(net.nodes[a].seen.host_away);
    net.connect(host);
    net.advance(1000);
    net.check_invariants();
    for i in [a, b] {
        assert!(
            !net.nodes[i].seen.removed,
            "member stranded by the host's reconnect"
        );
        assert!(net.nodes[i].seen.epoch > before);
        assert_eq!(net.nodes[i].seen.roster.len(), 3);
        assert!(net.nodes[i].seen.ended.is_none());
    }
}

#[test]
fn sim_a_partition_between_relays_that_heals_brings_the_members_back() {
    let mut net = Net::new(6);
    let host = net.join(config("host", host_auto(), 600));
    let a = net.join(guest("a", 601));
    let b = net.join(guest("b", 602));
    net.advance(1000);
    let before = net.nodes[a].seen.epoch;
    // The host and a on one relay, b on the other: the link between them dies.
    net.split(&[host, a]);
    net.advance(100);
    assert!(net.nodes[b].seen.host_away);
    assert_eq!(net.nodes[host].seen.roster.len(), 2, "the host dropped b");
    let split = net.nodes[a].seen.epoch;
    assert!(split > before);
    // It heals: b asks to be let in again under its old id, and is.
    net.heal();
    net.advance(1000);
    net.check_invariants();
    for i in [host, a, b] {
        assert_eq!(net.nodes[i].seen.roster.len(), 3, "node {i}");
        assert!(net.nodes[i].seen.ended.is_none());
        assert!(!net.nodes[i].seen.removed);
    }
    assert!(net.nodes[b].seen.epoch > split, "b holds the new epoch");
    assert_eq!(net.nodes[b].seen.code, net.nodes[host].seen.code);
}

#[test]
fn sim_the_host_rotates_every_five_minutes() {
    let mut net = Net::new(4);
    let host = net.join(config("host", host_auto(), 400));
    let a = net.join(guest("a", 401));
    net.advance(1000);
    let e = net.nodes[a].seen.epoch;
    net.advance(300_000);
    assert_eq!(
        net.nodes[a].seen.epoch,
        e + 1,
        "one rotation after 5 minutes"
    );
    net.advance(300_000);
    assert_eq!(net.nodes[a].seen.epoch, e + 2);
    net.check_invariants();
    assert_eq!(net.nodes[a].seen.code, net.nodes[host].seen.code);
}

#[test]
fn sim_members_end_the_meeting_when_the_host_never_returns() {
    let mut net = Net::new(5);
    let host = net.join(config("host", host_auto(), 500));
    let a = net.join(guest("a", 501));
    net.advance(1000);
    net.leave(host);
    net.advance(59_000);
    assert!(net.nodes[a].seen.host_away);
    assert!(net.nodes[a].seen.ended.is_none(), "waits for the grace");
    net.advance(2_000);
    assert!(matches!(
        net.nodes[a].seen.ended,
        Some(EndReason::HostGone { .. })
    ));
    assert_eq!(net.nodes[a].seen.epoch, 0, "keys erased");
}

#[test]
fn abuse_sim_hello_and_join_floods_cost_the_host_a_bounded_amount() {
    let mut net = Net::new(6);
    let host = net.join(config("host", host_auto(), 600));
    let a = net.join(guest("a", 601));
    net.advance(1000);
    let before = net.nodes[host].sent;
    // Ten non-members each send 240 Hellos a second for 10 s (a raw connection: its Hellos
    // are injected as deliveries from its relay id).
    let mut attackers = Vec::new();
    for i in 0..10 {
        attackers.push(net.join(guest(&format!("x{i}"), 700 + i)));
    }
    net.advance(500);
    let joined_epoch = net.nodes[a].seen.epoch;
    let hello = hush_group::message::hello();
    for tick in 0..2400u64 {
        for &x in &attackers {
            let from = net.nodes[x].relay_id;
            let now = net.now;
            net.nodes[host].session.handle_blob(now, from, &hello);
            net.drain(host);
        }
        if tick % 24 == 0 {
            net.advance(100);
        }
    }
    net.advance(1000);
    let (msgs, _) = net.nodes[host].sent;
    let answered = msgs - before.0;
    // At most one answer a second per sender (10 senders, ~11 s), plus the epochs of the ten
    // admissions and the rotation-free rest: far below the 24 000 Hellos.
    assert!(answered < 400, "{answered} messages for 24 000 Hellos");
    assert!(net.nodes[a].seen.epoch >= joined_epoch);
    net.check_invariants();
}

#[test]
fn hostile_sim_returning_participant_needs_consent_to_become_a_connector() {
    let mut net = Net::new(7);
    let host = net.join(config(
        "host",
        ClientRole::Host {
            admit: Admit::Ask,
            admit_connectors: false,
        },
        800,
    ));
    let cfg = guest("pat", 801);
    let mut as_connector = cfg.clone();
    as_connector.role = ClientRole::Connector;
    let pat = net.join(cfg);
    net.advance(100);
    let req = net.nodes[host].seen.admission_requests.pop().unwrap();
    net.nodes[host].session.admit(net.now, req, true).unwrap();
    net.drain(host);
    net.advance(1000);
    assert_eq!(net.nodes[pat].seen.roster.len(), 2);
    net.leave(pat);
    net.advance(1000);
    let conn = net.join(as_connector);
    net.advance(1000);
    assert_eq!(net.nodes[conn].seen.epoch, 0, "no key without consent");
    assert_eq!(
        net.nodes[host].seen.admission_requests.len(),
        1,
        "the host is asked"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Random hostile schedules: the relay drops, duplicates and delays deliveries and
    /// disconnects members; afterwards it turns honest. Invariants throughout: keys only for
    /// roster members, one code per epoch among those keyed in it; and once the relay is honest
    /// again, a member's leave always leads to a new epoch the leaver never gets. (A relay that
    /// drops a joiner's request can keep it out: denial of service is the relay's to give.)
    #[test]
    fn hostile_sim_random_schedules_keep_the_invariants(
        seed in 0u64..1_000_000,
        fates in proptest::collection::vec(0u8..10, 64..256),
        disconnects in proptest::collection::vec(1usize..4, 0..3),
    ) {
        let mut net = Net::new(seed);
        let host = net.join(config("host", host_auto(), seed));
        for i in 0..3 {
            net.join(guest(&format!("m{i}"), seed + 1 + i));
        }
        let mut k = 0;
        net.tamper = Some(Box::new(move |_, _| {
            let f = fates[k % fates.len()];
            k += 1;
            match f {
                0 => Fate::Drop,
                1 => Fate::Duplicate,
                2 => Fate::Delay,
                _ => Fate::Pass,
            }
        }));
        for step in 0..12 {
            net.advance(150);
            net.check_invariants();
            if let Some(&d) = disconnects.get(step / 4) && step % 4 == 1 && net.nodes[d].connected {
                net.disconnect(d);
            }
        }
        net.tamper = None;
        net.advance(3_000);
        net.check_invariants();
        let e = net.nodes[host].seen.epoch;
        let roster = net.nodes[host].seen.roster.clone();
        // A leave always leads to a new epoch.
        let leaver = (0..net.nodes.len()).find(|&i| {
            i != host && net.nodes[i].connected && roster.contains(&net.nodes[i].identity)
        });
        if let Some(leaver) = leaver {
            net.leave(leaver);
            net.advance(1000);
            net.check_invariants();
            prop_assert!(net.nodes[host].seen.epoch > e);
            let last = net.nodes[leaver].seen.keyed.iter().max().copied().unwrap_or(0);
            prop_assert!(last <= e, "the departed member got epoch {}", last);
        }
    }
}

/// Newcomer item 7 and 3 of the service issue: nobody waits in silence. A guest the host
/// denies, and a connector a host without consent refuses, each get a host-signed denial and
/// end with the reason; the host is told it refused the connector.
#[test]
fn sim_denied_guests_and_refused_connectors_are_told_why() {
    let mut net = Net::new(11);
    let ask = net.join(config(
        "host",
        ClientRole::Host {
            admit: Admit::Ask,
            admit_connectors: false,
        },
        1100,
    ));
    let g = net.join(guest("g", 1101));
    net.advance(100);
    let req = net.nodes[ask].seen.admission_requests.pop().unwrap();
    net.nodes[ask].session.admit(net.now, req, false).unwrap();
    net.drain(ask);
    net.advance(100);
    assert_eq!(
        net.nodes[g].seen.ended,
        Some(EndReason::Denied(hush_group::DenyReason::Denied))
    );
    assert!(net.nodes[g].seen.keyed.is_empty());

    let mut net = Net::new(12);
    let host = net.join(config("host", host_auto(), 1200));
    let c = net.join(config("bridge", ClientRole::Connector, 1201));
    net.advance(500);
    assert_eq!(
        net.nodes[c].seen.ended,
        Some(EndReason::Denied(
            hush_group::DenyReason::ConnectorNeedsConsent
        ))
    );
    assert!(net.nodes[c].seen.keyed.is_empty(), "no key without consent");
    assert_eq!(net.nodes[host].seen.join_refused, 1);
}

/// A second host in a room would split the meeting: it asks first, sees a roster another
/// identity signed, and stops with that host's fingerprint; the meeting goes on untouched.
#[test]
fn sim_a_second_host_is_told_the_room_already_has_one() {
    let mut net = Net::new(13);
    let first = net.join(config("host", host_auto(), 1300));
    let a = net.join(guest("a", 1301));
    net.advance(500);
    let before = net.nodes[a].seen.epoch;
    let second = net.join(config("host2", host_auto(), 1302));
    net.advance(500);
    match &net.nodes[second].seen.ended {
        Some(EndReason::HostExists { fingerprint }) => {
            assert_eq!(*fingerprint, net.nodes[first].identity.fingerprint());
        }
        other => panic!("the second host must stop, got {other:?}"),
    }
    // (The invariant check keys rosters by epoch number, which two meetings share: the
    // second host's one-member epoch 1 lived until its end. Checked directly instead.)
    assert_eq!(net.nodes[a].seen.code, net.nodes[first].seen.code);
    assert_eq!(net.nodes[a].seen.roster.len(), 2);
    assert!(net.nodes[a].seen.ended.is_none());
    assert!(net.nodes[a].seen.epoch >= before);
}
