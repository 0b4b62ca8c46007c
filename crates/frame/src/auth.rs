//! Sender authentication on the frame layer (SPEC §14).
//!
//! SFrame keys are symmetric: every member of an epoch can seal under every sender's key. What
//! a member cannot do is sign with another member's identity key, so each sender **vouches** for
//! its own frames: it keeps an 8-byte digest of every media frame it seals ([`frame_digest`],
//! BLAKE3 over the whole sealed frame) and, every [`VOUCH_FRAMES`] frames or
//! [`VOUCH_INTERVAL_MS`], sends the list ([`VouchList`]) inside a data message it signs (the
//! signature is the group layer's business; this module only sees lists that already verified).
//! Data messages are signed one by one, so they are verified before delivery.
//!
//! A receiver keeps, per sender key, a sender record: which counters it delivered before their
//! vouch arrived (and their digests), which counters a vouch covers that have not arrived yet, and
//! which are done. A forged frame under another sender's key is refused when a vouch for its
//! counter is already known, and reported as a [`Forgery`] when the vouch arrives after it was
//! delivered; it never moves the replay window (only vouched and signed frames do), and it never
//! makes a genuine frame look like a replay (two different frames under one counter are both kept
//! until the vouch says which one is genuine).

use crate::FrameError;

/// Bytes of a frame digest.
pub const DIGEST_LEN: usize = 8;

/// An 8-byte frame digest ([`frame_digest`]); all zeros ([`NOT_MEDIA`]) in a vouch means "no
/// media frame has this counter".
pub type FrameDigest = [u8; DIGEST_LEN];

/// The digest a vouch lists for a counter that was not a media frame (a data message, which is
/// signed on its own, or a counter the sender skipped).
pub const NOT_MEDIA: FrameDigest = [0; DIGEST_LEN];

/// A sender vouches at the latest after this many counters...
pub const VOUCH_FRAMES: usize = 64;

/// ... or this long after the first frame it has not vouched for yet (milliseconds).
pub const VOUCH_INTERVAL_MS: u64 = 1000;

/// A gap of at most this many counters between two media frames (data messages sealed in
/// between) is filled with [`NOT_MEDIA`]; a longer one closes the list.
pub const VOUCH_GAP_FILL: u64 = 8;

/// Most counters one vouch may cover (a receiver refuses a longer list).
pub const MAX_VOUCH_COUNTERS: usize = 1024;

/// Counters a receiver tracks per sender key: from half of it below the end of the latest vouch
/// to half of it above. A frame above that range is refused ([`FrameError::Unvouched`]) until
/// the sender vouches for what came before it.
pub const AUTH_WINDOW: u64 = 1024;

/// Most after-the-fact forgery reports an [`Opener`](crate::Opener) holds until they are taken.
pub const MAX_FORGERY_REPORTS: usize = 64;

/// Bytes of an encoded vouch before its digests: `first_ctr u64 || count u16`.
pub const VOUCH_HEADER_LEN: usize = 10;

/// The digest of a sealed frame (`header || ciphertext || tag`): the first 8 bytes of its BLAKE3
/// hash, with an all-zero result replaced by `00 .. 00 01` so it is never [`NOT_MEDIA`].
#[inline]
pub fn frame_digest(sealed: &[u8]) -> FrameDigest {
    let h = blake3::hash(sealed);
    let mut d = [0u8; DIGEST_LEN];
    d.copy_from_slice(&h.as_bytes()[..DIGEST_LEN]);
    if d == NOT_MEDIA {
        d[DIGEST_LEN - 1] = 1;
    }
    d
}

/// A sender's list of digests for the counters `first_ctr ..`, one per counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VouchList {
    /// The first counter covered.
    pub first_ctr: u64,
    /// One digest per counter from `first_ctr` on ([`NOT_MEDIA`] for a data message).
    pub digests: Vec<FrameDigest>,
}

impl VouchList {
    /// One past the last counter covered.
    pub fn end(&self) -> u64 {
        self.first_ctr.saturating_add(self.digests.len() as u64)
    }

    /// `first_ctr u64 || count u16 || digests (count × 8 bytes)`, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VOUCH_HEADER_LEN + DIGEST_LEN * self.digests.len());
        out.extend_from_slice(&self.first_ctr.to_be_bytes());
        let count = u16::try_from(self.digests.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for d in self.digests.iter().take(usize::from(count)) {
            out.extend_from_slice(d);
        }
        out
    }

