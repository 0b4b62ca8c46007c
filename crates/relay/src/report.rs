//! The relay knowledge report (SPEC §7.6, claim C7): everything the relay holds or observed
//! about each meeting, written as text so anyone can read what an operator could hand over.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use hush_wire::sframe_header::Header;
use hush_wire::sync::lock;
use hush_wire::{ParticipantId, RelayMode};

use crate::error::RelayError;

/// Distinct KIDs tracked per participant; more are counted together.
const MAX_KIDS: usize = 256;
/// Distinct KIDs tracked across all participants kept in the report; more are counted with
/// their participant's further key ids.
pub(crate) const MAX_KIDS_TOTAL: usize = 16_384;
/// Closed rooms kept in the report; older ones are forgotten (and counted).
const MAX_CLOSED_ROOMS: usize = 4096;
/// Departed participants listed per room; older ones are only counted, so a client that leaves
/// and rejoins forever cannot grow the relay's memory (SPEC §7.6).
pub(crate) const MAX_DEPARTED_PER_ROOM: usize = 1024;
/// Departed participants listed across all rooms; the oldest departures are dropped first and
/// counted, so rooms kept open by one connection each cannot multiply the per-room cap.
pub(crate) const MAX_DEPARTED_TOTAL: usize = 4096;

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
    /// KIDs held by every book of the report ([`MAX_KIDS_TOTAL`]); given back on drop.
    total: Option<Arc<AtomicUsize>>,
}

impl KidBook {
    /// Takes one KID of the report-wide budget, if any is left.
    fn take_one(&self) -> bool {
        self.total.as_ref().is_none_or(|t| {
            t.fetch_update(Relaxed, Relaxed, |n| (n < MAX_KIDS_TOTAL).then_some(n + 1))
                .is_ok()
        })
    }

