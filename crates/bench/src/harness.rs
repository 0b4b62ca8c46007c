//! One benchmark run: a server on its own runtime, the participants on another, senders and
//! receivers, and the measurement window (issue 6).
//!
//! Threads: the server (hush relay or `quinn-min`) runs on a one-worker tokio runtime whose
//! thread is named [`sys::RELAY_THREAD`]; every participant (QUIC endpoint, sender and receiver
//! tasks) runs on a second one-worker runtime named [`sys::CLIENT_THREAD`]. The calling thread
//! only orchestrates (timers, progress) and is not counted. So on a 2-core machine the relay
//! and the clients each get at most one core, as two separate processes would.
//!
//! `connector` mode: the e2ee meeting plus a `hush_connector::Connector` that joins the same
//! room last (the host admits connectors), opens every frame and re-emits it to a UDP sink
//! ([`super::sink`]). The connector runs on a third one-worker runtime named
//! [`sys::CONNECTOR_THREAD`], counted apart (a service in the provider's cloud is neither the
//! relay nor a participant's device); the sink is an uncounted blocking thread. With three
//! busy threads on two cores, the connector takes CPU from the relay and the clients: that
//! contention is part of what the mode shows.
//!
//! Window: CPU is sampled right before the first frame is sent and after the drain (senders
//! done, then until every expected frame arrived, and the connector bridged every sent frame,
//! or nothing arrived for 300 ms, at most 3 s).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hush_client::net::{self, ConnectOptions, Events, RelayConnection, TrustAnchor};
use hush_client::{
    Admit, ClientRole, Meeting, MeetingConfig, MeetingEvent, MeetingEvents, Refusal,
};
use hush_connector::{Connector, SinkConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::baseline::QuinnMin;
use super::codec::{RecvCodec, STAMP_LEN, Sealing, SendCodec};
use super::sink::UdpSink;
use super::stats::{Histogram, now_ns};
use super::sys::{self, CpuSnapshot};
use super::{ConnectorResult, Mode, Rate, RunResult, Workload};

/// Room every participant joins.
const ROOM: &str = "bench";
/// Capacity of each participant's inbound frame queue (the hush client's event channel too).
const INBOX: usize = 8192;
/// How long participants may take to get the meeting's keys.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Counters shared by all tasks of a run.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    delivered: AtomicU64,
    bad: AtomicU64,
}

/// Runs `mode` on workload `w`; `progress` gets the fraction of the sending time elapsed.
pub fn run(mode: Mode, w: &Workload, progress: &mut dyn FnMut(f64)) -> anyhow::Result<RunResult> {
    w.validate()?;
    let rss_reset = sys::reset_peak_rss();
    if !rss_reset {
        tracing::warn!("cannot reset VmHWM: peak RSS is the process's peak so far");
    }
    let server_rt = runtime(sys::RELAY_THREAD)?;
    let client_rt = runtime(sys::CLIENT_THREAD)?;
    let bridge = if mode == Mode::Connector {
        let sink = UdpSink::start()?;
        Some((runtime(sys::CONNECTOR_THREAD)?, sink))
    } else {
        None
    };
    let server = server_rt.block_on(Server::start(mode, w))?;
    let side = bridge.as_ref().map(|(rt, sink)| BridgeSide {
        handle: rt.handle().clone(),
        sink: sink.addr(),
    });
    let result = client_rt.block_on(drive(mode, w, &server, side, progress));
    let (drops, send_calls, datagrams, bytes) = server.counters();
    server_rt.block_on(server.stop());
    client_rt.shutdown_timeout(Duration::from_secs(1));
    server_rt.shutdown_timeout(Duration::from_secs(1));
    let sink_counts = bridge.map(|(rt, sink)| {
        rt.shutdown_timeout(Duration::from_secs(1));
        sink.stop()
    });
    let mut r = result?;
    r.server_drops = drops;
    r.server_send_calls = send_calls;
    r.server_datagrams = datagrams;
    r.server_bytes = bytes;
    if mode == Mode::E2eeAuth {
        r.ed25519 = Some(crate::Ed25519Cost::measure(w.frame_size, 2000));
    }
    if let (Some(c), Some(s)) = (&mut r.connector, sink_counts) {
        c.sink_datagrams = s.datagrams;
        c.sink_bytes = s.bytes;
    }
    Ok(r)
}

