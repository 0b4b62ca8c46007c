//! The application's handle on a meeting ([`Meeting`]): join, send media and data, answer
//! admissions, rekey, lock, leave, and query the roster, code and status (SPEC §8.9, §11).
//!
//! One driver task (see `driver`) owns the connection's control events and the group state
//! machine, and installs the `Opener`'s keys. Media never goes through it: received frames are
//! opened in place on the connection's reader task (`keys::Inbound`, the `Opener` behind a short
//! mutex), and the current `Sealer` sits behind another, so [`Meeting::send_media`] seals in
//! place on the caller's task and hands the bytes to the network.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::BytesMut;
use hush_group::RosterView;
use hush_wire::{RelayMode, Target};
use tokio::sync::{mpsc, oneshot};

use crate::blob::{DataKind, MAX_DATA_PAYLOAD, data_plaintext};
use crate::config::MeetingConfig;
use crate::connect::connect_and_join;
use crate::driver::{Command, Driver};
use crate::error::MeetingError;
use crate::event::E2eeStatus;
use crate::keys::Inbound;
use crate::lanes::{MeetingEvents, lanes};
use crate::net::{self, MediaPath};
use crate::shared::{REKEY_MARGIN, Ready, SealState, Shared, lock};
use crate::stats::{Counters, Stats};

/// What [`Meeting::forge`] seals in another member's name (test hook).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Forge {
    /// A media frame under counter `ctr`.
    Media {
        /// The counter.
        ctr: u64,
        /// The plaintext.
        payload: Vec<u8>,
    },
    /// A data message under counter `ctr`: unsigned (`0xD1`) or signed with the forger's own
    /// identity (`0xD2`).
    Data {
        /// The counter.
        ctr: u64,
        /// Its kind.
        kind: DataKind,
        /// Its payload.
        payload: Vec<u8>,
        /// Signed (with the wrong identity) or not.
        signed: bool,
    },
}

/// A handle on a joined meeting. Cheap to clone; every clone drives the same meeting.
#[derive(Clone)]
pub struct Meeting {
    shared: Arc<Shared>,
    /// The receive path (for test hooks only; media is opened on the readers). Weak: the
    /// handle must not keep the event lanes open after the meeting's tasks ended.
    inbound: std::sync::Weak<Inbound>,
    cmds: mpsc::Sender<Command>,
    relay: SocketAddr,
    is_host: bool,
}

impl std::fmt::Debug for Meeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meeting")
            .field("relay", &self.relay)
            .field("is_host", &self.is_host)
            .finish_non_exhaustive()
    }
}

impl Meeting {
    /// Connects to the relay (pinning its certificate, checking its region before sending
    /// anything), joins the room and starts the meeting's driver task. Keys follow: a host
    /// keys its first epoch at once; a guest sends a group `Hello`, gets the host's signed
    /// roster, asks to join and waits to be admitted (SPEC §8.9); in transport mode the client
    /// waits for the key service's `Issued` (SPEC §12). Until then sending is
    /// [`MeetingError::NotReady`]; see [`Meeting::wait_ready`].
    pub async fn join(config: MeetingConfig) -> Result<(Meeting, MeetingEvents), MeetingError> {
        config.validate()?;
        let shared = Arc::new(Shared::new());
        if config.sender_auth {
            let _ = shared.signer.set(crate::shared::Signer {
                identity: config.identity.clone(),
                room: Arc::from(config.room.as_str()),
            });
        }
        let (ev_tx, ev_rx) = lanes(config.event_capacity, config.event_bytes, shared.clone());
        let inbound = Arc::new(Inbound::new(shared.clone(), ev_tx.clone()));
        if config.test_forger {
            inbound.keys().forge_keys = Some(Default::default());
        }
        let (conn, net_events, joined) = connect_and_join(
            &config,
            config.relay,
            inbound.clone(),
            config.allow_transport,
        )
        .await?;
        let conn = Arc::new(conn);
        shared.set_conn(Some(conn.clone()));
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let relay = config.relay;
        let is_host = config.role.is_host();
        let driver = Driver::start(
            config,
            shared.clone(),
            inbound.clone(),
            conn,
            net_events,
            joined,
            cmd_rx,
            ev_tx,
        )
        .await?;
        tokio::spawn(driver.run());
        Ok((
            Meeting {
                shared,
                inbound: Arc::downgrade(&inbound),
                cmds: cmd_tx,
                relay,
                is_host,
            },
            ev_rx,
        ))
    }