    pub(crate) fn record(&mut self, h: Header) {
        if let Some(r) = self.kids.get_mut(&h.kid) {
            r.min = r.min.min(h.ctr);
            r.max = r.max.max(h.ctr);
            r.frames += 1;
        } else if self.kids.len() < MAX_KIDS && self.take_one() {
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

impl Drop for KidBook {
    fn drop(&mut self) {
        if let Some(t) = &self.total {
            t.fetch_sub(self.kids.len(), Relaxed);
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

    /// Drops `p` from the list (if still there) and counts it; true if it was there.
    fn forget(&self, p: &Arc<ParticipantRecord>) -> bool {
        let mut list = lock(&self.participants);
        let Some(i) = list.iter().position(|x| Arc::ptr_eq(x, p)) else {
            return false;
        };
        list.remove(i);
        self.forgotten.fetch_add(1, Relaxed);
        true
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

/// A departure, oldest first in [`ReportBook`]'s queue. Weak: a record already dropped by a
/// per-room or closed-room cap is not kept alive by the queue.
type Departure = (Weak<RoomRecord>, Weak<ParticipantRecord>);

/// All room records, in opening order.
#[derive(Debug)]
pub(crate) struct ReportBook {
    pub(crate) path: PathBuf,
    facts: RelayFacts,
    rooms: Mutex<Vec<Arc<RoomRecord>>>,
    /// Every departed participant still listed is in this queue (with stale entries for ones
    /// dropped otherwise): at most [`MAX_DEPARTED_TOTAL`] long.
    departures: Mutex<VecDeque<Departure>>,
    /// KIDs held by all participants' books ([`MAX_KIDS_TOTAL`]).
    kids_total: Arc<AtomicUsize>,
    /// Departed participants dropped by the report-wide cap.
    forgotten_total: AtomicU64,
    /// Closed rooms dropped by [`MAX_CLOSED_ROOMS`].
    rooms_forgotten: AtomicU64,
    /// The cascade section (SPEC §15): this relay's peer links and directory, as last set.
    cluster: Mutex<String>,
}

impl ReportBook {
    pub(crate) fn new(path: PathBuf, facts: RelayFacts) -> Self {
        ReportBook {
            path,
            facts,
            rooms: Mutex::new(Vec::new()),
            departures: Mutex::new(VecDeque::new()),
            kids_total: Arc::new(AtomicUsize::new(0)),
            forgotten_total: AtomicU64::new(0),
            rooms_forgotten: AtomicU64::new(0),
            cluster: Mutex::new(String::new()),
        }
    }

    /// A KID book drawing on the report-wide KID budget.
    pub(crate) fn kid_book(&self) -> KidBook {
        KidBook {
            kids: BTreeMap::new(),
            overflow: 0,
            total: Some(self.kids_total.clone()),
        }
    }

    pub(crate) fn add_room(&self, room: Arc<RoomRecord>) {
        let mut rooms = lock(&self.rooms);
        let closed = rooms.iter().filter(|r| lock(&r.closed).is_some()).count();
        if closed >= MAX_CLOSED_ROOMS
            && let Some(i) = rooms.iter().position(|r| lock(&r.closed).is_some())
        {
            rooms.remove(i);
            self.rooms_forgotten.fetch_add(1, Relaxed);
        }
        rooms.push(room);
    }

    /// Notes that `p` (listed in `room`) departed; beyond [`MAX_DEPARTED_TOTAL`] departures
    /// the oldest departed record still listed anywhere is dropped and counted.
    pub(crate) fn departed(&self, room: &Arc<RoomRecord>, p: &Arc<ParticipantRecord>) {
        let mut q = lock(&self.departures);
        q.push_back((Arc::downgrade(room), Arc::downgrade(p)));
        while q.len() > MAX_DEPARTED_TOTAL {
            let Some((r, p)) = q.pop_front() else { break };
            if let (Some(r), Some(p)) = (r.upgrade(), p.upgrade())
                && r.forget(&p)
            {
                self.forgotten_total.fetch_add(1, Relaxed);
            }
        }
    }

    /// Renders the whole report as text.
    /// Sets the cascade section: what the relay's peer links and directory are now.
    pub(crate) fn set_cluster(&self, text: String) {
        *lock(&self.cluster) = text;
    }

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
        let _ = writeln!(
            o,
            "kept: the last {MAX_DEPARTED_PER_ROOM} departed participants per room and {MAX_DEPARTED_TOTAL} in all, {MAX_CLOSED_ROOMS} closed rooms, {MAX_KIDS} key ids per participant and {MAX_KIDS_TOTAL} in all"
        );
        let _ = writeln!(
            o,
            "no longer kept: {} departed participants (over the limit in all), {} closed rooms",
            self.forgotten_total.load(Relaxed),
            self.rooms_forgotten.load(Relaxed)
        );
        o.push_str(&lock(&self.cluster));
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
                    "  ({forgotten} earlier departed participants are no longer kept: the relay keeps the last {MAX_DEPARTED_PER_ROOM} per room and {MAX_DEPARTED_TOTAL} in all)"
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
#[allow(clippy::unwrap_used)]
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

    fn book() -> ReportBook {
        ReportBook::new(
            PathBuf::from("unused"),
            RelayFacts {
                region: String::new(),
                mode: RelayMode::E2ee,
                listen: SocketAddr::from(([127, 0, 0, 1], 4433)),
                started: SystemTime::now(),
                dump_dir: None,
                cert_sha256: [0; 32],
            },
        )
    }

    /// Rooms that one connection each keeps open cannot multiply the per-room cap: the whole
    /// report keeps the last [`MAX_DEPARTED_TOTAL`] departures, older ones dropped and counted.
    #[test]
    fn departed_participants_are_capped_across_rooms() {
        let b = book();
        let rooms: Vec<Arc<RoomRecord>> = (0..8)
            .map(|i| Arc::new(RoomRecord::new(&format!("r{i}"))))
            .collect();
        let mut id = 0;
        for r in &rooms {
            b.add_room(r.clone());
            id += 1;
            r.add_participant(participant(id, false)); // the one keeping it open
        }
        let per_room = 1000;
        for _ in 0..per_room {
            for r in &rooms {
                id += 1;
                let p = participant(id, true);
                r.add_participant(p.clone());
                b.departed(r, &p);
            }
        }
        let listed: usize = rooms.iter().map(|r| lock(&r.participants).len()).sum();
        assert_eq!(listed, MAX_DEPARTED_TOTAL + rooms.len());
        let dropped = (per_room * rooms.len() - MAX_DEPARTED_TOTAL) as u64;
        assert_eq!(b.forgotten_total.load(Relaxed), dropped);
        let text = b.render();
        assert!(text.contains(&format!("no longer kept: {dropped} departed participants")));
        assert_eq!(text.matches("  participant ").count(), listed);
    }

    #[test]
    fn kid_books_share_a_report_wide_cap() {
        let b = book();
        let mut books: Vec<KidBook> = (0..MAX_KIDS_TOTAL / MAX_KIDS + 2)
            .map(|_| b.kid_book())
            .collect();
        for k in &mut books {
            for kid in 0..MAX_KIDS as u64 + 5 {
                k.record(Header { kid, ctr: 0 });
            }
        }
        let kept: usize = books.iter().map(|k| k.kids.len()).sum();
        assert_eq!(kept, MAX_KIDS_TOTAL);
        assert_eq!(b.kids_total.load(Relaxed), MAX_KIDS_TOTAL);
        let last = books.last().unwrap();
        assert_eq!((last.kids.len(), last.overflow), (0, MAX_KIDS as u64 + 5));
        // Dropping a book gives its KIDs back.
        books.truncate(1);
        assert_eq!(b.kids_total.load(Relaxed), MAX_KIDS);
    }
}