fn runtime(name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("runtime {name}"))
}

/// Where the `connector` mode's connector runs and what it sends to.
#[derive(Clone)]
struct BridgeSide {
    /// The connector's runtime.
    handle: tokio::runtime::Handle,
    /// The UDP sink.
    sink: SocketAddr,
}

/// The server side of a run.
enum Server {
    None,
    /// One relay, or two in a cascade (`--relays 2`).
    Hush(Vec<hush_relay::RunningRelay>),
    Quinn(QuinnMin),
}

impl Server {
    async fn start(mode: Mode, w: &Workload) -> anyhow::Result<Server> {
        Ok(match mode {
            Mode::UdpFloor => Server::None,
            Mode::QuinnMin => Server::Quinn(QuinnMin::start()?),
            _ => {
                let mut cfg = hush_relay::RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
                // The per-connection rate limits protect a public relay; a benchmark that
                // measures the forwarding path must not trip them (their token-bucket charge
                // is still paid on every frame).
                cfg.limits.frames_per_second = 10_000_000;
                cfg.limits.bytes_per_second = 100_000_000_000;
                // Meetings of up to 200 (the room cap of a public relay is 100).
                cfg.limits.max_participants_per_room = 1000;
                if mode == Mode::Transport {
                    // The 2020 model: the relay's key service issues the keys and, holding
                    // them, opens every frame it forwards (on the relay's thread).
                    let service =
                        hush_keyservice::KeyService::new(hush_keyservice::KeyServiceConfig {
                            suite: w.suite,
                            dump_dir: None,
                        });
                    cfg.hook = Some(Arc::new(service));
                }
                if w.relays == 1 {
                    let relay = hush_relay::Relay::bind(cfg).await.context("relay bind")?;
                    return Ok(Server::Hush(vec![relay.spawn()]));
                }
                // Two relays in a cascade (SPEC §15): the second dials the first.
                let cluster = |name: &str, peers| hush_relay::ClusterConfig {
                    name: name.to_owned(),
                    secret: b"hush-bench cluster secret, loopback only".to_vec(),
                    peers,
                    directory: None,
                };
                let mut first = cfg.clone();
                first.cluster = Some(cluster("bench-a", Vec::new()));
                let a = hush_relay::Relay::bind(first).await.context("relay bind")?;
                let to_a = hush_relay::PeerAddr {
                    addr: a.local_addr(),
                    pin: a.cert_sha256(),
                };
                let mut second = cfg;
                second.cluster = Some(cluster("bench-b", vec![to_a]));
                let b = hush_relay::Relay::bind(second)
                    .await
                    .context("relay bind")?;
                let relays = vec![a.spawn(), b.spawn()];
                let linked = async {
                    while relays.iter().any(|r| r.handle.peer_links().len() != 1) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                };
                tokio::time::timeout(Duration::from_secs(10), linked)
                    .await
                    .context("the two relays did not link")?;
                Server::Hush(relays)
            }
        })
    }

    /// Where each relay listens and its pin (one for `quinn-min`, none without a server).
    fn targets(&self) -> Vec<(SocketAddr, [u8; 32])> {
        match self {
            Server::None => Vec::new(),
            Server::Hush(rs) => rs.iter().map(|r| (r.addr, r.cert_sha256)).collect(),
            Server::Quinn(q) => vec![(q.addr, q.cert_sha256)],
        }
    }

    /// Frames it dropped, its UDP send system calls, the datagrams they carried and their
    /// bytes.
    fn counters(&self) -> (u64, u64, u64, u64) {
        match self {
            Server::Hush(rs) => rs.iter().fold((0, 0, 0, 0), |acc, r| {
                let st = r.handle.stats();
                tracing::debug!(?st, "relay counters");
                (
                    acc.0 + st.drops,
                    acc.1 + st.udp_send_calls,
                    acc.2 + st.udp_datagrams_sent,
                    acc.3 + st.udp_bytes_sent,
                )
            }),
            Server::Quinn(q) => {
                let (calls, datagrams) = q.udp.snapshot();
                (0, calls, datagrams, q.udp.bytes_sent())
            }
            Server::None => (0, 0, 0, 0),
        }
    }

