//! The bridge (SPEC §13.2): a task that takes the meeting's events, re-emits every decrypted
//! media frame (and, to the recording, every data message) to the sinks, and hands the other
//! events on to the application. [`Connector`] is its handle.

use std::sync::Arc;
use std::time::Duration;

use hush_client::{ClientRole, Meeting, MeetingConfig, MeetingEvent, MeetingEvents};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::ConnectorError;
use crate::sink::{SinkConfig, Sinks};
use crate::stats::{BridgeStats, Counters};

/// Capacity of the channel of events handed on to the application (media is not among them).
pub const EVENT_CAPACITY: usize = 256;

/// The events a connector hands on: every [`MeetingEvent`] except `Media` (which it bridges).
/// `Data` messages are handed on after being recorded. Events the application does not read in
/// time are dropped and counted ([`BridgeStats::events_dropped`]), never waited for, so a slow
/// reader cannot stall the bridge.
pub type ConnectorEvents = mpsc::Receiver<MeetingEvent>;

/// A running connector: a meeting participant with the role `connector`, bridging what it
/// decrypts to legacy sinks.
#[derive(Debug)]
pub struct Connector {
    meeting: Meeting,
    counters: Arc<Counters>,
    sinks: SinkConfig,
    task: JoinHandle<Result<(), ConnectorError>>,
}

impl Connector {
    /// Opens the sinks (so a bad path or address fails before anything is sent), then joins the
    /// meeting with the role [`ClientRole::Connector`] whatever `config.role` said. The host
    /// must admit it explicitly (SPEC §13.1); see [`Connector::wait_admitted`].
    ///
    /// # Errors
    /// Sink errors ([`ConnectorError::UdpSink`], [`ConnectorError::RecordFile`],
    /// [`ConnectorError::DatagramSize`]) and the meeting's join errors.
    pub async fn join(
        config: MeetingConfig,
        sinks: SinkConfig,
    ) -> Result<(Connector, ConnectorEvents), ConnectorError> {
        let opened = Sinks::open(&sinks).await?;
        let (meeting, events) = Meeting::join(config.with_role(ClientRole::Connector)).await?;
        Ok(Self::start(meeting, events, sinks, opened))
    }

    /// Bridges a meeting the caller joined itself (it must have joined with the role
    /// [`ClientRole::Connector`], or it is not shown as one: SPEC §13.1). Takes its events.
    ///
    /// # Errors
    /// Sink errors, as [`Connector::join`].
    pub async fn attach(
        meeting: Meeting,
        events: MeetingEvents,
        sinks: SinkConfig,
    ) -> Result<(Connector, ConnectorEvents), ConnectorError> {
        let opened = Sinks::open(&sinks).await?;
        Ok(Self::start(meeting, events, sinks, opened))
    }

    fn start(
        meeting: Meeting,
        events: MeetingEvents,
        sinks: SinkConfig,
        opened: Sinks,
    ) -> (Connector, ConnectorEvents) {
        let counters = Arc::new(Counters::default());
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let task = tokio::spawn(run(events, opened, counters.clone(), tx));
        (
            Connector {
                meeting,
                counters,
                sinks,
                task,
            },
            rx,
        )
    }

    /// The meeting (roster, security code, e2ee status, meeting statistics).
    pub fn meeting(&self) -> &Meeting {
        &self.meeting
    }

    /// The sinks this connector bridges to.
    pub fn sinks(&self) -> &SinkConfig {
        &self.sinks
    }

    /// A snapshot of the bridge's counters.
    pub fn stats(&self) -> BridgeStats {
        self.counters.snapshot()
    }

    /// Waits until the host admitted this connector (it holds an epoch's keys), up to
    /// `timeout`. Returns the epoch.
    ///
    /// # Errors
    /// [`hush_client::MeetingError::Timeout`] (e.g. a host that does not admit connectors),
    /// [`hush_client::MeetingError::Closed`].
    pub async fn wait_admitted(&self, timeout: Duration) -> Result<u64, ConnectorError> {
        Ok(self.meeting.wait_ready(timeout).await?)
    }

    /// Stops cleanly: leaves the meeting (the host rekeys and every client's status goes back
    /// to `e2ee: on` if no other connector remains), lets the bridge drain what was already
    /// decrypted, flushes the recording, and returns the final counters.
    ///
    /// # Errors
    /// The first recording error, if the recording stopped early; [`ConnectorError::Task`].
    pub async fn stop(self) -> Result<BridgeStats, ConnectorError> {
        match self.meeting.leave().await {
            Ok(()) | Err(hush_client::MeetingError::Closed) => {}
            Err(e) => tracing::debug!(error = %e, "leave failed"),
        }
        match self.task.await {
            Ok(Ok(())) => Ok(self.counters.snapshot()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ConnectorError::Task),
        }
    }
}

async fn run(
    mut events: MeetingEvents,
    mut sinks: Sinks,
    counters: Arc<Counters>,
    out: mpsc::Sender<MeetingEvent>,
) -> Result<(), ConnectorError> {
    while let Some(first) = events.recv().await {
        let mut next = Some(first);
        // Take everything already queued, then flush the recording once.
        while let Some(ev) = next {
            match ev {
                MeetingEvent::Media(f) => sinks.media(&f, &counters).await,
                ev => {
                    if let MeetingEvent::Data(d) = &ev {
                        sinks.data(d, &counters);
                    }
                    if let Err(mpsc::error::TrySendError::Full(_)) = out.try_send(ev) {
                        Counters::inc(&counters.events_dropped);
                    }
                }
            }
            next = events.try_recv().ok();
        }
        sinks.flush();
    }
    sinks.flush();
    match sinks.record_error.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