    /// Seals `buf` in place under this client's current sending key and sends it as one media
    /// frame (a QUIC datagram when it fits, else its own stream). On entry `buf` holds the
    /// plaintext; on return it is empty (the sealed bytes were handed to the network; a later
    /// `reserve` can reuse the allocation once the network has released it).
    ///
    /// # Errors
    /// [`MeetingError::NotReady`] before this client holds a host-signed roster's keys (it never
    /// seals for people it does not display); network and frame errors.
    pub async fn send_media(&self, buf: &mut BytesMut) -> Result<MediaPath, MeetingError> {
        let conn = self.shared.conn().ok_or(MeetingError::NotReady)?;
        let mut vouches = Vec::new();
        let mut armed = false;
        self.with_sealer(|s| {
            let header = s.sealer.seal(&[], buf)?;
            let now = self.shared.now_ms();
            armed = s.vouch_media(self.shared.signer.get(), header.ctr, buf, now, &mut vouches)?;
            Ok(())
        })?;
        if armed {
            self.shared.vouch_armed.notify_one();
        }
        Counters::inc(&self.shared.counters.media_sealed);
        let frame = buf.split().freeze();
        let path = conn.send_media(frame).await?;
        // A vouch follows the frame that completed it (SPEC §14.2), on the reliable path.
        for v in vouches {
            Counters::inc(&self.shared.counters.vouches_sent);
            conn.send_blob(Target::All, v).await?;
        }
        Ok(path)
    }

    /// Runs `f` on the current sending key, then asks for a new epoch when it runs low.
    fn with_sealer(
        &self,
        f: impl FnOnce(&mut SealState) -> Result<(), hush_frame::FrameError>,
    ) -> Result<(), MeetingError> {
        let remaining = {
            let mut g = lock(&self.shared.sealer);
            let s: &mut SealState = g.as_mut().ok_or(MeetingError::NotReady)?;
            f(s)?;
            s.sealer.frames_remaining()
        };
        if remaining < REKEY_MARGIN && !self.shared.rekey_asked.swap(true, Relaxed) {
            let _ = self.cmds.try_send(Command::KeyRunningOut);
        }
        Ok(())
    }

    /// Sends a data message (chat, reaction, poll, file chunk) to everyone in the meeting:
    /// sealed with this client's sending key and, with sender authentication (SPEC §14), signed
    /// with its identity key; carried on the reliable control path (SPEC §11).
    ///
    /// # Errors
    /// As [`Meeting::send_media`], and [`MeetingError::DataTooLarge`].
    pub async fn send_data(&self, kind: DataKind, payload: &[u8]) -> Result<(), MeetingError> {
        if payload.len() > MAX_DATA_PAYLOAD {
            return Err(MeetingError::DataTooLarge(payload.len()));
        }
        let conn = self.shared.conn().ok_or(MeetingError::NotReady)?;
        let mut blob = data_plaintext(kind, payload);
        self.with_sealer(|s| s.seal_data(self.shared.signer.get(), &mut blob))?;
        Counters::inc(&self.shared.counters.data_sealed);
        conn.send_blob(Target::All, blob.freeze()).await?;
        Ok(())
    }

    /// Sends a chat message ([`DataKind::Chat`]).
    pub async fn send_chat(&self, text: &str) -> Result<(), MeetingError> {
        self.send_data(DataKind::Chat, text.as_bytes()).await
    }

    /// Sends a file to everyone in the meeting (SPEC §11.2.1): a `FileStart` with a fresh
    /// random transfer id, the size and `name` (1..=255 bytes; the receivers sanitize it), the
    /// content in [`crate::file::FILE_CHUNK`]-byte `FileChunk`s, then a `FileEnd` with its
    /// SHA-256, all sealed like any data message. Returns the transfer id.
    ///
    /// # Errors
    /// As [`Meeting::send_data`], and [`MeetingError::File`] for a bad name.
    pub async fn send_file(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<crate::file::TransferId, MeetingError> {
        self.send_file_from(name, bytes.len() as u64, bytes, |_| {})
            .await
    }

    /// As [`send_file`](Self::send_file), reading the `size` bytes of content from `reader` a
    /// chunk at a time (a file of any size, never all in memory) and calling `progress` with
    /// the bytes sent so far after each chunk. The content is hashed as it is read.
    ///
    /// # Errors
    /// As [`send_file`](Self::send_file); [`MeetingError::Read`] if `reader` fails or ends
    /// before `size` bytes.
    pub async fn send_file_from(
        &self,
        name: &str,
        size: u64,
        mut reader: impl std::io::Read,
        mut progress: impl FnMut(u64),
    ) -> Result<crate::file::TransferId, MeetingError> {
        use sha2::Digest;
        crate::file::check_name(name)?;
        let mut id = [0u8; crate::file::TRANSFER_ID_LEN];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut id)
            .map_err(|_| MeetingError::Random)?;
        self.send_data(
            DataKind::FileStart,
            &crate::file::encode_start(&id, size, name),
        )
        .await?;
        let mut hash = sha2::Sha256::new();
        let mut chunk = vec![0u8; crate::file::FILE_CHUNK];
        let mut sent = 0u64;
        while sent < size {
            let want = usize::try_from(size - sent)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            reader
                .read_exact(&mut chunk[..want])
                .map_err(MeetingError::Read)?;
            hash.update(&chunk[..want]);
            self.send_data(
                DataKind::FileChunk,
                &crate::file::encode_chunk(&id, &chunk[..want]),
            )
            .await?;
            sent += want as u64;
            progress(sent);
        }
        let hash: [u8; 32] = hash.finalize().into();
        self.send_data(DataKind::FileEnd, &crate::file::encode_end(&id, &hash))
            .await?;
        Ok(id)
    }

