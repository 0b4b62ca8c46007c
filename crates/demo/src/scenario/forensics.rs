//! After the meeting: Bob's local recording (C5, C8), then the relays are stopped (dumps
//! flushed, final reports written) and everything they kept is searched (C1, C4, C5, C7, C8).

use hush_client::MeetingEvent;
use hush_recording::{RecordKind, Recorder, RecordingError, RecordingKey};
use hush_wire::ParticipantId;

use super::{MAIN_ROOM, Run};
use crate::claims::Evidence;
use crate::claims::c05_features::Row;
use crate::scan::{self, hex_excerpt};

type Item = (RecordKind, String, Vec<u8>);

/// What Bob received, as recording items.
fn received(run: &Run) -> Vec<Item> {
    run.bob.log.with(|evs| {
        evs.iter()
            .filter_map(|e| match e {
                MeetingEvent::Media(f) => Some((
                    RecordKind::Media,
                    f.sender_name.to_string(),
                    f.payload.to_vec(),
                )),
                MeetingEvent::Data(d) => Some((
                    RecordKind::Data(d.kind.to_u8()),
                    d.sender_name.to_string(),
                    d.payload.to_vec(),
                )),
                _ => None,
            })
            .collect()
    })
}

/// Bob records what he received, locally, under a fresh key; then it is read back.
fn record(run: &mut Run) -> anyhow::Result<()> {
    let items = received(run);
    let path = run.world.dir.path().join("bob-local-recording.hushrec");
    let key = RecordingKey::generate()?;
    let mut rec = Recorder::create(&path, &key)?;
    for (i, (kind, sender, payload)) in items.iter().enumerate() {
        rec.record(*kind, i as u64, sender, payload)?;
    }
    rec.finish()?;
    let bytes = std::fs::read(&path)?;
    let needles = run.needles.all_bytes();
    let file = [(path.clone(), bytes.clone())];
    let hits = scan::hits(&file, &needles);
    let c8 = &mut run.ev.c8;
    c8.recorder = run.bob.name.clone();
    c8.recording_bytes = bytes.len() as u64;
    c8.recording_excerpt = hex_excerpt(&bytes, 16);
    c8.recording_plaintext_hits = hits;
    if let Ok(r) = hush_recording::open(&path, &key) {
        c8.entries_reopened = r.entries.len();
        c8.entries_match = r.finished
            && r.entries.len() == items.len()
            && r.entries
                .iter()
                .zip(&items)
                .all(|(e, (k, s, p))| e.kind == *k && e.sender == *s && e.payload == *p);
    }
    match hush_recording::open(&path, &RecordingKey::generate()?) {
        Ok(_) => c8.wrong_key_error = "opened with another key!".to_owned(),
        Err(e) => {
            c8.wrong_key_refused = matches!(e, RecordingError::WrongKey);
            c8.wrong_key_error = e.to_string();
        }
    }
    let c5 = &mut run.ev.c5;
    c5.recording_entries = run.ev.c8.entries_reopened;
    c5.recording_plaintext_hits = hits;
    c5.recording_reopened = run.ev.c8.entries_match;
    Ok(())
}

fn first_record(path: &std::path::Path) -> String {
    hush_relay::dump::read_records(path)
        .ok()
        .and_then(|r| r.into_iter().next())
        .map_or_else(|| "(none)".to_owned(), |r| hex_excerpt(&r, 16))
}

/// A few lines of the report: the header facts and the host's entry in the main room.
fn excerpt(report: &str, host: u64) -> Vec<String> {
    let mut out: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("relay:"))
        .map(str::to_owned)
        .collect();
    let head = format!("participant {}", ParticipantId(host));
    if let Some(start) = report.find(&head) {
        out.extend(
            report[start..]
                .lines()
                .take(7)
                .map(|l| l.trim_end().to_owned()),
        );
    }
    out
}

/// Records, stops the relays, and searches what they kept.
pub async fn finish(mut run: Run) -> anyhow::Result<Evidence> {
    run.say("C8: a guest's local recording, encrypted at rest");
    record(&mut run)?;
    run.say("stopping the relays and searching everything they kept");
    let alice_id = run.alice.meeting.relay_id().unwrap_or(0);
    let _ = run.alice.meeting.leave().await;
    let _ = run.bob.meeting.leave().await;
    run.world.e2ee.stop().await;
    run.world.far.stop().await;
    run.world.transport.stop().await;

    let files = scan::read_tree(&run.world.e2ee.dump_dir);
    let bytes = scan::total_bytes(&files);
    let media: Vec<Vec<u8>> = run
        .needles
        .media
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let data: Vec<Vec<u8>> = run
        .needles
        .data
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let report = std::fs::read_to_string(&run.world.e2ee.report_file).unwrap_or_default();
    let host_media = hush_relay::dump::dump_path(
        &run.world.e2ee.dump_dir,
        MAIN_ROOM,
        ParticipantId(alice_id),
        "media",
    );
    let ev = &mut run.ev;

    ev.c1.e2ee_relay_bytes_received = bytes;
    ev.c1.e2ee_relay_plaintext_hits = scan::hits(&files, &[ev.c1.plaintext.as_bytes().to_vec()]);
    ev.c1.e2ee_relay_excerpt = first_record(&host_media);
    let transport_files = scan::read_tree(&run.world.transport.dump_dir);
    ev.c1.transport_frame_excerpt = transport_files
        .iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "media"))
        .map_or_else(|| "(none)".to_owned(), |(p, _)| first_record(p));

    // The relay's own report states its key mode: a key service hook makes it `transport`.
    ev.c4.key_service_attached = !report
        .lines()
        .any(|l| l.starts_with("relay:") && l.contains(", mode e2ee,"));
    ev.c4.plaintexts_checked = media.len();
    ev.c4.relay_bytes_received = bytes;
    ev.c4.plaintext_hits = scan::hits(&files, &media);

    ev.c5.table = crate::features::FEATURES
        .iter()
        .map(|f| Row {
            feature: f.feature.to_owned(),
            e2ee: f.e2ee.as_str().to_owned(),
            needs_server_plaintext: f.needs_server_plaintext,
        })
        .collect();
    let with_report = [
        files.clone(),
        vec![(
            run.world.e2ee.report_file.clone(),
            report.clone().into_bytes(),
        )],
    ]
    .concat();
    ev.c5.data_in_relay_hits = scan::hits(&with_report, &data);

    ev.c7.report_bytes = report.len();
    ev.c7.excerpt = excerpt(&report, alice_id);
    ev.c7.lists_participant_ids = report.contains("participant ");
    ev.c7.lists_addresses = report.contains("remote address: 127.0.0.1:");
    ev.c7.lists_kids = report.contains("kid 0x");
    ev.c7.lists_counters = report.contains(": ctr ");
    ev.c7.names_found = scan::found_in(report.as_bytes(), &run.needles.names);
    ev.c7.chat_found = scan::found_in(report.as_bytes(), &run.needles.data);
    ev.c7.plaintext_found = scan::found_in(report.as_bytes(), &run.needles.media);

    ev.c8.relay_bytes_received = bytes;
    ev.c8.relay_plaintext_hits = scan::hits(&files, &run.needles.all_bytes());
    Ok(run.ev)
}