    async fn stop(self) {
        match self {
            Server::None => {}
            Server::Hush(rs) => {
                for r in rs {
                    let _ = r.shutdown().await;
                }
            }
            Server::Quinn(q) => q.stop().await,
        }
    }
}

/// How a participant sends.
#[derive(Clone)]
enum Link {
    Meeting(Meeting),
    Hush(Arc<RelayConnection>),
    Raw(quinn::Connection),
    Udp(Arc<UdpSocket>, Arc<[SocketAddr]>),
}

impl Link {
    /// Builds, seals and sends the next frame of `codec`.
    async fn send_next(&self, codec: &mut SendCodec) -> anyhow::Result<()> {
        match self {
            Link::Meeting(m) => {
                m.send_media(codec.next_plaintext()).await?;
                Ok(())
            }
            _ => self.send(codec.next_frame()?).await,
        }
    }

    async fn send(&self, frame: Bytes) -> anyhow::Result<()> {
        match self {
            Link::Meeting(_) => anyhow::bail!("a meeting seals its own frames"),
            Link::Hush(c) => {
                c.send_media(frame).await?;
            }
            Link::Raw(c) => {
                if c.max_datagram_size().is_some_and(|m| frame.len() <= m) {
                    c.send_datagram_wait(frame).await?;
                } else {
                    let mut s = c.open_uni().await?;
                    s.write_chunk(frame).await?;
                    s.finish()?;
                }
            }
            Link::Udp(sock, dests) => {
                for d in dests.iter() {
                    sock.send_to(&frame, d).await?;
                }
            }
        }
        Ok(())
    }
}

/// Where a participant's frames arrive.
enum Inbox {
    Meeting(MeetingEvents),
    Hush(Events),
    Raw(mpsc::Receiver<Bytes>),
    Udp(Arc<UdpSocket>, Vec<u8>),
}

impl Inbox {
    /// The next frame's bytes, written into `out`; false when the source ended.
    async fn next(&mut self) -> Option<Bytes> {
        match self {
            Inbox::Meeting(ev) => loop {
                match ev.recv().await? {
                    MeetingEvent::Media(m) => return Some(m.payload),
                    MeetingEvent::Disconnected {
                        reconnecting: false,
                        ..
                    } => return None,
                    // A frame the meeting refused: an empty frame counts as a bad one. A
                    // refused group message is not a frame: it is said, not counted.
                    MeetingEvent::Refused {
                        reason: Refusal::Data(e),
                        from,
                    } => {
                        tracing::warn!(from, error = %e, "the meeting refused a frame");
                        return Some(Bytes::new());
                    }
                    MeetingEvent::Refused { from, reason } => {
                        tracing::warn!(from, %reason, "the meeting refused a message");
                    }
                    _ => {}
                }
            },
            Inbox::Hush(ev) => loop {
                match ev.recv().await? {
                    net::Event::Media(b) => return Some(b),
                    net::Event::Closed { .. } => return None,
                    _ => {}
                }
            },
            Inbox::Raw(rx) => rx.recv().await,
            Inbox::Udp(sock, buf) => {
                let n = sock.recv(buf).await.ok()?;
                Some(Bytes::copy_from_slice(&buf[..n]))
            }
        }
    }
}

struct Participant {
    link: Link,
    inbox: Option<Inbox>,
}