    async fn command<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, MeetingError>>) -> Command,
    ) -> Result<T, MeetingError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(make(tx))
            .await
            .map_err(|_| MeetingError::Closed)?;
        rx.await.map_err(|_| MeetingError::Closed)?
    }

    /// Host, [`crate::Admit::Ask`]: answers the join request of `relay_id` (from
    /// [`MeetingEvent::AdmissionRequest`](crate::MeetingEvent::AdmissionRequest)). Admitting a connector here is the host's explicit
    /// consent (SPEC §13).
    pub async fn admit(&self, relay_id: u64, yes: bool) -> Result<(), MeetingError> {
        self.command(|reply| Command::Admit {
            relay_id,
            yes,
            reply,
        })
        .await
    }

    /// Host: starts a new epoch now.
    pub async fn rekey(&self) -> Result<(), MeetingError> {
        self.command(|reply| Command::Rekey { reply }).await
    }

    /// Host: sets the lock bit (no new identity gets a key while locked); a change starts an
    /// epoch whose signed roster carries it.
    pub async fn lock(&self, locked: bool) -> Result<(), MeetingError> {
        self.command(|reply| Command::Lock { locked, reply }).await
    }

    /// Leaves the meeting: a signed leave notice to the host (so it rekeys at once), the relay
    /// room, the connection. Every key is erased.
    pub async fn leave(&self) -> Result<(), MeetingError> {
        self.command(|reply| Command::Leave { reply }).await
    }

    /// Test hook (a hostile member, SPEC §14 tests; needs `MeetingConfig::test_forger`):
    /// seals `forge` under the sending key of roster member `victim` of the current epoch (a
    /// key every member can derive) and returns the bytes, a media frame or a data message
    /// blob, for the test to send ([`Meeting::send_raw`]) or have a relay inject.
    #[doc(hidden)]
    pub fn forge(&self, victim: u16, forge: Forge) -> Result<bytes::Bytes, MeetingError> {
        let secret = {
            let inbound = self.inbound.upgrade().ok_or(MeetingError::Closed)?;
            let keys = inbound.keys();
            let k = keys.forge_keys.as_ref().ok_or(MeetingError::NotReady)?;
            k.get(&victim).cloned().ok_or(MeetingError::NotReady)?
        };
        let suite = hush_frame::CipherSuite::from_id(secret.suite).ok_or(MeetingError::NotReady)?;
        let key = hush_frame::BaseKey::new(secret.base_key.to_vec())?;
        let (ctr, plain) = match &forge {
            Forge::Media { ctr, payload } => (*ctr, payload.clone()),
            Forge::Data { ctr, .. } => (*ctr, Vec::new()),
        };
        let mut state = SealState {
            sealer: hush_frame::Sealer::new(suite, secret.kid, key).starting_at(ctr),
            epoch: 0,
            voucher: None,
        };
        match forge {
            Forge::Media { .. } => {
                let mut buf = BytesMut::from(&plain[..]);
                state.sealer.seal(&[], &mut buf)?;
                Ok(buf.freeze())
            }
            Forge::Data {
                kind,
                payload,
                signed,
                ..
            } => {
                let mut blob = data_plaintext(kind, &payload);
                // Signed with the forger's own identity: all it has.
                state.voucher = signed.then(hush_frame::Voucher::new);
                state.seal_data(self.shared.signer.get(), &mut blob)?;
                Ok(blob.freeze())
            }
        }
    }

    /// Test hook: sends `bytes` as they are, as a media frame or as a blob to everyone.
    #[doc(hidden)]
    pub async fn send_raw(&self, media: bool, bytes: bytes::Bytes) -> Result<(), MeetingError> {
        let conn = self.shared.conn().ok_or(MeetingError::NotReady)?;
        if media {
            conn.send_media(bytes).await?;
        } else {
            conn.send_blob(Target::All, bytes).await?;
        }
        Ok(())
    }

    /// Test hook (hostile participant): sends the signed leave notice but keeps the connection
    /// and every receive key it had, and keeps trying to open frames with them, counting the
    /// ones it can no longer open. Measures what a departed member could still read.
    #[doc(hidden)]
    pub async fn leave_keeping_keys(&self) -> Result<(), MeetingError> {
        self.command(|reply| Command::LeaveKeepKeys { reply }).await
    }

    /// Test hook (hostile relay): sends raw bytes as a blob to everyone in the room, or to one
    /// relay id.
    #[doc(hidden)]
    pub async fn send_raw_blob(&self, to: Option<u64>, blob: Vec<u8>) -> Result<(), MeetingError> {
        let conn = self.shared.conn().ok_or(MeetingError::Closed)?;
        let target = to.map_or(Target::All, |id| {
            Target::Participant(hush_wire::ParticipantId(id))
        });
        conn.send_blob(target, blob.into()).await?;
        Ok(())
    }

    /// Waits until this client holds an epoch's keys (it may seal), up to `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<u64, MeetingError> {
        self.wait(timeout, |r| r.epoch > 0).await.map(|r| r.epoch)
    }

    /// Waits until this client holds the keys of an epoch whose roster lists at least `n`
    /// others (e2ee mode), up to `timeout`. Returns the epoch.
    pub async fn wait_for_others(&self, n: usize, timeout: Duration) -> Result<u64, MeetingError> {
        self.wait(timeout, |r| r.epoch > 0 && r.others >= n)
            .await
            .map(|r| r.epoch)
    }

    /// Waits until this client holds the keys of an epoch later than `after` (a rekey it
    /// expects), up to `timeout`. Returns the epoch.
    pub async fn wait_for_epoch_after(
        &self,
        after: u64,
        timeout: Duration,
    ) -> Result<u64, MeetingError> {
        self.wait(timeout, |r| r.epoch > after)
            .await
            .map(|r| r.epoch)
    }

    async fn wait(
        &self,
        timeout: Duration,
        pred: impl Fn(&Ready) -> bool,
    ) -> Result<Ready, MeetingError> {
        let mut rx = self.shared.ready.subscribe();
        let fut = rx.wait_for(|r| r.ended || pred(r));
        let r = tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| MeetingError::Timeout)?
            .map_err(|_| MeetingError::Closed)?;
        if r.ended {
            return Err(MeetingError::Closed);
        }
        Ok(*r)
    }

    /// The current security code (e2ee mode, once keyed).
    pub fn security_code(&self) -> Option<String> {
        lock(&self.shared.view).code.clone()
    }

    /// The current end-to-end status.
    pub fn e2ee_status(&self) -> Option<E2eeStatus> {
        lock(&self.shared.view).e2ee.clone()
    }

    /// The roster of the keyed epoch (e2ee mode).
    pub fn roster(&self) -> Option<RosterView> {
        lock(&self.shared.view).roster.clone()
    }

    /// The region of the relay carrying the meeting (from its `Hello`, claim C6).
    pub fn relay_region(&self) -> String {
        lock(&self.shared.view).region.clone()
    }

    /// The relays carrying the meeting, `(name, region)`, the client's own relay first, as the
    /// relays of a cascade report them (SPEC §15.8: what they say, which no client can verify);
    /// empty on a relay without a cluster.
    pub fn carriers(&self) -> Vec<(String, String)> {
        lock(&self.shared.view).carriers.clone()
    }

    /// The key mode the relay announced.
    pub fn relay_mode(&self) -> Option<RelayMode> {
        lock(&self.shared.view).mode
    }

    /// The address of the relay carrying the meeting now (it changes when the meeting moves
    /// to one of [`MeetingConfig::alternates`]).
    pub fn relay_addr(&self) -> SocketAddr {
        lock(&self.shared.view).relay.unwrap_or(self.relay)
    }

    /// This client's relay participant id on the current connection.
    pub fn relay_id(&self) -> Option<u64> {
        self.shared.conn().and_then(|c| c.my_id()).map(|p| p.0)
    }

    /// The current epoch this client seals in, if any.
    pub fn epoch(&self) -> Option<u64> {
        lock(&self.shared.sealer).as_ref().map(|s| s.epoch)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.shared.counters.snapshot();
        if let Some(c) = self.shared.conn() {
            s.dropped_events += c.media_dropped();
        }
        s
    }

    /// The underlying relay connection (statistics, `max_datagram_size`), while connected.
    pub fn connection(&self) -> Option<Arc<net::RelayConnection>> {
        self.shared.conn()
    }
}
