//! The relay knowledge report (SPEC §7.6, claim C7): everything the relay holds or observed
//! about each meeting, written as text so anyone can read what an operator could hand over.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hush_wire::sframe_header::Header;
use hush_wire::{ParticipantId, RelayMode};

use crate::error::RelayError;
use crate::room::lock;

/// Distinct KIDs tracked per participant; more are counted together.
const MAX_KIDS: usize = 256;
/// Closed rooms kept in the report; older ones are forgotten.
const MAX_CLOSED_ROOMS: usize = 4096;
/// Departed participants listed per room; older ones are only counted, so a client that leaves
/// and rejoins forever cannot grow the relay's memory (SPEC §7.6).
pub(crate) const MAX_DEPARTED_PER_ROOM: usize = 1024;

/// Per-participant counters (atomics: updated on the forwarding path without locks).
#[derive(Debug)]
pub(crate) struct MemberStats {
    pub(crate) media_in: AtomicU64,
    pub(crate) media_bytes_in: AtomicU64,
    pub(crate) media_min: AtomicU64,
    pub(crate) media_max: AtomicU64,
    pub(crate) via_datagram: AtomicU64,
    pub(crate) via_stream: AtomicU64,
    pub(crate) media_out: AtomicU64,
    pub(crate) media_bytes_out: AtomicU64,
    pub(crate) drops: AtomicU64,
    pub(crate) control_in: AtomicU64,
    pub(crate) control_bytes_in: AtomicU64,
    pub(crate) blobs_all: AtomicU64,
    pub(crate) blobs_one: AtomicU64,
    pub(crate) blobs_relay: AtomicU64,
    pub(crate) control_out: AtomicU64,
}

