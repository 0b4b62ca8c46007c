//! A hostile participant on the relay (what a malicious relay could do): it forges a roster
//! and epoch keys (C3), and replays a breakout room's frames into the main room (C5).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hush_client::net::{self, ConnectOptions, RelayConnection};
use hush_client::{ClientRole, Meeting, MeetingEvent, Stats, TrustAnchor};
use hush_frame::{BaseKey, CipherSuite, Header, Opener};
use hush_group::message::{EpochKey, Message, Roster, RosterEntry, sign};
use hush_group::{Identity, IdentityKey, Role, Signed};
use hush_wire::{ParticipantId, Target};

use super::main_room::{converge, keyed, send};
use super::{ALICE, BOB, CAROL, MAIN_ROOM, Run};
use crate::scan::hex_excerpt;
use crate::world::{GUARD, Log, Party};

/// The breakout room.
const BREAKOUT: &str = "board-breakout-1";
/// Marker of the breakout's media.
const BREAKOUT_TEXT: &str = "C5 breakout-only: the acquisition target is Contoso";

/// A raw wire participant with its event log.
pub struct Raw {
    conn: RelayConnection,
    log: Arc<Log<net::Event>>,
}

impl Raw {
    async fn join(run: &Run, room: &str) -> anyhow::Result<Raw> {
        let r = &run.world.e2ee;
        let (conn, events) = net::connect(
            r.addr,
            TrustAnchor::Sha256(r.pin),
            ConnectOptions::default(),
        )
        .await?;
        conn.join(room).await?;
        Ok(Raw {
            conn,
            log: Log::spawn(events),
        })
    }