    /// Parses [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    /// [`FrameError::BadVouch`] if the length does not match the count, the count is 0 or above
    /// [`MAX_VOUCH_COUNTERS`], or the range runs past the last counter.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let (head, rest) = bytes
            .split_at_checked(VOUCH_HEADER_LEN)
            .ok_or(FrameError::BadVouch("shorter than its header"))?;
        let mut first = [0u8; 8];
        first.copy_from_slice(&head[..8]);
        let first_ctr = u64::from_be_bytes(first);
        let count = usize::from(u16::from_be_bytes([head[8], head[9]]));
        if count == 0 || count > MAX_VOUCH_COUNTERS {
            return Err(FrameError::BadVouch("count outside 1..=1024"));
        }
        if rest.len() != count * DIGEST_LEN {
            return Err(FrameError::BadVouch("length does not match the count"));
        }
        if first_ctr.checked_add(count as u64).is_none() {
            return Err(FrameError::BadVouch("range past the last counter"));
        }
        let digests = rest
            .chunks_exact(DIGEST_LEN)
            .map(|c| {
                let mut d = [0u8; DIGEST_LEN];
                d.copy_from_slice(c);
                d
            })
            .collect();
        Ok(Self { first_ctr, digests })
    }
}

/// The sending side: the digests of the media frames sealed since the last vouch.
#[derive(Debug, Default)]
pub struct Voucher {
    first_ctr: u64,
    digests: Vec<FrameDigest>,
    /// When the first frame not yet vouched for was recorded (ms).
    since: Option<u64>,
}

impl Voucher {
    /// An empty voucher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the media frame sealed under counter `ctr` (counters only grow). If the gap to the
    /// previous frame is longer than [`VOUCH_GAP_FILL`], the list so far is closed and returned:
    /// send it before anything else.
    pub fn record(&mut self, ctr: u64, digest: FrameDigest, now_ms: u64) -> Option<VouchList> {
        let mut closed = None;
        if !self.digests.is_empty() {
            let next = self.first_ctr + self.digests.len() as u64;
            match ctr.checked_sub(next) {
                Some(gap) if gap <= VOUCH_GAP_FILL => {
                    self.digests
                        .extend(std::iter::repeat_n(NOT_MEDIA, gap as usize));
                }
                _ => closed = self.take(),
            }
        }
        if self.digests.is_empty() {
            self.first_ctr = ctr;
            self.since = Some(now_ms);
        }
        self.digests.push(digest);
        closed
    }

    /// The list, if it is due: [`VOUCH_FRAMES`] counters, or [`VOUCH_INTERVAL_MS`] since its
    /// first frame.
    pub fn take_due(&mut self, now_ms: u64) -> Option<VouchList> {
        let late = self
            .since
            .is_some_and(|s| now_ms.saturating_sub(s) >= VOUCH_INTERVAL_MS);
        if self.digests.len() >= VOUCH_FRAMES || late {
            self.take()
        } else {
            None
        }
    }

    /// When the list will be due by time, if it holds anything (ms).
    pub fn deadline(&self) -> Option<u64> {
        self.since.map(|s| s.saturating_add(VOUCH_INTERVAL_MS))
    }

    /// The list so far, whatever its age (e.g. before the sending key is replaced).
    pub fn take(&mut self) -> Option<VouchList> {
        self.since = None;
        if self.digests.is_empty() {
            return None;
        }
        Some(VouchList {
            first_ctr: self.first_ctr,
            digests: std::mem::take(&mut self.digests),
        })
    }
}

/// How a delivered frame stands with its sender's vouch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderAuth {
    /// The key is not sender-authenticated (transport mode, or sender authentication off):
    /// the frame is authenticated to the group only.
    Group,
    /// The sender's identity vouched for this exact frame (or signed it) before delivery.
    Vouched,
    /// Delivered before its vouch (SPEC §14.4): the group authenticated it, the sender has not
    /// yet. If the vouch turns out to name another frame, a [`Forgery`] is reported.
    Pending,
}

/// A frame delivered before its vouch, that the vouch then showed was not the sender's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forgery {
    /// The key id the forgery claimed (so the sender it claimed to come from).
    pub kid: u64,
    /// Its counter.
    pub ctr: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Empty,
    /// Delivered before its vouch; `extra` more frames with other digests also delivered.
    Pending {
        digest: FrameDigest,
        extra: u8,
    },
    /// A vouch names this digest; the frame has not arrived.
    Vouched(FrameDigest),
    /// The genuine frame (its digest; [`NOT_MEDIA`] for a signed data message) was delivered
    /// and verified.
    Done(FrameDigest),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    ctr: u64,
    slot: Slot,
}

