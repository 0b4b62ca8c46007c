//! State shared between the driver task and the [`crate::Meeting`] handles: the current sealer
//! (behind a short mutex, so the caller's task seals in place), the connection, what the
//! application can query, and the counters.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use hush_frame::auth::VouchList;
use hush_frame::{FrameError, Sealer, Voucher};
use hush_group::{Identity, RosterView};
use hush_wire::RelayMode;
use tokio::sync::watch;

use crate::blob::{
    AfterClassByte, CLASS_SIGNED_DATA, DATA_AAD, DataKind, SIGNED_DATA_AAD, data_plaintext,
};
use crate::event::E2eeStatus;
use crate::net::RelayConnection;
use crate::stats::Counters;

/// Ask for a new epoch when a sending key has fewer frames left than this (SPEC §11.4).
pub(crate) const REKEY_MARGIN: u64 = 1 << 20;

pub(crate) use hush_wire::sync::lock;

/// The sending key of the current epoch.
pub(crate) struct SealState {
    pub(crate) sealer: Sealer,
    pub(crate) epoch: u64,
    /// Sender authentication (SPEC §14): the digests of the media frames not yet vouched for;
    /// `None` when this epoch's frames are not sender-authenticated (transport mode, or
    /// `sender_auth` off).
    pub(crate) voucher: Option<Voucher>,
}

/// Who signs this client's data messages and vouches (SPEC §14.3).
pub(crate) struct Signer {
    pub(crate) identity: Identity,
    pub(crate) room: Arc<str>,
}

impl SealState {
    /// Seals a data message in place: `blob` is `0xD1 ‖ kind ‖ payload`
    /// ([`data_plaintext`]); when this epoch is sender-authenticated it becomes a signed data
    /// message (`0xD2`, the signature of `signer` appended to the plaintext, SPEC §14.3).
    pub(crate) fn seal_data(
        &mut self,
        signer: Option<&Signer>,
        blob: &mut BytesMut,
    ) -> Result<(), FrameError> {
        match (self.voucher.is_some(), signer) {
            (true, Some(signer)) => {
                let (kid, ctr) = (self.sealer.kid(), self.sealer.next_counter());
                let sig = signer
                    .identity
                    .sign_data(&signer.room, kid, ctr, &blob[1..]);
                blob.extend_from_slice(&sig);
                blob[0] = CLASS_SIGNED_DATA;
                self.sealer
                    .seal(SIGNED_DATA_AAD, &mut AfterClassByte(blob))?;
            }
            _ => {
                self.sealer.seal(DATA_AAD, &mut AfterClassByte(blob))?;
            }
        }
        Ok(())
    }

    /// Seals `list` as a signed vouch (a data message of kind `0x07`, SPEC §14.2).
    fn seal_vouch(&mut self, signer: &Signer, list: &VouchList) -> Result<Bytes, FrameError> {
        let mut blob = data_plaintext(DataKind::Vouch, &list.encode());
        self.seal_data(Some(signer), &mut blob)?;
        Ok(blob.freeze())
    }

    /// After a media frame `sealed` under counter `ctr`: records its digest and seals the vouches
    /// that are due (into `out`); true if a vouch deadline appeared (wake the driver).
    pub(crate) fn vouch_media(
        &mut self,
        signer: Option<&Signer>,
        ctr: u64,
        sealed: &[u8],
        now_ms: u64,
        out: &mut Vec<Bytes>,
    ) -> Result<bool, FrameError> {
        let (Some(v), Some(signer)) = (self.voucher.as_mut(), signer) else {
            return Ok(false);
        };
        let armed_before = v.deadline().is_some();
        let closed = v.record(ctr, hush_frame::frame_digest(sealed), now_ms);
        let due = v.take_due(now_ms);
        let armed = !armed_before && v.deadline().is_some();
        for list in closed.iter().chain(due.iter()) {
            out.push(self.seal_vouch(signer, list)?);
        }
        Ok(armed)
    }

    /// The vouch due by time (or every digest held, with `all`), sealed.
    pub(crate) fn take_vouch(
        &mut self,
        signer: Option<&Signer>,
        now_ms: u64,
        all: bool,
    ) -> Option<Result<Bytes, FrameError>> {
        let (v, signer) = (self.voucher.as_mut()?, signer?);
        let list = if all { v.take() } else { v.take_due(now_ms) }?;
        Some(self.seal_vouch(signer, &list))
    }
}

