//! State shared between the driver task and the [`crate::Meeting`] handles: the current sealer
//! (behind a short mutex, so the caller's task seals in place), the connection, what the
//! application can query, and the counters.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use hush_frame::Sealer;
use hush_group::RosterView;
use hush_wire::RelayMode;
use tokio::sync::watch;

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
        }
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
        }
        *hush_wire::sync::write(&self.conn) = conn;
    }

    pub(crate) fn set_sealer(&self, s: Option<SealState>) {
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