/// What a verified vouch did to a sender's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VouchOutcome {
    /// Frames delivered before the vouch that it confirmed.
    pub confirmed: u32,
    /// Frames delivered before the vouch that it showed were forged (also reported as
    /// [`Forgery`]s).
    pub forged: u32,
}

/// A receiver's record of one sender key: [`AUTH_WINDOW`] slots, allocated on the first frame.
#[derive(Debug, Default)]
pub(crate) struct SenderRecord {
    entries: Vec<Entry>,
    /// One past the highest counter vouched for or signed.
    hi: u64,
}

/// What [`SenderRecord::on_media`] decided.
pub(crate) enum MediaVerdict {
    Deliver(SenderAuth),
    Refuse(FrameError),
}

impl SenderRecord {
    fn lo(&self) -> u64 {
        self.hi.saturating_sub(AUTH_WINDOW / 2)
    }

    /// Bytes this record holds.
    pub(crate) fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
    }

    /// The slot of `ctr` (inside the window), reset if it held an older counter.
    fn entry(&mut self, ctr: u64) -> &mut Entry {
        if self.entries.is_empty() {
            self.entries = vec![
                Entry {
                    ctr: u64::MAX,
                    slot: Slot::Empty,
                };
                AUTH_WINDOW as usize
            ];
        }
        let i = (ctr % AUTH_WINDOW) as usize;
        let e = &mut self.entries[i];
        if e.ctr != ctr {
            *e = Entry {
                ctr,
                slot: Slot::Empty,
            };
        }
        e
    }

    fn in_window(&self, kid: u64, ctr: u64) -> Result<(), FrameError> {
        if ctr < self.lo() {
            Err(FrameError::TooOld { kid, ctr })
        } else if ctr - self.lo() >= AUTH_WINDOW {
            Err(FrameError::Unvouched { kid, ctr })
        } else {
            Ok(())
        }
    }

    /// Moves the window up so that it ends at least at `end`, forgetting what falls below.
    fn advance(&mut self, end: u64) {
        self.hi = self.hi.max(end);
    }

    /// A media frame that the group key authenticated.
    pub(crate) fn on_media(&mut self, kid: u64, ctr: u64, digest: FrameDigest) -> MediaVerdict {
        if let Err(e) = self.in_window(kid, ctr) {
            return MediaVerdict::Refuse(e);
        }
        let e = self.entry(ctr);
        match e.slot {
            Slot::Empty => {
                e.slot = Slot::Pending { digest, extra: 0 };
                MediaVerdict::Deliver(SenderAuth::Pending)
            }
            Slot::Pending { digest: d, .. } if d == digest => {
                MediaVerdict::Refuse(FrameError::Replay { kid, ctr })
            }
            Slot::Pending { digest: d, extra } => {
                // Two different frames under one counter: one of them is forged. Keep delivering
                // (the genuine one may be this one); the vouch tells which.
                e.slot = Slot::Pending {
                    digest: d,
                    extra: extra.saturating_add(1),
                };
                MediaVerdict::Deliver(SenderAuth::Pending)
            }
            Slot::Vouched(d) if d == digest && d != NOT_MEDIA => {
                e.slot = Slot::Done(d);
                MediaVerdict::Deliver(SenderAuth::Vouched)
            }
            // Another frame than the one the sender vouched for or signed under this counter.
            Slot::Vouched(_) => MediaVerdict::Refuse(FrameError::Forged { kid, ctr }),
            Slot::Done(d) if d == digest => MediaVerdict::Refuse(FrameError::Replay { kid, ctr }),
            Slot::Done(_) => MediaVerdict::Refuse(FrameError::Forged { kid, ctr }),
        }
    }

    /// What can be refused before decryption: a counter below the window, and a signed message
    /// already done. (A signed message may run ahead of the window: its signature is checked
    /// before anything moves; a media frame ahead of it is refused after decryption.)
    pub(crate) fn precheck(&self, kid: u64, ctr: u64) -> Result<(), FrameError> {
        if ctr < self.lo() {
            return Err(FrameError::TooOld { kid, ctr });
        }
        let i = (ctr % AUTH_WINDOW) as usize;
        match self.entries.get(i) {
            Some(e) if e.ctr == ctr && e.slot == Slot::Done(NOT_MEDIA) => {
                Err(FrameError::Replay { kid, ctr })
            }
            _ => Ok(()),
        }
    }

    /// A data message under `ctr` whose signature verified; returns how many frames delivered
    /// under the same counter were therefore forged.
    pub(crate) fn on_signed(&mut self, ctr: u64) -> u32 {
        self.advance(ctr.saturating_add(1));
        if ctr < self.lo() {
            return 0;
        }
        let e = self.entry(ctr);
        let forged = match e.slot {
            Slot::Pending { extra, .. } => 1 + u32::from(extra),
            _ => 0,
        };
        e.slot = Slot::Done(NOT_MEDIA);
        forged
    }

    /// A vouch that verified. `forged(ctr)` is called for each frame delivered earlier that it
    /// shows was forged.
    pub(crate) fn on_vouch(
        &mut self,
        list: &VouchList,
        mut forged: impl FnMut(u64),
    ) -> VouchOutcome {
        self.advance(list.end());
        let lo = self.lo();
        let mut out = VouchOutcome::default();
        for (ctr, d) in (list.first_ctr..).zip(&list.digests) {
            if ctr < lo {
                continue;
            }
            let e = self.entry(ctr);
            match e.slot {
                Slot::Empty => e.slot = Slot::Vouched(*d),
                Slot::Pending { digest, extra } => {
                    let genuine_first = digest == *d && *d != NOT_MEDIA;
                    // Frames surely forged: every other one when the first was genuine; else the
                    // first, and all but one of the others (which may be the genuine frame).
                    let bad = if genuine_first {
                        u32::from(extra)
                    } else {
                        u32::from(extra.max(1))
                    };
                    if genuine_first {
                        e.slot = Slot::Done(digest);
                        out.confirmed += 1;
                    } else {
                        // The genuine frame may still come (or was one of the extras, already
                        // delivered as pending; a copy of it is then let through once more).
                        e.slot = Slot::Vouched(*d);
                    }
                    for _ in 0..bad {
                        forged(ctr);
                    }
                    out.forged += bad;
                }
                // A second vouch for a counter: the first one stands.
                Slot::Vouched(_) | Slot::Done(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(n: u8) -> FrameDigest {
        [n; DIGEST_LEN]
    }

    #[test]
    fn vouch_lists_round_trip_and_bad_ones_are_refused() {
        let l = VouchList {
            first_ctr: 7,
            digests: vec![d(1), NOT_MEDIA, d(3)],
        };
        let b = l.encode();
        assert_eq!(b.len(), VOUCH_HEADER_LEN + 3 * DIGEST_LEN);
        assert_eq!(VouchList::decode(&b).unwrap(), l);
        assert!(VouchList::decode(&b[..b.len() - 1]).is_err());
        assert!(VouchList::decode(&b[..9]).is_err());
        let mut zero = b.clone();
        zero[8..10].copy_from_slice(&0u16.to_be_bytes());
        assert!(VouchList::decode(&zero[..VOUCH_HEADER_LEN]).is_err());
        let mut wrap = b.clone();
        wrap[..8].copy_from_slice(&(u64::MAX - 1).to_be_bytes());
        assert!(VouchList::decode(&wrap).is_err());
    }

    #[test]
    fn the_voucher_fills_short_gaps_closes_on_long_ones_and_is_due_by_count_or_time() {
        let mut v = Voucher::new();
        assert_eq!(v.record(0, d(1), 0), None);
        assert_eq!(v.record(2, d(2), 1), None); // ctr 1 was a data message
        assert_eq!(v.take_due(999), None);
        let l = v.take_due(1000).unwrap();
        assert_eq!((l.first_ctr, l.digests), (0, vec![d(1), NOT_MEDIA, d(2)]));
        assert_eq!(v.deadline(), None);
        v.record(3, d(3), 2000);
        let closed = v.record(3 + VOUCH_GAP_FILL + 2, d(4), 2001).unwrap();
        assert_eq!((closed.first_ctr, closed.digests), (3, vec![d(3)]));
        for c in 0..VOUCH_FRAMES as u64 - 1 {
            v.record(3 + VOUCH_GAP_FILL + 3 + c, d(5), 2002);
        }
        assert_eq!(v.take_due(2003).unwrap().digests.len(), VOUCH_FRAMES);
    }

    fn deliver(r: &mut SenderRecord, ctr: u64, dg: FrameDigest) -> Result<SenderAuth, FrameError> {
        match r.on_media(9, ctr, dg) {
            MediaVerdict::Deliver(a) => Ok(a),
            MediaVerdict::Refuse(e) => Err(e),
        }
    }

    #[test]
    fn a_forgery_before_the_vouch_is_reported_after_it_is_refused_and_never_blocks_the_genuine() {
        let mut r = SenderRecord::default();
        // The forger gets in first under counter 0; the genuine frame still gets through.
        assert_eq!(deliver(&mut r, 0, d(9)), Ok(SenderAuth::Pending));
        assert_eq!(deliver(&mut r, 0, d(1)), Ok(SenderAuth::Pending));
        // Exact copies of the first are replays.
        assert_eq!(
            deliver(&mut r, 0, d(9)),
            Err(FrameError::Replay { kid: 9, ctr: 0 })
        );
        assert_eq!(deliver(&mut r, 1, d(2)), Ok(SenderAuth::Pending));
        let mut forged = vec![];
        let out = r.on_vouch(
            &VouchList {
                first_ctr: 0,
                digests: vec![d(1), d(2), d(3)],
            },
            |c| forged.push(c),
        );
        // Counter 0: the first frame was forged; the second (the genuine one) is not blamed.
        assert_eq!((out.confirmed, out.forged), (1, 1));
        assert_eq!(forged, vec![0]);
        // After the vouch: the genuine frame of counter 2 is verified before delivery, a forgery
        // under it is refused, and nothing is delivered twice.
        assert_eq!(
            deliver(&mut r, 2, d(7)),
            Err(FrameError::Forged { kid: 9, ctr: 2 })
        );
        assert_eq!(deliver(&mut r, 2, d(3)), Ok(SenderAuth::Vouched));
        assert_eq!(
            deliver(&mut r, 2, d(3)),
            Err(FrameError::Replay { kid: 9, ctr: 2 })
        );
        // Once done, a copy is a replay and another frame a forgery.
        assert_eq!(
            deliver(&mut r, 1, d(2)),
            Err(FrameError::Replay { kid: 9, ctr: 1 })
        );
        assert_eq!(
            deliver(&mut r, 1, d(8)),
            Err(FrameError::Forged { kid: 9, ctr: 1 })
        );
    }

    #[test]
    fn a_forged_counter_far_ahead_is_refused_and_moves_nothing() {
        let mut r = SenderRecord::default();
        assert_eq!(
            deliver(&mut r, u64::MAX, d(1)),
            Err(FrameError::Unvouched {
                kid: 9,
                ctr: u64::MAX
            })
        );
        assert_eq!(
            deliver(&mut r, AUTH_WINDOW, d(1)),
            Err(FrameError::Unvouched {
                kid: 9,
                ctr: AUTH_WINDOW
            })
        );
        assert_eq!(deliver(&mut r, 0, d(1)), Ok(SenderAuth::Pending));
        assert_eq!(
            deliver(&mut r, AUTH_WINDOW - 1, d(1)),
            Ok(SenderAuth::Pending)
        );
        // Only what the sender signs moves the window.
        assert_eq!(r.on_signed(5000), 0);
        assert_eq!(
            deliver(&mut r, 4000, d(1)),
            Err(FrameError::TooOld { kid: 9, ctr: 4000 })
        );
        assert_eq!(deliver(&mut r, 5001, d(1)), Ok(SenderAuth::Pending));
        assert_eq!(
            r.precheck(9, 5000),
            Err(FrameError::Replay { kid: 9, ctr: 5000 })
        );
        assert_eq!(
            r.precheck(9, 10),
            Err(FrameError::TooOld { kid: 9, ctr: 10 })
        );
        assert!(r.bytes() >= AUTH_WINDOW as usize * 16);
    }

    #[test]
    fn a_signed_message_under_a_pending_counter_exposes_the_forgery() {
        let mut r = SenderRecord::default();
        assert_eq!(deliver(&mut r, 3, d(1)), Ok(SenderAuth::Pending));
        assert_eq!(r.on_signed(3), 1);
        // A media frame under a signed message's counter is forged.
        assert_eq!(
            deliver(&mut r, 3, d(2)),
            Err(FrameError::Forged { kid: 9, ctr: 3 })
        );
        // A vouch listing NOT_MEDIA for a counter: any media frame there is forged.
        let mut forged = 0;
        r.on_vouch(
            &VouchList {
                first_ctr: 4,
                digests: vec![NOT_MEDIA],
            },
            |_| forged += 1,
        );
        assert_eq!(
            deliver(&mut r, 4, NOT_MEDIA),
            Err(FrameError::Forged { kid: 9, ctr: 4 })
        );
        assert_eq!(forged, 0);
    }

    #[test]
    fn digests_are_blake3_prefixes_and_never_zero() {
        let f = b"\x10\x00sealed frame bytes";
        assert_eq!(&frame_digest(f)[..], &blake3::hash(f).as_bytes()[..8]);
        assert_ne!(frame_digest(b""), NOT_MEDIA);
    }
}
