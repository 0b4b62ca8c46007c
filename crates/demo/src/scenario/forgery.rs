//! C12: an admitted member forges the host's audio and chat in her name (SPEC §14). It holds
//! every sender's key of the epoch, as every member does, so its forgeries are valid SFrame
//! frames: only sender authentication can tell them apart.

use bytes::Bytes;
use hush_client::{ClientRole, DataKind, Forge, MeetingEvent, Stats};

use super::hostile::poll_until;
use super::main_room::{answer, converge, send, stage};
use super::{ALICE, MAIN_ROOM, Run};
use crate::claims::c12_impersonation::Receiver;
use crate::world::{GUARD, Party};

/// The forging member's display name.
pub const INSIDER: &str = "Mallory Insider";
/// Marker of every forged payload.
const FORGED: &str = "C12 forged";

/// The forged audio frames and the forged chat line, sealed under the host's key.
struct Forgeries {
    vouched: Bytes,
    poison: Bytes,
    chat: Bytes,
}

/// C12: the insider is admitted, forges, and leaves; the others' views are observed.
pub async fn impersonation(run: &mut Run) -> anyhow::Result<()> {
    run.say("C12: an admitted member forges the host's audio and chat in her name");
    let mut cfg = run
        .world
        .e2ee
        .config(MAIN_ROOM, INSIDER, ClientRole::Guest)?;
    // The test hook that keeps the other members' sending keys of the epoch (every member
    // derives them; a normal client just does not keep them around).
    cfg.test_forger = true;
    let insider = Party::join(cfg).await?;
    let (alice, bob, carol) = (&run.alice, &run.bob, &run.carol);
    if answer(alice, &insider, true).await.is_none() {
        anyhow::bail!("the host never saw {INSIDER}'s join request");
    }
    converge(alice, &[bob, carol, &insider], 4).await;
    run.ev.c9.stages.push(stage(
        "an insider was admitted",
        &[alice, bob, carol, &insider],
    ));
    let c12 = &mut run.ev.c12;
    c12.forger = INSIDER.to_owned();
    c12.victim = ALICE.to_owned();
    let receivers = [bob, carol];

    // Alice speaks; both receivers hold her vouch for it before the forgeries come: each has
    // delivered a new frame before its vouch and every such frame is confirmed (waiting for
    // one more confirmation would race the vouch of an earlier frame of Bob's or Carol's).
    let pending = |p: &Party| {
        let s = p.meeting.stats();
        (s.media_pending, s.media_confirmed)
    };
    let before_pending: Vec<u64> = receivers.iter().map(|p| pending(p).0).collect();
    let genuine = "C12 Alice (genuine): the budget is approved";
    send(alice, genuine).await?;
    let ctr = bob
        .event(GUARD, |e| match e {
            MeetingEvent::Media(f) if f.payload == genuine.as_bytes() => Some(f.ctr),
            _ => None,
        })
        .await;
    poll_until(|| {
        receivers.iter().zip(&before_pending).all(|(p, b)| {
            let (pending, confirmed) = pending(p);
            pending > *b && confirmed == pending
        })
    })
    .await;
    let before: Vec<Stats> = receivers.iter().map(|p| p.meeting.stats()).collect();

    let forgeries = ctr.and_then(|ctr| forge(&insider, alice, ctr).ok());
    c12.forger_held_key = forgeries.is_some();
    if let Some(f) = forgeries {
        insider.meeting.send_raw(true, f.vouched).await?;
        insider.meeting.send_raw(true, f.poison).await?;
        insider.meeting.send_raw(false, f.chat).await?;
        c12.forgeries_sent = 3;
    }
    let named_in = |evs: &[MeetingEvent]| {
        evs.iter()
            .filter(|e| matches!(e, MeetingEvent::Forged(f) if &*f.sender_name == ALICE))
            .count() as u64
    };
    let named = |p: &Party| p.log.with(named_in);
    for (p, b) in receivers.iter().zip(&before) {
        p.log
            .wait(GUARD, |evs| (named_in(evs) >= 2).then_some(()))
            .await;
        poll_until(|| p.meeting.stats().refused_unvouched > b.refused_unvouched).await;
    }

    // Alice keeps talking: her real audio and chat still reach everyone, under her name.
    let after_media = "C12 Alice (genuine, after the forgeries): see you Tuesday";
    let after_chat = "C12 chat from Alice (genuine): minutes are in the drive";
    send(alice, after_media).await?;
    alice
        .meeting
        .send_data(DataKind::Chat, after_chat.as_bytes())
        .await?;
    for (p, b) in receivers.iter().zip(&before) {
        let media = p
            .event(GUARD, |e| match e {
                MeetingEvent::Media(f) if f.payload == after_media.as_bytes() => {
                    Some(&*f.sender_name == ALICE)
                }
                _ => None,
            })
            .await;
        let chat = p
            .event(GUARD, |e| match e {
                MeetingEvent::Data(d) if d.payload == after_chat.as_bytes() => {
                    Some(&*d.sender_name == ALICE)
                }
                _ => None,
            })
            .await;
        let s = p.meeting.stats();
        let delivered = p.log.with(|evs| {
            evs.iter()
                .filter(|e| match e {
                    MeetingEvent::Media(f) => crate::scan::contains(&f.payload, FORGED.as_bytes()),
                    MeetingEvent::Data(d) => crate::scan::contains(&d.payload, FORGED.as_bytes()),
                    _ => false,
                })
                .count() as u64
        });
        let r = Receiver {
            named_host: named(p),
            forged_delivered: delivered,
            refused_auth: s.refused_auth - b.refused_auth,
            refused_unvouched: s.refused_unvouched - b.refused_unvouched,
            genuine_media_after: media == Some(true),
            genuine_chat_after: chat == Some(true),
        };
        run.ev.c12.receivers.insert(p.name.clone(), r);
    }
    run.needles.media.extend([
        genuine.to_owned(),
        after_media.to_owned(),
        FORGED.to_owned(),
    ]);
    run.needles.data.push(after_chat.to_owned());
    run.needles.names.push(INSIDER.to_owned());

    let _ = insider.meeting.leave().await;
    converge(alice, &[bob, carol], 3).await;
    run.ev
        .c9
        .stages
        .push(stage("the insider left", &[alice, bob, carol]));
    Ok(())
}

/// Seals the three forgeries under the host's sending key: audio under the counter of her
/// genuine frame (which she has vouched for), audio under counter 2^64-1 (the poisoning that
/// would make every later frame of hers "too old"), and a chat line signed by the insider.
fn forge(insider: &Party, host: &Party, ctr: u64) -> Result<Forgeries, hush_client::MeetingError> {
    let victim = host
        .meeting
        .roster()
        .map(|r| r.my_index)
        .ok_or(hush_client::MeetingError::NotReady)?;
    let m = &insider.meeting;
    Ok(Forgeries {
        vouched: m.forge(
            victim,
            Forge::Media {
                ctr,
                payload: format!("{FORGED} Alice: the budget is cancelled").into_bytes(),
            },
        )?,
        poison: m.forge(
            victim,
            Forge::Media {
                ctr: u64::MAX,
                payload: format!("{FORGED} Alice: (silence me)").into_bytes(),
            },
        )?,
        chat: m.forge(
            victim,
            Forge::Data {
                ctr: ctr + 1000,
                kind: DataKind::Chat,
                payload: format!("{FORGED} chat from Alice: wire the money today").into_bytes(),
                signed: true,
            },
        )?,
    })
}