impl Default for MemberStats {
    fn default() -> Self {
        MemberStats {
            media_in: AtomicU64::new(0),
            media_bytes_in: AtomicU64::new(0),
            media_min: AtomicU64::new(u64::MAX),
            media_max: AtomicU64::new(0),
            via_datagram: AtomicU64::new(0),
            via_stream: AtomicU64::new(0),
            media_out: AtomicU64::new(0),
            media_bytes_out: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            control_in: AtomicU64::new(0),
            control_bytes_in: AtomicU64::new(0),
            blobs_all: AtomicU64::new(0),
            blobs_one: AtomicU64::new(0),
            blobs_relay: AtomicU64::new(0),
            control_out: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct CtrRange {
    min: u64,
    max: u64,
    frames: u64,
}

/// KIDs and counter ranges seen from one sender.
#[derive(Debug, Default)]
pub(crate) struct KidBook {
    kids: BTreeMap<u64, CtrRange>,
    overflow: u64,
}

impl KidBook {
    pub(crate) fn record(&mut self, h: Header) {
        if let Some(r) = self.kids.get_mut(&h.kid) {
            r.min = r.min.min(h.ctr);
            r.max = r.max.max(h.ctr);
            r.frames += 1;
        } else if self.kids.len() < MAX_KIDS {
            let r = CtrRange {
                min: h.ctr,
                max: h.ctr,
                frames: 1,
            };
            self.kids.insert(h.kid, r);
        } else {
            self.overflow += 1;
        }
    }
}

/// What the relay knows about one participant of one room.
#[derive(Debug)]
pub(crate) struct ParticipantRecord {
    pub(crate) id: ParticipantId,
    pub(crate) remote: SocketAddr,
    pub(crate) joined: SystemTime,
    pub(crate) left: Mutex<Option<(SystemTime, String)>>,
    pub(crate) stats: MemberStats,
    /// Only kept when a report is asked for.
    pub(crate) kids: Option<Mutex<KidBook>>,
}

/// What the relay knows about one room.
#[derive(Debug)]
pub(crate) struct RoomRecord {
    pub(crate) name: String,
    pub(crate) opened: SystemTime,
    pub(crate) closed: Mutex<Option<SystemTime>>,
    pub(crate) participants: Mutex<Vec<Arc<ParticipantRecord>>>,
    /// Departed participants dropped from `participants` beyond [`MAX_DEPARTED_PER_ROOM`].
    pub(crate) forgotten: AtomicU64,
}

impl RoomRecord {
    /// A record for a room opened now.
    pub(crate) fn new(name: &str) -> Self {
        RoomRecord {
            name: name.to_owned(),
            opened: SystemTime::now(),
            closed: Mutex::new(None),
            participants: Mutex::new(Vec::new()),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Lists a participant who joined; beyond [`MAX_DEPARTED_PER_ROOM`] departed ones, the
    /// oldest departed record is dropped and counted instead.
    pub(crate) fn add_participant(&self, rec: Arc<ParticipantRecord>) {
        let mut list = lock(&self.participants);
        let departed = list.iter().filter(|p| lock(&p.left).is_some()).count();
        if departed >= MAX_DEPARTED_PER_ROOM
            && let Some(i) = list.iter().position(|p| lock(&p.left).is_some())
        {
            list.remove(i);
            self.forgotten.fetch_add(1, Relaxed);
        }
        list.push(rec);
    }
}

/// Static facts printed at the top of the report.
#[derive(Debug, Clone)]
pub(crate) struct RelayFacts {
    pub(crate) region: String,
    pub(crate) mode: RelayMode,
    pub(crate) listen: SocketAddr,
    pub(crate) started: SystemTime,
    pub(crate) dump_dir: Option<PathBuf>,
    pub(crate) cert_sha256: [u8; 32],
}

/// All room records, in opening order.
#[derive(Debug)]
pub(crate) struct ReportBook {
    pub(crate) path: PathBuf,
    facts: RelayFacts,
    rooms: Mutex<Vec<Arc<RoomRecord>>>,
}

impl ReportBook {
    pub(crate) fn new(path: PathBuf, facts: RelayFacts) -> Self {
        ReportBook {
            path,
            facts,
            rooms: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn add_room(&self, room: Arc<RoomRecord>) {
        let mut rooms = lock(&self.rooms);
        let closed = rooms.iter().filter(|r| lock(&r.closed).is_some()).count();
        if closed >= MAX_CLOSED_ROOMS
            && let Some(i) = rooms.iter().position(|r| lock(&r.closed).is_some())
        {
            rooms.remove(i);
        }
        rooms.push(room);
    }

    /// Renders the whole report as text.
    pub(crate) fn render(&self) -> String {
        let f = &self.facts;
        let mut o = String::new();
        let _ = writeln!(o, "hush relay knowledge report");
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "This is everything this relay holds or observed about meetings; it keeps nothing else."
        );
        let _ = writeln!(
            o,
            "Media frames and blobs are forwarded without being stored or read, except the SFrame"
        );
        let _ = writeln!(
            o,
            "header's key id (KID) and counter (CTR), counted below. Display names, chat and keys travel"
        );
        let _ = writeln!(o, "inside opaque blobs and are not known to the relay.");
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "relay: region {:?}, mode {}, listening on {}",
            f.region, f.mode, f.listen
        );
        let _ = writeln!(o, "certificate sha256: {}", hex::encode(f.cert_sha256));
        let _ = writeln!(o, "started: {}", utc(f.started));
        let _ = writeln!(o, "generated: {}", utc(SystemTime::now()));
        match &f.dump_dir {
            None => {
                let _ = writeln!(
                    o,
                    "payload dump: off (no payload bytes are written anywhere)"
                );
            }
            Some(d) => {
                let _ = writeln!(
                    o,
                    "payload dump: ON, every forwarded payload is written under {}",
                    d.display()
                );
            }
        }
        let rooms = lock(&self.rooms).clone();
        let _ = writeln!(o, "rooms: {}", rooms.len());
        for r in rooms {
            let _ = writeln!(o);
            let closed = *lock(&r.closed);
            let _ = writeln!(
                o,
                "room {:?}: opened {}, {}",
                r.name,
                utc(r.opened),
                closed.map_or("still open".to_owned(), |c| format!("closed {}", utc(c)))
            );
            let forgotten = r.forgotten.load(Relaxed);
            if forgotten > 0 {
                let _ = writeln!(
                    o,
                    "  ({forgotten} earlier departed participants are no longer kept: the relay keeps the last {MAX_DEPARTED_PER_ROOM})"
                );
            }
            for p in lock(&r.participants).iter() {
                render_participant(&mut o, p);
            }
        }
        o
    }

    /// Writes the report atomically (temporary file, then rename).
    pub(crate) fn write(&self) -> Result<(), RelayError> {
        let text = self.render();
        write_atomic(&self.path, text.as_bytes())
    }
}

fn render_participant(o: &mut String, p: &ParticipantRecord) {
    let s = &p.stats;
    let _ = writeln!(o, "  participant {}", p.id);
    let _ = writeln!(o, "    remote address: {}", p.remote);
    let left = lock(&p.left).clone();
    let _ = writeln!(
        o,
        "    joined: {}, {}",
        utc(p.joined),
        left.map_or("still present".to_owned(), |(t, why)| format!(
            "left: {} ({why})",
            utc(t)
        ))
    );
    let n = s.media_in.load(Relaxed);
    let sizes = if n == 0 {
        String::new()
    } else {
        format!(
            ", sizes {}..={} bytes",
            s.media_min.load(Relaxed),
            s.media_max.load(Relaxed)
        )
    };
    let _ = writeln!(
        o,
        "    media in: {n} frames, {} bytes{sizes} ({} by datagram, {} by stream)",
        s.media_bytes_in.load(Relaxed),
        s.via_datagram.load(Relaxed),
        s.via_stream.load(Relaxed),
    );
    let _ = writeln!(
        o,
        "    media out: {} frames, {} bytes, {} dropped (receiver too slow)",
        s.media_out.load(Relaxed),
        s.media_bytes_out.load(Relaxed),
        s.drops.load(Relaxed)
    );
    if let Some(k) = &p.kids {
        let k = lock(k);
        if k.kids.is_empty() {
            let _ = writeln!(o, "    sframe key ids: none seen");
        } else {
            let _ = writeln!(o, "    sframe key ids:");
            for (kid, r) in &k.kids {
                let _ = writeln!(
                    o,
                    "      kid 0x{kid:x}: ctr {}..={} ({} frames)",
                    r.min, r.max, r.frames
                );
            }
        }
        if k.overflow > 0 {
            let _ = writeln!(o, "      (+{} frames under further key ids)", k.overflow);
        }
    }
    let _ = writeln!(
        o,
        "    control in: {} messages, {} bytes (blobs: {} to all, {} to one participant, {} to the relay)",
        s.control_in.load(Relaxed),
        s.control_bytes_in.load(Relaxed),
        s.blobs_all.load(Relaxed),
        s.blobs_one.load(Relaxed),
        s.blobs_relay.load(Relaxed),
    );
    let _ = writeln!(
        o,
        "    control out: {} messages",
        s.control_out.load(Relaxed)
    );
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RelayError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let err = |source| RelayError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub(crate) fn utc(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_known_dates() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_583_020_800_123);
        assert_eq!(utc(t), "2020-03-01T00:00:00.123Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
        assert_eq!(utc(t), "2000-02-29T01:01:01.000Z");
    }

    #[test]
    fn kid_book_tracks_ranges() {
        let mut k = KidBook::default();
        for ctr in [5, 3, 9] {
            k.record(Header { kid: 7, ctr });
        }
        let r = k.kids[&7];
        assert_eq!((r.min, r.max, r.frames), (3, 9, 3));
    }

    fn participant(id: u64, departed: bool) -> Arc<ParticipantRecord> {
        let left = departed.then(|| (SystemTime::now(), "left".to_owned()));
        Arc::new(ParticipantRecord {
            id: ParticipantId(id),
            remote: SocketAddr::from(([127, 0, 0, 1], 4433)),
            joined: SystemTime::now(),
            left: Mutex::new(left),
            stats: MemberStats::default(),
            kids: None,
        })
    }

    /// A client that leaves and rejoins forever must not grow the report (or the relay's memory)
    /// without bound: departed records beyond the cap are dropped oldest first and counted.
    #[test]
    fn departed_participants_are_capped_per_room() {
        let room = RoomRecord::new("r");
        room.add_participant(participant(0, false));
        let extra = 10;
        for id in 1..=(MAX_DEPARTED_PER_ROOM as u64 + extra) {
            room.add_participant(participant(id, true));
        }
        let list = lock(&room.participants);
        assert_eq!(list.len(), MAX_DEPARTED_PER_ROOM + 1);
        assert_eq!(room.forgotten.load(Relaxed), extra);
        // The one still present is kept; the oldest departed ones went first.
        assert_eq!(list[0].id, ParticipantId(0));
        assert_eq!(list[1].id, ParticipantId(extra + 1));
    }
}