    fn media(&self) -> Vec<Bytes> {
        self.log.with(|evs| {
            evs.iter()
                .filter_map(|e| match e {
                    net::Event::Media(b) => Some(b.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    /// Leaves and closes.
    pub async fn close(self) {
        let _ = self.conn.leave().await;
        self.conn.close().await;
    }
}

fn refused_total(s: &Stats) -> u64 {
    s.refused_unknown_kid + s.refused_auth + s.refused_replay + s.refused_malformed
}

/// Waits (polling the counters, which change without an event) until `f` holds.
pub(super) async fn poll_until(f: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + GUARD;
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}

fn forged_roster(signed: &Signed<Roster>, me: &Identity, my_id: u64) -> Option<(Roster, Vec<u8>)> {
    let mut roster = signed.content.clone();
    let template = roster.members.last()?.clone();
    roster.epoch += 1;
    roster.members.push(RosterEntry {
        index: template.index + 1,
        relay_id: my_id,
        role: Role::Participant,
        identity: IdentityKey(me.public().0),
        ..template
    });
    let body = roster.encode_body();
    let bytes = sign(roster.clone(), body, me, MAIN_ROOM).to_bytes();
    Some((roster, bytes))
}

/// C3: the injector asks for the roster, forges one listing itself and keys signed by itself.
pub async fn inject(run: &mut Run) -> anyhow::Result<Raw> {
    run.say("C3: a hostile participant injects a forged roster and forged keys");
    let mallory = Raw::join(run, MAIN_ROOM).await?;
    let my_id = mallory.conn.my_id().map_or(0, |p| p.0);
    run.ev.c3.injector = ParticipantId(my_id).to_string();
    mallory
        .conn
        .send_blob(Target::All, hush_group::message::hello().into())
        .await?;
    let signed = mallory
        .log
        .wait(GUARD, |evs| {
            evs.iter().find_map(|e| match e {
                net::Event::Deliver { blob, .. } => match Message::decode(blob) {
                    Ok(Message::Roster(s)) => Some(s),
                    _ => None,
                },
                _ => None,
            })
        })
        .await;
    let me = Identity::generate(&mut hush_group::os_rng());
    let mut suite = CipherSuite::default_for_this_cpu();
    if let Some(signed) = signed
        && let Some((roster, bytes)) = forged_roster(&signed, &me, my_id)
    {
        suite = CipherSuite::from_id(roster.suite).unwrap_or(suite);
        run.ev.c3.forged_roster_excerpt = hex_excerpt(&bytes, 12);
        mallory.conn.send_blob(Target::All, bytes.into()).await?;
        run.ev.c3.forged_roster_sent = true;
        let hash = hush_group::roster_hash(&roster.encode_body());
        for e in &signed.content.members {
            // The forger knows no member's wrap key: any 48 bytes are its best guess.
            let key = EpochKey {
                meeting: roster.meeting,
                epoch: roster.epoch,
                recipient_index: e.index,
                roster_hash: hash,
                ciphertext: vec![0x17; 48],
            };
            let bytes = key.to_bytes();
            let to = Target::Participant(ParticipantId(e.relay_id));
            mallory.conn.send_blob(to, bytes.into()).await?;
        }
        run.ev.c3.forged_keys_sent = true;
    }
    for p in [&run.alice, &run.bob, &run.carol] {
        let reasons = p
            .log
            .wait(GUARD, |evs| {
                let r: Vec<String> = evs
                    .iter()
                    .filter_map(|e| match e {
                        MeetingEvent::Refused { from, reason } if *from == my_id => {
                            Some(reason.to_string())
                        }
                        _ => None,
                    })
                    .collect();
                (r.len() >= 2).then_some(r)
            })
            .await
            .unwrap_or_else(|| {
                p.log.with(|evs| {
                    evs.iter()
                        .filter_map(|e| match e {
                            MeetingEvent::Refused { from, reason } if *from == my_id => {
                                Some(reason.to_string())
                            }
                            _ => None,
                        })
                        .collect()
                })
            });
        run.ev.c3.refusals.insert(p.name.clone(), reasons);
    }
    let text = "C3 after the injection: only the three of us";
    send(&run.alice, text).await?;
    for p in [&run.bob, &run.carol] {
        p.media_with(text.as_bytes()).await;
    }
    run.needles.media.push(text.to_owned());
    mallory
        .log
        .wait(GUARD, |evs| {
            evs.iter()
                .any(|e| matches!(e, net::Event::Media(_)))
                .then_some(())
        })
        .await;
    // The injector tries every frame with the only keys it has: ones it made up.
    let mut opened = 0;
    let frames = mallory.media();
    let mut opener = Opener::new();
    for f in &frames {
        let Ok((h, _)) = Header::decode(f) else {
            continue;
        };
        if !opener.has_key(h.kid) {
            let mut k = [0u8; 32];
            rand_fill(&mut k);
            if let Ok(bk) = BaseKey::new(k.to_vec()) {
                let _ = opener.add_key(h.kid, suite, bk);
            }
        }
        let mut buf = f.to_vec();
        if opener.open(b"", &mut buf).is_ok() {
            opened += 1;
        }
    }
    let c3 = &mut run.ev.c3;
    c3.injector_frames_received = frames.len() as u64;
    c3.injector_frames_opened = opened;
    c3.admitted = [ALICE, BOB, CAROL].iter().map(|s| s.to_string()).collect();
    for p in [&run.alice, &run.bob, &run.carol] {
        c3.rosters_after.insert(p.name.clone(), p.roster_names());
    }
    Ok(mallory)
}

fn rand_fill(buf: &mut [u8]) {
    use hush_group::rand_core::Rng as _;
    hush_group::os_rng().fill_bytes(buf);
}

/// C5: a breakout room with its own host and keys; its frames, replayed into the main room by
/// the injector, open nowhere there.
pub async fn breakout(run: &mut Run, mallory: &mut Raw) -> anyhow::Result<()> {
    run.say("C5: a breakout room with its own keys; its frames replayed into the main room");
    let r = &run.world.e2ee;
    let host = ClientRole::Host {
        admit: hush_client::Admit::Auto,
        admit_connectors: false,
    };
    let bob_bo = Party::join(r.config(BREAKOUT, BOB, host)?).await?;
    bob_bo.until(|m| keyed(m, 1)).await;
    let carol_bo = Party::join(r.config(BREAKOUT, CAROL, ClientRole::Guest)?).await?;
    converge(&bob_bo, &[&carol_bo], 2).await;
    let spy = Raw::join(run, BREAKOUT).await?;
    for i in 0..3 {
        send(&bob_bo, &format!("{BREAKOUT_TEXT} ({i})")).await?;
    }
    carol_bo
        .media_with(format!("{BREAKOUT_TEXT} (2)").as_bytes())
        .await;
    spy.log
        .wait(GUARD, |evs| {
            (evs.iter()
                .filter(|e| matches!(e, net::Event::Media(_)))
                .count()
                >= 3)
                .then_some(())
        })
        .await;
    let main = [&run.alice, &run.bob, &run.carol];
    let before: u64 = main.iter().map(|p| refused_total(&p.meeting.stats())).sum();
    let frames = spy.media();
    for f in &frames {
        mallory.conn.send_media(f.clone()).await?;
    }
    let n = frames.len() as u64;
    let stats = |m: &Meeting| refused_total(&m.stats());
    poll_until(|| main.iter().map(|p| stats(&p.meeting)).sum::<u64>() >= before + 3 * n).await;
    let after: u64 = main.iter().map(|p| stats(&p.meeting)).sum();
    let c5 = &mut run.ev.c5;
    c5.main_code = run.alice.code();
    c5.breakout_codes = vec![bob_bo.code(), carol_bo.code()];
    c5.breakout_frames_replayed = n;
    c5.main_clients_refused = after.saturating_sub(before);
    c5.main_clients_opened_breakout = main
        .iter()
        .map(|p| p.media_seen(BREAKOUT_TEXT.as_bytes()).len() as u64)
        .sum();
    run.needles.media.push(BREAKOUT_TEXT.to_owned());
    spy.close().await;
    let _ = bob_bo.meeting.leave().await;
    let _ = carol_bo.meeting.leave().await;
    Ok(())
}
