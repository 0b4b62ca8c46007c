//! The phases around the main meeting: a connector (C2), a leave with kept keys (C11), denied
//! and locked-out joiners (C10), region policies (C6) and the transport-mode meeting (C1).

use std::time::{Duration, Instant};

use hush_client::net::NetError;
use hush_client::{ClientRole, MeetingError, MeetingEvent, Refusal};
use hush_connector::udp::Reassembler;
use hush_connector::{Connector, SinkConfig};
use hush_group::{GroupError, Role};
use hush_wire::ParticipantId;

use super::main_room::{answer, converge, keyed, send, stage};
use super::{MAIN_ROOM, Run};
use crate::claims::c01_transport_vs_e2ee::TRANSPORT_STATUS;
use crate::claims::c02_connector::off_status;
use crate::scan::{self, hex_excerpt, quote};
use crate::world::{FAR_REGION, GUARD, Party, REGION};

const CONNECTOR: &str = "phone-gateway";

/// C2: the host admits a connector explicitly; it bridges to a UDP sink; it leaves.
pub async fn connector(run: &mut Run) -> anyhow::Result<()> {
    run.say("C2: the host admits a connector to a legacy phone gateway, which then leaves");
    let sink = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let sink_addr = sink.local_addr()?;
    let (alice, bob, carol) = (&run.alice, &run.bob, &run.carol);
    run.ev.c2.connector = CONNECTOR.to_owned();
    run.ev.c2.code_before = alice.code();
    // The real bridge (hush-connector): it joins as a connector and re-emits every payload it
    // decrypts to the legacy endpoint, in the clear.
    let sinks = SinkConfig {
        udp: Some(sink_addr),
        ..SinkConfig::default()
    };
    let (bridge, events) = Connector::join(
        run.world
            .e2ee
            .config(MAIN_ROOM, CONNECTOR, ClientRole::Connector)?,
        sinks,
    )
    .await?;
    let gw = Party::from_events(CONNECTOR.to_owned(), bridge.meeting().clone(), events);
    if let Some(req) = answer(alice, &gw, true).await {
        run.ev.c2.requested_role = match req.role {
            Role::Connector => "connector".to_owned(),
            other => format!("{other:?}").to_lowercase(),
        };
        run.ev.c2.admitted_explicitly = true;
    }
    converge(alice, &[bob, carol, &gw], 4).await;
    let off = off_status(CONNECTOR);
    for p in [alice, bob, carol] {
        p.until(|m| m.e2ee_status().is_some_and(|s| s.to_string() == off))
            .await;
        run.ev
            .c2
            .status_with_connector
            .insert(p.name.clone(), p.status());
    }
    run.ev.c2.code_with = alice.code();
    run.ev
        .c9
        .stages
        .push(stage("the connector was admitted", &[alice, bob, carol]));
    let text = "C2 to the phone bridge: dial-in participants hear this";
    run.ev.c2.plaintext = text.to_owned();
    send(alice, text).await?;
    // What the legacy endpoint receives: the connector's datagrams (SPEC §13.3), reassembled.
    if let Some(payload) = legacy_endpoint_receive(&sink, text.as_bytes()).await {
        run.ev.c2.sink_received = String::from_utf8_lossy(&payload).into_owned();
        run.ev.c2.sink_got_plaintext = payload == text.as_bytes();
    }
    run.needles.names.push(CONNECTOR.to_owned());
    let _ = bridge.stop().await;
    converge(alice, &[bob, carol], 3).await;
    for p in [alice, bob, carol] {
        p.until(|m| m.e2ee_status().is_some_and(|s| s.to_string() == "e2ee: on"))
            .await;
        run.ev
            .c2
            .status_after_leave
            .insert(p.name.clone(), p.status());
    }
    run.ev.c2.code_after = alice.code();
    run.ev
        .c9
        .stages
        .push(stage("the connector left", &[alice, bob, carol]));
    Ok(())
}