/// Connects every participant (on the client runtime) and returns them in index order, with
/// the connector in `connector` mode.
async fn connect_all(
    mode: Mode,
    w: &Workload,
    targets: Vec<(SocketAddr, [u8; 32])>,
    bridge: Option<BridgeSide>,
) -> anyhow::Result<(Vec<Participant>, Option<Connector>)> {
    let target = targets.first().copied();
    let at = |i: usize| targets.get(w.relay_of(i)).copied().or(target);
    let n = w.participants();
    let mut out = Vec::with_capacity(n);
    let mut connector = None;
    match (mode, target) {
        (Mode::UdpFloor, _) => {
            let mut socks = Vec::with_capacity(n);
            for _ in 0..n {
                let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                socks.push(Arc::new(s));
            }
            let addrs: Vec<SocketAddr> = socks
                .iter()
                .map(|s| s.local_addr())
                .collect::<Result<_, _>>()?;
            for (i, s) in socks.iter().enumerate() {
                let dests: Vec<SocketAddr> = (0..n)
                    .filter(|&j| j != i && w.receives(j))
                    .map(|j| addrs[j])
                    .collect();
                out.push(Participant {
                    link: Link::Udp(s.clone(), Arc::from(dests)),
                    inbox: w
                        .receives(i)
                        .then(|| Inbox::Udp(s.clone(), vec![0u8; 65536])),
                });
            }
        }
        (Mode::QuinnMin, Some((addr, pin))) => {
            let cfg = net::client_config(&TrustAnchor::Sha256(pin))?;
            for i in 0..n {
                let mut ep = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0)))?;
                ep.set_default_client_config(cfg.clone());
                let conn = ep.connect(addr, "hush-relay")?.await?;
                let inbox = w.receives(i).then(|| Inbox::Raw(raw_reader(conn.clone())));
                out.push(Participant {
                    link: Link::Raw(conn),
                    inbox,
                });
            }
            // Let the forwarder register every connection before the first frame.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (Mode::E2ee | Mode::E2eeAuth | Mode::Transport | Mode::Connector, Some((addr, pin))) => {
            // Participant 0 hosts (admits everyone automatically, and connectors in connector
            // mode); each join starts a new epoch (SPEC §8), so wait until everyone holds the
            // keys of a roster listing all (the connector included).
            let mut meetings = Vec::with_capacity(n);
            for i in 0..n {
                let (addr, pin) = at(i).unwrap_or((addr, pin));
                let mut cfg =
                    MeetingConfig::new(addr, TrustAnchor::Sha256(pin), ROOM, format!("p{i}"))?;
                cfg.suite = w.suite;
                cfg.kem = w.kem;
                cfg.event_capacity = INBOX;
                cfg.sender_auth = mode == Mode::E2eeAuth;
                // Transport mode is opted into explicitly, and nobody hosts there (SPEC §12.5).
                cfg.allow_transport = mode == Mode::Transport;
                if i == 0 && mode != Mode::Transport {
                    cfg.role = ClientRole::Host {
                        admit: Admit::Auto,
                        admit_connectors: mode == Mode::Connector,
                    };
                }
                let (m, events) = Meeting::join(cfg).await?;
                meetings.push((m, events));
            }
            let mut others = n - 1;
            if let (Mode::Connector, Some(b)) = (mode, &bridge) {
                let mut cfg =
                    MeetingConfig::new(addr, TrustAnchor::Sha256(pin), ROOM, "bench-connector")?;
                cfg.suite = w.suite;
                cfg.event_capacity = INBOX;
                let sinks = SinkConfig {
                    udp: Some(b.sink),
                    ..SinkConfig::default()
                };
                // Joined on its own runtime, so its endpoint and bridge task run there.
                let (c, _events) = b
                    .handle
                    .spawn(Connector::join(cfg, sinks))
                    .await
                    .context("connector task")?
                    .context("connector join")?;
                c.meeting()
                    .wait_for_others(n, READY_TIMEOUT)
                    .await
                    .context("waiting for the connector's admission")?;
                connector = Some(c);
                others = n;
            }
            for (m, _) in &meetings {
                let ready = if mode != Mode::Transport {
                    m.wait_for_others(others, READY_TIMEOUT).await
                } else {
                    m.wait_ready(READY_TIMEOUT).await
                };
                ready.context("waiting for the meeting's keys")?;
            }
            for (i, (m, events)) in meetings.into_iter().enumerate() {
                out.push(Participant {
                    link: Link::Meeting(m),
                    inbox: w.receives(i).then_some(Inbox::Meeting(events)),
                });
            }
        }
        (_, Some((addr, pin))) => {
            for i in 0..n {
                let (addr, pin) = at(i).unwrap_or((addr, pin));
                let opts = ConnectOptions {
                    event_capacity: INBOX,
                    ..ConnectOptions::default()
                };
                let (conn, events) = net::connect(addr, TrustAnchor::Sha256(pin), opts).await?;
                conn.join(ROOM).await?;
                out.push(Participant {
                    link: Link::Hush(Arc::new(conn)),
                    inbox: w.receives(i).then_some(Inbox::Hush(events)),
                });
            }
        }
        (m, None) => anyhow::bail!("mode {m} needs a server"),
    }
    Ok((out, connector))
}

