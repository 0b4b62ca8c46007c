//! The main meeting: admission of the two guests, the first shared epoch (C1, C4, C9), and the
//! data messages (C5).

use std::collections::BTreeMap;

use bytes::BytesMut;
use hush_client::{AdmissionRequest, Admit, ClientRole, DataKind, Meeting, MeetingEvent};

use super::{ALICE, BOB, CAROL, MAIN_ROOM, Run};
use crate::claims::c09_codes::Stage;
use crate::world::{GUARD, Party, World};

/// The host role the demo plays: it answers every join request itself.
pub fn host_role() -> ClientRole {
    ClientRole::Host {
        admit: Admit::Ask,
        admit_connectors: false,
    }
}

/// True when `m` holds the keys of an epoch whose roster has `n` members.
pub fn keyed(m: &Meeting, n: usize) -> bool {
    match (m.roster(), m.epoch()) {
        (Some(r), Some(e)) => r.members.len() == n && r.epoch == e && m.security_code().is_some(),
        _ => false,
    }
}

/// Waits for the host's join request from `joiner` and answers it.
pub async fn answer(host: &Party, joiner: &Party, yes: bool) -> Option<AdmissionRequest> {
    let id = joiner.meeting.relay_id()?;
    let req = host
        .event(GUARD, |e| match e {
            MeetingEvent::AdmissionRequest(r) if r.relay_id == id => Some(r.clone()),
            _ => None,
        })
        .await?;
    host.meeting.admit(id, yes).await.ok()?;
    Some(req)
}

/// Waits until the host and `others` all hold the host's epoch with `n` members.
pub async fn converge(host: &Party, others: &[&Party], n: usize) -> bool {
    if !host.until(|m| keyed(m, n)).await {
        return false;
    }
    let epoch = host.meeting.epoch();
    for p in others {
        if !p.until(|m| keyed(m, n) && m.epoch() == epoch).await {
            return false;
        }
    }
    true
}

/// Every party's security code now.
pub fn stage(after: &str, parties: &[&Party]) -> Stage {
    Stage {
        after: after.to_owned(),
        codes: parties.iter().map(|p| (p.name.clone(), p.code())).collect(),
    }
}

/// Seals and sends one media frame.
pub async fn send(p: &Party, text: &str) -> anyhow::Result<()> {
    p.meeting
        .send_media(&mut BytesMut::from(text.as_bytes()))
        .await?;
    Ok(())
}

async fn guest(world: &World, host: &Party, name: &str) -> anyhow::Result<Party> {
    let g = Party::join(world.e2ee.config(MAIN_ROOM, name, ClientRole::Guest)?).await?;
    if answer(host, &g, true).await.is_none() {
        anyhow::bail!("the host never saw {name}'s join request");
    }
    Ok(g)
}

/// The host opens the meeting; Bob and Carol join and are admitted.
pub async fn start(world: &World) -> anyhow::Result<(Party, Party, Party)> {
    let alice = Party::join(world.e2ee.config(MAIN_ROOM, ALICE, host_role())?).await?;
    alice.until(|m| keyed(m, 1)).await;
    let bob = guest(world, &alice, BOB).await?;
    converge(&alice, &[&bob], 2).await;
    let carol = guest(world, &alice, CAROL).await?;
    Ok((alice, bob, carol))
}

/// The first epoch with all three: codes and statuses (C4, C9), and the known plaintext (C1).
pub async fn first_epoch(run: &mut Run) -> anyhow::Result<()> {
    let (alice, bob, carol) = (&run.alice, &run.bob, &run.carol);
    converge(alice, &[bob, carol], 3).await;
    for p in [alice, bob, carol] {
        p.until(|m| m.e2ee_status().is_some()).await;
    }
    run.ev
        .c9
        .stages
        .push(stage("both guests were admitted", &[alice, bob, carol]));
    let c4 = &mut run.ev.c4;
    c4.relay_mode = alice
        .meeting
        .relay_mode()
        .map_or_else(|| "unknown".to_owned(), |m| m.to_string());
    for p in [alice, bob, carol] {
        c4.statuses.insert(p.name.clone(), p.status());
        c4.codes.insert(p.name.clone(), p.code());
    }

    run.say("C1/C4: the host sends a known plaintext; every guest sends a frame too");
    let p1 = "C1 known plaintext: the board meets on Tuesday at nine".to_owned();
    send(alice, &p1).await?;
    for p in [bob, carol] {
        let got = p.media_with(p1.as_bytes()).await.is_some();
        run.ev.c1.e2ee_clients_decrypted.insert(p.name.clone(), got);
    }
    let others = [
        (bob, "C4 frame from Bob: my slides are ready"),
        (carol, "C4 frame from Carol: budget approved at 1.2M"),
    ];
    for (p, text) in others {
        send(p, text).await?;
        alice.media_with(text.as_bytes()).await;
        run.needles.media.push(text.to_owned());
    }
    run.ev.c1.plaintext = p1.clone();
    run.needles.media.push(p1);
    Ok(())
}

/// Chat, a reaction and a poll, each to everyone else (C5).
pub async fn data_messages(run: &mut Run) -> anyhow::Result<()> {
    run.say("C5: chat, a reaction and a poll, end-to-end encrypted");
    let msgs = [
        (
            "chat",
            DataKind::Chat,
            0,
            "C5 chat: lunch after the meeting?",
        ),
        ("reaction", DataKind::Reaction, 1, "C5 reaction 👍 from Bob"),
        (
            "poll",
            DataKind::Poll,
            2,
            "C5 poll: move the offsite to May? yes/no",
        ),
    ];
    let parties = [&run.alice, &run.bob, &run.carol];
    for (label, kind, from, text) in msgs {
        parties[from]
            .meeting
            .send_data(kind, text.as_bytes())
            .await?;
        let mut got = BTreeMap::new();
        for (i, p) in parties.iter().enumerate() {
            if i == from {
                continue;
            }
            let ok = p
                .event(GUARD, |e| match e {
                    MeetingEvent::Data(d) if d.kind == kind && d.payload == text.as_bytes() => {
                        Some(())
                    }
                    _ => None,
                })
                .await
                .is_some();
            got.insert(p.name.clone(), ok);
        }
        run.ev.c5.data_delivered.insert(label.to_owned(), got);
        run.needles.data.push(text.to_owned());
    }
    Ok(())
}