/// Reads the connector's datagrams at the legacy endpoint until a reassembled payload contains
/// `needle` (other frames of the meeting may arrive first), at most [`GUARD`].
async fn legacy_endpoint_receive(sink: &tokio::net::UdpSocket, needle: &[u8]) -> Option<Vec<u8>> {
    let mut reassembler = Reassembler::new();
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let (n, _) = tokio::time::timeout_at(deadline, sink.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        if let Ok(Some(frame)) = reassembler.push(&buf[..n])
            && scan::contains(&frame.payload, needle)
        {
            return Some(frame.payload);
        }
    }
}

/// C11: Carol leaves but keeps her keys and keeps listening; Alice keeps sending.
pub async fn leave(run: &mut Run) -> anyhow::Result<()> {
    run.say("C11: a guest leaves but keeps its keys; the host keeps sending");
    let (alice, bob, carol) = (&run.alice, &run.bob, &run.carol);
    let epoch = carol.meeting.epoch().unwrap_or(0);
    let t0 = Instant::now();
    carol.meeting.leave_keeping_keys().await?;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    let later = |p: &Party| {
        p.media_seen(b"C11 frame")
            .iter()
            .filter(|(e, _)| *e > epoch)
            .count()
    };
    while sent < 1500 && later(bob) < 20 {
        tick.tick().await;
        let us = t0.elapsed().as_micros();
        send(alice, &format!("C11 frame {sent} sent at {us} us")).await?;
        sent += 1;
    }
    let last = format!("C11 frame {} sent", sent - 1);
    bob.media_with(last.as_bytes()).await;
    let opened = carol.media_seen(b"C11 frame");
    let exposure_us = opened
        .iter()
        .filter_map(|(_, p)| {
            let s = String::from_utf8_lossy(p);
            s.split(" sent at ")
                .nth(1)?
                .trim_end_matches(" us")
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    let c11 = &mut run.ev.c11;
    c11.departed = carol.name.clone();
    c11.epoch_at_leave = epoch;
    c11.frames_sent = sent;
    c11.frames_in_later_epochs = later(bob) as u64;
    c11.departed_opened = opened.len() as u64;
    c11.departed_opened_later_epochs = opened.iter().filter(|(e, _)| *e > epoch).count() as u64;
    c11.exposure_window_ms = exposure_us as f64 / 1000.0;
    run.needles.media.push("C11 frame".to_owned());
    let _ = carol.meeting.leave().await;
    converge(alice, &[bob], 2).await;
    run.ev.c9.stages.push(stage("Carol left", &[alice, bob]));
    Ok(())
}

/// Media frames the relay's live report says it forwarded to `id`.
fn media_out(report: &str, id: u64) -> u64 {
    let head = format!("participant {}", ParticipantId(id));
    let Some(start) = report.find(&head) else {
        return 0;
    };
    report[start..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("media out: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// C10: the host denies Eve; then locks the meeting and Mallet is refused.
pub async fn admission(run: &mut Run) -> anyhow::Result<()> {
    run.say("C10: the host denies a joiner, then locks the meeting");
    let (alice, bob) = (&run.alice, &run.bob);
    let eve = Party::join(
        run.world
            .e2ee
            .config(MAIN_ROOM, "Eve Uninvited", ClientRole::Guest)?,
    )
    .await?;
    let c10 = &mut run.ev.c10;
    c10.denied = eve.name.clone();
    // While her request waits, Eve is in the relay's room: the frames reach her (she is
    // denied after they did, so her leaving cannot race them).
    let eve_id = eve.meeting.relay_id().unwrap_or(0);
    let seen = alice
        .event(GUARD, |e| match e {
            MeetingEvent::AdmissionRequest(r) if r.relay_id == eve_id => Some(()),
            _ => None,
        })
        .await;
    c10.host_saw_request = seen.is_some();
    let text = "C10 before denying Eve: the numbers are final";
    for _ in 0..3 {
        send(alice, text).await?;
    }
    c10.admitted_received = bob.media_with(text.as_bytes()).await.is_some();
    let handle = run.world.e2ee.handle.clone();
    let reached = || media_out(&handle.report_text().unwrap_or_default(), eve_id);
    let deadline = tokio::time::Instant::now() + GUARD;
    while reached() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c10.denied_frames_reached = reached();
    if seen.is_some() && alice.meeting.admit(eve_id, false).await.is_ok() {
        c10.host_denied = true;
    }
    c10.denied_got_key = eve.meeting.epoch().is_some();
    c10.denied_frames_opened = eve.media_seen(b"C10").len() as u64;

    alice.meeting.lock(true).await?;
    converge(alice, &[bob], 2).await;
    run.ev
        .c9
        .stages
        .push(stage("the host locked the meeting", &[alice, bob]));
    let mallet = Party::join(
        run.world
            .e2ee
            .config(MAIN_ROOM, "Mallet Late", ClientRole::Guest)?,
    )
    .await?;
    let mallet_id = mallet.meeting.relay_id().unwrap_or(0);
    let c10 = &mut run.ev.c10;
    c10.locked_out = mallet.name.clone();
    c10.locked_refused_by_host = alice
        .event(GUARD, |e| match e {
            MeetingEvent::Refused {
                from,
                reason: Refusal::Group(GroupError::Locked),
            } if *from == mallet_id => Some(()),
            _ => None,
        })
        .await
        .is_some();
    let text = "C10 after the lock: nobody new gets in";
    send(alice, text).await?;
    bob.media_with(text.as_bytes()).await;
    c10.locked_got_key = mallet.meeting.epoch().is_some();
    c10.locked_frames_opened = mallet.media_seen(b"C10").len() as u64;
    run.needles.media.extend([
        "C10 before denying Eve".to_owned(),
        "C10 after the lock".to_owned(),
    ]);
    run.needles
        .names
        .extend([eve.name.clone(), mallet.name.clone()]);
    let _ = eve.meeting.leave().await;
    let _ = mallet.meeting.leave().await;
    Ok(())
}

/// Room the refusing client would have joined.
pub const GEO_REFUSED_ROOM: &str = "geo-us-only";

/// C6: a client allowing only us-east refuses the eu-west relay; one allowing eu-west joins.
pub async fn geofence(run: &mut Run) -> anyhow::Result<()> {
    run.say("C6: region policies against a relay in eu-west");
    let c6 = &mut run.ev.c6;
    c6.relay_region = REGION.to_owned();
    c6.refusing_policy = vec!["us-east".to_owned()];
    let mut cfg = run
        .world
        .e2ee
        .config(GEO_REFUSED_ROOM, "Geo Us", ClientRole::Guest)?;
    cfg.allow_regions = Some(c6.refusing_policy.clone());
    match Party::join(cfg).await {
        Ok(p) => {
            c6.refusing_error = "joined (no refusal)".to_owned();
            let _ = p.meeting.leave().await;
        }
        Err(e) => {
            c6.refused_by_region_policy = matches!(
                e.downcast_ref::<MeetingError>(),
                Some(MeetingError::Net(NetError::RegionRefused { .. }))
            );
            c6.refusing_error = e.root_cause().to_string();
        }
    }
    let report = run.world.e2ee.handle.report_text().unwrap_or_default();
    c6.joins_from_refusing_client = report
        .matches(&format!("room {GEO_REFUSED_ROOM:?}"))
        .count();
    c6.allowed_policy = vec![REGION.to_owned()];
    let mut cfg = run
        .world
        .e2ee
        .config("geo-eu", "Geo Eu", super::main_room::host_role())?;
    cfg.allow_regions = Some(c6.allowed_policy.clone());
    if let Ok(p) = Party::join(cfg).await {
        c6.allowed_joined = p.until(|m| keyed(m, 1)).await;
        c6.reported_region = p.meeting.relay_region();
        c6.reported_relay = p.meeting.relay_addr().to_string();
        let _ = p.meeting.leave().await;
    }
    cascade(run).await
}

/// C6 across a cascade: the eu-west relay and the us-east one, linked.
async fn cascade(run: &mut Run) -> anyhow::Result<()> {
    run.say("C6: the eu-west relay in a cascade with a relay in us-east");
    let (near, far) = (&run.world.e2ee, &run.world.far);
    let linked = async {
        while near.handle.peer_links().is_empty() || far.handle.peer_links().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(GUARD, linked).await;
    let c6 = &mut run.ev.c6;
    c6.cascade_regions = vec![REGION.to_owned(), FAR_REGION.to_owned()];
    c6.fenced_policy = vec![REGION.to_owned()];
    let mut cfg = near.config("geo-fenced", "Geo Host", super::main_room::host_role())?;
    cfg.allow_regions = Some(c6.fenced_policy.clone());
    let host = Party::join(cfg).await?;
    host.until(|m| keyed(m, 1)).await;
    // The far relay knows the room (and its host's policy) once the link announced it.
    let announced = async {
        while !far
            .handle
            .peer_links()
            .iter()
            .any(|l| l.rooms.iter().any(|r| r == "geo-fenced"))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(GUARD, announced).await;
    match Party::join(far.config("geo-fenced", "Geo Far", ClientRole::Guest)?).await {
        Ok(p) => {
            c6.far_join_error = "joined (no refusal)".to_owned();
            let _ = p.meeting.leave().await;
        }
        Err(e) => {
            c6.far_refused_by_geofence = matches!(
                e.downcast_ref::<MeetingError>(),
                Some(MeetingError::Net(NetError::Refused { code, reason }))
                    if *code == hush_wire::ErrorCode::REGION_REFUSED && reason.contains(REGION)
            );
            c6.far_join_error = e.root_cause().to_string();
        }
    }
    let _ = host.meeting.leave().await;
    let host =
        Party::join(near.config("geo-open", "Geo Open Host", super::main_room::host_role())?)
            .await?;
    let guest = Party::join(far.config("geo-open", "Geo Open Far", ClientRole::Guest)?).await?;
    answer(&host, &guest, true).await;
    let both = host.until(|m| keyed(m, 2)).await && guest.until(|m| keyed(m, 2)).await;
    c6.open_joined = both && host.code() == guest.code();
    guest.until(|m| m.carriers().len() == 2).await;
    c6.open_carriers = guest.meeting.carriers();
    let _ = guest.meeting.leave().await;
    let _ = host.meeting.leave().await;
    Ok(())
}

/// C1, transport side: the same plaintext through a relay whose key service issued the keys.
pub async fn transport(run: &mut Run) -> anyhow::Result<()> {
    run.say("C1: the same plaintext in a transport-mode meeting (keys issued by the relay)");
    let r = &run.world.transport;
    let room = "transport-meeting";
    // Relay-issued keys only for clients that ask for them (SPEC §12.5): like `--allow-transport`.
    let opt_in = |name: &str| -> anyhow::Result<hush_client::MeetingConfig> {
        let mut c = r.config(room, name, ClientRole::Guest)?;
        c.allow_transport = true;
        Ok(c)
    };
    let tara = Party::join(opt_in("Tara Transport")?).await?;
    let tom = Party::join(opt_in("Tom Transport")?).await?;
    tara.meeting.wait_ready(GUARD).await?;
    tom.meeting.wait_ready(GUARD).await?;
    let text = run.ev.c1.plaintext.clone();
    send(&tara, &text).await?;
    let c1 = &mut run.ev.c1;
    c1.transport_guest_decrypted = tom.media_with(text.as_bytes()).await.is_some();
    tom.until(|m| {
        m.e2ee_status()
            .is_some_and(|s| s.to_string() == TRANSPORT_STATUS)
    })
    .await;
    c1.transport_status = tom.status();
    let _ = tara.meeting.leave().await;
    let _ = tom.meeting.leave().await;
    run.world.key_service.flush();
    let dir = run.world.dir.path().join("transport-dump");
    let mut records = 0;
    for (path, _) in scan::read_tree(&dir) {
        if path
            .extension()
            .is_some_and(|e| e == hush_keyservice::decrypted_dump::EXTENSION)
            && let Ok(recs) = hush_relay::dump::read_records(&path)
        {
            records += recs.len();
            if let Some(rec) = recs.iter().find(|r| scan::contains(r, text.as_bytes())) {
                c1.transport_relay_read_plaintext = true;
                c1.transport_relay_excerpt =
                    format!("{} = {}", hex_excerpt(rec, 12), quote(rec, 40));
            }
        }
    }
    c1.transport_relay_decrypted_records = records;
    Ok(())
}