/// Reads a raw quinn connection's datagrams and streams into one queue, as the hush client's
/// network layer does with its event channel (a full queue drops the frame).
fn raw_reader(conn: quinn::Connection) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(INBOX);
    let dtx = tx.clone();
    let dconn = conn.clone();
    tokio::spawn(async move {
        while let Ok(d) = dconn.read_datagram().await {
            let _ = dtx.try_send(d);
        }
    });
    tokio::spawn(async move {
        while let Ok(mut s) = conn.accept_uni().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Ok(d) = s.read_to_end(hush_wire::MAX_FRAME_SIZE).await {
                    let _ = tx.try_send(Bytes::from(d));
                }
            });
        }
    });
    rx
}

fn sealing(mode: Mode, w: &Workload) -> Sealing {
    match mode {
        Mode::Sframe => Sealing::Sealed(w.suite),
        Mode::E2ee | Mode::E2eeAuth | Mode::Transport | Mode::Connector => Sealing::Meeting,
        _ => Sealing::Plain,
    }
}

async fn drive(
    mode: Mode,
    w: &Workload,
    server: &Server,
    bridge: Option<BridgeSide>,
    progress: &mut dyn FnMut(f64),
) -> anyhow::Result<RunResult> {
    let targets = server.targets();
    let w2 = w.clone();
    let b2 = bridge.clone();
    let (participants, connector) =
        tokio::spawn(async move { connect_all(mode, &w2, targets, b2).await })
            .await
            .context("connect task")??;
    let sealing = sealing(mode, w);
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut receivers = Vec::new();
    let mut links = Vec::new();
    for (i, p) in participants.into_iter().enumerate() {
        if let Some(inbox) = p.inbox {
            let size = match w.rate {
                Rate::Trace(_) => crate::codec::ANY_SIZE,
                _ => w.frame_size,
            };
            let codec = RecvCodec::new(sealing, w.senders, size)?;
            receivers.push(tokio::spawn(receive(
                inbox,
                codec,
                tally.clone(),
                stop_rx.clone(),
            )));
        }
        if w.sends(i) {
            links.push((i, p.link.clone()));
        }
        if !w.sends(i) {
            // Keep the connection of a receive-only participant open until the end.
            links.push((usize::MAX, p.link));
        }
    }

    let cpu0 = CpuSnapshot::take();
    let t0 = Instant::now();
    let start = tokio::time::Instant::now();
    let deadline = start + w.duration;
    let mut senders = Vec::new();
    for (i, link) in links.iter().filter(|(i, _)| *i != usize::MAX).cloned() {
        let codec = SendCodec::new(sealing, i as u64, w.frame_size)?;
        let offset = match &w.rate {
            Rate::Fps(f) => Duration::from_secs_f64(i as f64 / (f * w.senders as f64)),
            Rate::Max => Duration::ZERO,
            Rate::Trace(t) => t.period.mul_f64(i as f64 / w.senders as f64),
        };
        senders.push(tokio::spawn(send(
            link,
            codec,
            w.rate.clone(),
            start + offset,
            deadline,
            tally.clone(),
        )));
    }
    while tokio::time::Instant::now() < deadline {
        progress(t0.elapsed().as_secs_f64() / w.duration.as_secs_f64());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut send_error = None;
    for s in senders {
        if let Ok(Err(e)) = s.await {
            send_error.get_or_insert(e);
        }
    }
    progress(1.0);
    // Drain.
    let sent = tally.sent.load(Relaxed);
    let expected = sent * w.fanout() as u64;
    // The connector is one more member: it gets every sent frame once.
    let bridged = || connector.as_ref().map_or(0, |c| c.stats().frames_bridged);
    let bridge_expected = if connector.is_some() { sent } else { 0 };
    let drain_start = Instant::now();
    let mut last = u64::MAX;
    let mut still = Instant::now();
    while drain_start.elapsed() < Duration::from_secs(3) {
        let (got, b) = (
            tally.delivered.load(Relaxed) + tally.bad.load(Relaxed),
            bridged(),
        );
        if got >= expected && b >= bridge_expected {
            break;
        }
        let d = got + b;
        if d != last {
            last = d;
            still = Instant::now();
        } else if still.elapsed() >= Duration::from_millis(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = CpuSnapshot::take().since(&cpu0);
    let elapsed_s = t0.elapsed().as_secs_f64();
    let peak_rss_mb = sys::peak_rss_mb();
    let _ = stop_tx.send(true);
    // Stop the connector first (on its runtime). Its final counters (the drain waited for it
    // to bridge every sent frame, so they match the window's unless the drain timed out) are
    // compared with what the sink received after it stopped.
    let connector = match (connector, &bridge) {
        (Some(c), Some(b)) => {
            let mut at_end = c.stats();
            let dropped = c.meeting().stats().dropped_events;
            let stopped =
                tokio::time::timeout(Duration::from_secs(3), b.handle.spawn(c.stop())).await;
            match stopped {
                Ok(Ok(Ok(last))) => at_end = last,
                _ => tracing::warn!("connector did not stop cleanly"),
            }
            Some(ConnectorResult {
                frames_bridged: at_end.frames_bridged,
                frames_dropped: dropped,
                datagrams_sent: at_end.datagrams_sent,
                udp_errors: at_end.udp_errors,
                sink_datagrams: 0,
                sink_bytes: 0,
                cpu_s: cpu.connector_s,
            })
        }
        _ => None,
    };
    let mut hist = Histogram::new();
    for r in receivers {
        if let Ok(h) = r.await {
            hist.merge(&h);
        }
    }
    // Close every connection from the client runtime.
    let closing: Vec<Link> = links.into_iter().map(|(_, l)| l).collect();
    let _ = tokio::spawn(async move {
        for l in closing {
            match l {
                Link::Meeting(m) => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), m.leave()).await;
                }
                Link::Hush(c) => c.close().await,
                Link::Raw(c) => c.close(quinn::VarInt::from_u32(0), b"done"),
                Link::Udp(..) => {}
            }
        }
    })
    .await;
    if let Some(e) = send_error
        && tally.sent.load(Relaxed) == 0
    {
        return Err(e.context("sending"));
    }
    let q = |p: f64| hist.quantile(p) as f64 / 1000.0;
    Ok(RunResult {
        mode,
        workload: w.clone(),
        frames_sent: tally.sent.load(Relaxed),
        frames_delivered: tally.delivered.load(Relaxed),
        frames_bad: tally.bad.load(Relaxed),
        elapsed_s,
        latency_samples: hist.len(),
        latency_us: [q(0.50), q(0.99), q(0.999)],
        relay_cpu_s: cpu.relay_s,
        clients_cpu_s: cpu.clients_s,
        peak_rss_mb,
        server_drops: 0,
        connector,
        attempts: 1,
        ed25519: None,
        server_send_calls: 0,
        server_datagrams: 0,
        server_bytes: 0,
    })
}