/// What the application can ask about.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub(crate) roster: Option<RosterView>,
    pub(crate) code: Option<String>,
    pub(crate) e2ee: Option<E2eeStatus>,
    pub(crate) region: String,
    pub(crate) mode: Option<RelayMode>,
    pub(crate) relay: Option<std::net::SocketAddr>,
    /// The relays carrying the room, as the current relay last reported them (SPEC §15.8).
    pub(crate) carriers: Vec<(String, String)>,
}

/// Readiness as seen by waiters: the keyed epoch (0: none) and how many others it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) epoch: u64,
    pub(crate) others: usize,
    pub(crate) ended: bool,
}

pub(crate) struct Shared {
    pub(crate) sealer: Mutex<Option<SealState>>,
    pub(crate) conn: RwLock<Option<Arc<RelayConnection>>>,
    pub(crate) view: Mutex<View>,
    pub(crate) counters: Counters,
    pub(crate) ready: watch::Sender<Ready>,
    pub(crate) rekey_asked: AtomicBool,
    /// Set once at join when sender authentication is on (SPEC §14).
    pub(crate) signer: OnceLock<Signer>,
    /// The clock vouch deadlines count from.
    pub(crate) clock: Instant,
    /// Sealed vouches waiting for the driver to send them (the last one of an epoch, sealed
    /// before its key is replaced).
    pub(crate) outbox: Mutex<Vec<Bytes>>,
    /// Wakes the driver when a vouch deadline appears (the first frame after a vouch), so that
    /// it sleeps until then.
    pub(crate) vouch_armed: tokio::sync::Notify,
}

impl Shared {
    /// Shared state before the connection exists (the receive path must exist to connect);
    /// [`Shared::set_conn`] sets it and the relay's region and mode.
    pub(crate) fn new() -> Self {
        Shared {
            sealer: Mutex::new(None),
            conn: RwLock::new(None),
            view: Mutex::new(View::default()),
            counters: Counters::default(),
            ready: watch::Sender::new(Ready::default()),
            rekey_asked: AtomicBool::new(false),
            signer: OnceLock::new(),
            clock: Instant::now(),
            outbox: Mutex::new(Vec::new()),
            vouch_armed: tokio::sync::Notify::new(),
        }
    }

    /// Milliseconds on [`Shared::clock`].
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// When the current epoch's vouch is due by time, if it holds any digest.
    pub(crate) fn vouch_deadline(&self) -> Option<Instant> {
        let at = lock(&self.sealer).as_ref()?.voucher.as_ref()?.deadline()?;
        Some(self.clock + std::time::Duration::from_millis(at))
    }

    /// Seals the vouch that is due by time (or, with `all`, every digest held: the key is about
    /// to be replaced) and queues it in the outbox.
    pub(crate) fn queue_vouch(&self, all: bool) {
        let now = self.now_ms();
        let sealed = lock(&self.sealer)
            .as_mut()
            .and_then(|s| s.take_vouch(self.signer.get(), now, all));
        match sealed {
            Some(Ok(b)) => lock(&self.outbox).push(b),
            Some(Err(e)) => tracing::warn!(error = %e, "cannot seal a vouch"),
            None => {}
        }
    }

    /// The sealed vouches waiting to be sent.
    pub(crate) fn take_outbox(&self) -> Vec<Bytes> {
        std::mem::take(&mut *lock(&self.outbox))
    }

    pub(crate) fn conn(&self) -> Option<Arc<RelayConnection>> {
        hush_wire::sync::read(&self.conn).clone()
    }

    pub(crate) fn set_conn(&self, conn: Option<Arc<RelayConnection>>) {
        if let Some(c) = &conn {
            let mut v = lock(&self.view);
            v.region = c.relay_region().to_owned();
            v.mode = Some(c.relay_mode());
            v.relay = Some(c.relay_addr());
            v.carriers.clear();
        }
        *hush_wire::sync::write(&self.conn) = conn;
    }

    /// Replaces the sending key; the old key's last vouch is sealed first (into the outbox).
    pub(crate) fn set_sealer(&self, s: Option<SealState>) {
        self.queue_vouch(true);
        *lock(&self.sealer) = s;
        self.rekey_asked.store(false, Relaxed);
    }

    pub(crate) fn set_ready(&self, epoch: u64, others: usize) {
        self.ready.send_modify(|r| {
            r.epoch = epoch;
            r.others = others;
        });
    }

    pub(crate) fn set_ended(&self) {
        self.ready.send_modify(|r| r.ended = true);
    }
}