async fn send(
    link: Link,
    mut codec: SendCodec,
    rate: Rate,
    first: tokio::time::Instant,
    deadline: tokio::time::Instant,
    tally: Arc<Tally>,
) -> anyhow::Result<()> {
    match rate {
        Rate::Fps(f) => {
            let mut tick = tokio::time::interval_at(first, Duration::from_secs_f64(1.0 / f));
            loop {
                let at = tick.tick().await;
                if at >= deadline {
                    return Ok(());
                }
                link.send_next(&mut codec).await?;
                tally.sent.fetch_add(1, Relaxed);
            }
        }
        Rate::Max => loop {
            if tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            link.send_next(&mut codec).await?;
            tally.sent.fetch_add(1, Relaxed);
            // One runtime thread carries every participant: let the receivers run.
            tokio::task::yield_now().await;
        },
        Rate::Trace(t) => {
            for cycle in 0u32.. {
                let base = first + t.period * cycle;
                for &(at, size) in &t.frames {
                    let due = base + at;
                    if due >= deadline {
                        return Ok(());
                    }
                    tokio::time::sleep_until(due).await;
                    codec.set_frame_size(size);
                    link.send_next(&mut codec).await?;
                    tally.sent.fetch_add(1, Relaxed);
                }
            }
            Ok(())
        }
    }
}

async fn receive(
    mut inbox: Inbox,
    mut codec: RecvCodec,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> Histogram {
    let mut hist = Histogram::new();
    loop {
        let frame = tokio::select! {
            biased;
            f = inbox.next() => f,
            _ = stop.changed() => None,
        };
        let Some(frame) = frame else { break };
        if frame.len() < STAMP_LEN {
            tally.bad.fetch_add(1, Relaxed);
            continue;
        }
        match codec.open(&frame) {
            Ok(stamp) => {
                hist.record(now_ns().saturating_sub(stamp));
                tally.delivered.fetch_add(1, Relaxed);
            }
            Err(_) => {
                tally.bad.fetch_add(1, Relaxed);
            }
        }
    }
    hist
}

/// What `hush bench --mode rekey-live` measured: a real loopback meeting of `members` (every
/// client in this process, on the one client thread), the last member leaves, and each of the
/// others is timed until it holds the keys of the next epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRekey {
    /// The meeting's KEM.
    pub kem: hush_group::KemId,
    /// Members before the leave, host included.
    pub members: usize,
    /// Seconds the meeting took to form (every member keyed with all the others).
    pub setup_s: f64,
    /// From the leave to each remaining member keyed: p50 and the last, in ms.
    pub leave_to_keyed_ms: [f64; 2],
}

/// Runs one live rekey (see [`LiveRekey`]).
pub fn rekey_live(
    members: usize,
    kem: hush_group::KemId,
    suite: hush_frame::CipherSuite,
) -> anyhow::Result<LiveRekey> {
    anyhow::ensure!(
        (3..=200).contains(&members),
        "--members for rekey-live: 3..=200"
    );
    let w = Workload {
        senders: members,
        receivers: members,
        frame_size: 160,
        rate: Rate::Fps(1.0),
        duration: Duration::from_secs(1),
        suite,
        kem,
        relays: 1,
    };
    let server_rt = runtime(sys::RELAY_THREAD)?;
    let client_rt = runtime(sys::CLIENT_THREAD)?;
    let server = server_rt.block_on(Server::start(Mode::E2eeAuth, &w))?;
    let targets = server.targets();
    let result = client_rt.block_on(async move {
        let started = Instant::now();
        let w2 = w.clone();
        let (participants, _) =
            tokio::spawn(async move { connect_all(Mode::E2eeAuth, &w2, targets, None).await })
                .await
                .context("connect task")??;
        let setup_s = started.elapsed().as_secs_f64();
        let meetings: Vec<Meeting> = participants
            .into_iter()
            .filter_map(|p| match p.link {
                Link::Meeting(m) => Some(m),
                _ => None,
            })
            .collect();
        let (leaver, stay) = meetings.split_last().context("no meeting")?;
        let before = stay[0].epoch().unwrap_or(0);
        let t0 = Instant::now();
        // Every member waits from before the leave (the rekey may land before `leave` returns).
        let waits: Vec<_> = stay
            .iter()
            .map(|m| {
                let m = m.clone();
                tokio::spawn(async move {
                    m.wait_for_epoch_after(before, READY_TIMEOUT).await?;
                    Ok::<_, anyhow::Error>(t0.elapsed().as_secs_f64() * 1e3)
                })
            })
            .collect();
        leaver.leave().await?;
        let mut ms = Vec::with_capacity(waits.len());
        for t in waits {
            ms.push(t.await.context("wait task")??);
        }
        ms.sort_by(f64::total_cmp);
        // The others do not leave one by one (199 more rekeys): stopping the relay ends them.
        Ok::<_, anyhow::Error>(LiveRekey {
            kem,
            members,
            setup_s,
            leave_to_keyed_ms: [ms[ms.len() / 2], ms[ms.len() - 1]],
        })
    });
    server_rt.block_on(server.stop());
    client_rt.shutdown_timeout(Duration::from_secs(1));
    server_rt.shutdown_timeout(Duration::from_secs(1));
    result
}
