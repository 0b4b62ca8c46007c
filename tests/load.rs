//! Load (issue 7): the real relay (`hush relay`, a child process, so its memory is its own)
//! carries 200 honest clients in 20 rooms sending audio-sized frames at 50 fps, while 20 more
//! clients send garbage, oversize frames and floods into the same rooms. Loopback only, bounded
//! in time. Asserts: the relay stays up and still serves; every control message of the honest
//! clients arrives (reliable path); media loss in the honest rooms stays under 1 %; the relay's
//! peak memory stays under [`PEAK_RSS_BOUND_KIB`].
//!
//! The clients are `hush_client::net` connections, not full `Meeting`s: frames are opaque to
//! the relay, so sealing adds nothing to its load, and 200 E2EE meetings would measure the test
//! process rather than the relay. Each frame is `magic ‖ sender u32 ‖ seq u32 ‖ padding`.
//!
//! Two sizes: the full one (ignored by default; `cargo test --release --test load -- --ignored
//! --nocapture`, knobs `HUSH_LOAD_SECS` (default 5), `HUSH_LOAD_CLIENTS` (200),
//! `HUSH_LOAD_ROOMS` (20), `HUSH_LOAD_ATTACKERS` (20)) and a fifth of it that runs every time.
//!
//! Loss accounting: every honest frame is counted by sender and sequence number at each receiver,
//! after a drain of up to 5 s once the last frame is sent, so nothing still in flight is counted
//! lost. The report splits the missing receptions by leg (a frame no receiver got was lost on
//! the way to the relay or in it; one some receivers got, on the way out) and by second, and
//! reads the kernel's per-socket drop counters (`/proc/net/udp`) of the relay's socket and of
//! the honest clients' sockets, with the host's load average and how long the relay's threads
//! waited for a CPU: the test shares its host, and a relay starved of CPU overflows its socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use hush_client::net::{self, ConnectOptions, Event, RelayConnection, TrustAnchor};
use hush_testkit::RelayProcess;
use hush_wire::Target;

/// Audio-sized: a 20 ms Opus frame plus SFrame overhead.
const FRAME: usize = 160;
const FPS: u64 = 50;
const MAGIC: &[u8; 4] = b"LOAD";
const CONTROL_MAGIC: &[u8; 4] = b"CTRL";
/// One control message (a stand-in for a roster or key message) per client every 500 ms.
const CONTROL_EVERY: u64 = FPS / 2;
/// The relay's largest frame in this test; the oversize attackers send more.
const MAX_FRAME: usize = 64 * 1024;
/// The stated bound on the relay's peak resident memory under this load.
const PEAK_RSS_BOUND_KIB: u64 = 256 * 1024;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Received {
    /// Per sender index: media frames received.
    media: HashMap<u32, u64>,
    /// Per sender index: which sequence numbers arrived (to tell where a lost frame was lost).
    seen: HashMap<u32, Vec<bool>>,
    /// Per sender index: control messages received, in order (checked contiguous).
    control: HashMap<u32, u64>,
    /// Control messages out of order or with gaps.
    control_gaps: u64,
    /// Frames that are not honest ones (the attackers' garbage).
    garbage: u64,
    closed: Option<String>,
}

async fn connect(addr: std::net::SocketAddr, pin: [u8; 32]) -> (RelayConnection, net::Events) {
    let opts = ConnectOptions {
        event_capacity: 16 * 1024,
        ..ConnectOptions::default()
    };
    net::connect(addr, TrustAnchor::Sha256(pin), opts)
        .await
        .unwrap()
}

fn frame(sender: u32, seq: u32) -> Bytes {
    let mut b = BytesMut::with_capacity(FRAME);
    b.put_slice(MAGIC);
    b.put_u32(sender);
    b.put_u32(seq);
    b.resize(FRAME, 0x5a);
    b.freeze()
}

fn parse(magic: &[u8; 4], b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 12 || &b[..4] != magic {
        return None;
    }
    let sender = u32::from_be_bytes(b[4..8].try_into().ok()?);
    let seq = u32::from_be_bytes(b[8..12].try_into().ok()?);
    Some((sender, seq))
}

async fn receive(mut events: net::Events, rx: Arc<Mutex<Received>>, frames: usize) {
    while let Some(ev) = events.recv().await {
        let mut guard = rx.lock().unwrap();
        let r = &mut *guard;
        match ev {
            Event::Media(b) => match parse(MAGIC, &b) {
                Some((s, seq)) => {
                    *r.media.entry(s).or_default() += 1;
                    let seen = r.seen.entry(s).or_insert_with(|| vec![false; frames]);
                    if let Some(slot) = seen.get_mut(seq as usize) {
                        *slot = true;
                    }
                }
                None => r.garbage += 1,
            },
            Event::Deliver { blob, .. } => match parse(CONTROL_MAGIC, &blob) {
                Some((s, seq)) => {
                    let n = r.control.entry(s).or_default();
                    if u64::from(seq) != *n {
                        r.control_gaps += 1;
                    }
                    *n += 1;
                }
                None => r.garbage += 1,
            },
            Event::Closed { reason, .. } => {
                r.closed = Some(reason);
                break;
            }
            _ => {}
        }
    }
}

/// Inodes of this process's sockets (Linux `/proc/self/fd`; empty elsewhere).
fn own_socket_inodes() -> HashSet<u64> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return HashSet::new();
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
            l.parse().ok()
        })
        .collect()
}

/// The kernel's per-socket drop counters of every UDP socket on the host (Linux `/proc/net/udp`
/// and `udp6`): `(local port, inode, drops)`. A datagram dropped because the socket's receive
/// buffer was full is counted here, on the socket that would have received it.
fn udp_socket_drops() -> Vec<(u16, u64, u64)> {
    let mut out = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            let inode = f.get(9).and_then(|v| v.parse().ok());
            let drops = f.last().and_then(|v| v.parse().ok());
            if let (Some(port), Some(inode), Some(drops)) = (port, inode, drops) {
                out.push((port, inode, drops));
            }
        }
    }
    out
}

/// Time a process's threads spent running and waiting for a CPU so far (Linux
/// `/proc/<pid>/task/*/schedstat`), in milliseconds.
fn sched_ms(pid: u32) -> (u64, u64) {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let mut out = (0, 0);
    for t in dir.flatten() {
        let Ok(st) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        let f: Vec<u64> = st
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if let [run, wait, ..] = f[..] {
            out.0 += run / 1_000_000;
            out.1 += wait / 1_000_000;
        }
    }
    out
}

/// One attacker: joins an honest room and misbehaves in its own way, reconnecting each time the
/// relay throws it out, until `stop`.
async fn attacker(
    kind: u64,
    room: String,
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    stop: Arc<AtomicBool>,
    kicked: Arc<AtomicU64>,
) {
    let mut junk = BytesMut::new();
    while !stop.load(Relaxed) {
        let Ok((conn, mut events)) =
            net::connect(addr, TrustAnchor::Sha256(pin), ConnectOptions::default()).await
        else {
            continue;
        };
        if conn.join(&room).await.is_err() {
            continue;
        }
        let c = Arc::new(conn);
        let misbehave = {
            let c = c.clone();
            let stop = stop.clone();
            junk.clear();
            junk.resize(1000, 0xee);
            let junk = junk.clone().freeze();
            async move {
                match kind % 4 {
                    // Garbage on the control stream: an unknown message type.
                    0 => {
                        let _ = c
                            .write_raw_control(Bytes::from_static(&[0, 0, 0, 3, 0x7f, 1, 2]))
                            .await;
                    }
                    // Oversize: a frame larger than the relay's maximum, then a control length
                    // prefix far beyond the maximum.
                    1 => {
                        let _ = c.send_media(Bytes::from(vec![0xab; MAX_FRAME + 1])).await;
                        let _ = c
                            .write_raw_control(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]))
                            .await;
                    }
                    // Flood: datagrams as fast as the connection takes them.
                    2 => {
                        while !stop.load(Relaxed) {
                            if c.send_media(junk.clone()).await.is_err() {
                                break;
                            }
                        }
                    }
                    // Garbage media at a steady 200 fps (under the rate limit): forwarded, and
                    // every honest receiver must ignore it.
                    _ => {
                        let mut tick = tokio::time::interval(Duration::from_millis(5));
                        while !stop.load(Relaxed) {
                            tick.tick().await;
                            if c.send_media(junk.slice(..200)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                std::future::pending::<()>().await;
            }
        };
        let closed = async {
            while let Some(ev) = events.recv().await {
                if matches!(ev, Event::Closed { .. }) {
                    break;
                }
            }
        };
        tokio::select! {
            () = misbehave => {}
            () = closed => { kicked.fetch_add(1, Relaxed); }
            () = async { while !stop.load(Relaxed) { tokio::time::sleep(Duration::from_millis(50)).await } } => {}
        }
        c.close().await;
    }
}

/// The load of issue 7 at full size. Ignored by default: on a 2-core host it measures the host
/// (200 QUIC endpoints and the relay share two cores) as much as the relay. In release it met
/// the 1 % target in every run at a host load average of about 2, and failed in most runs at
/// 3-4, every lost frame overflowing the relay's socket while the relay waited for a CPU. Run
/// it with `cargo test --release --test load -- --ignored --nocapture` (SECURITY.md has the
/// numbers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full size: run in release, see SECURITY.md"]
async fn load_200_clients_20_rooms_with_attackers() {
    run_load(
        knob("HUSH_LOAD_CLIENTS", 200) as u32,
        knob("HUSH_LOAD_ROOMS", 20) as u32,
        knob("HUSH_LOAD_ATTACKERS", 20),
        knob("HUSH_LOAD_SECS", 5),
    )
    .await;
}

/// The same load at a fifth of the size, every run (CI): 40 clients in 4 rooms, 4 attackers, 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_40_clients_4_rooms_with_attackers() {
    run_load(40, 4, 4, 3).await;
}

/// The host's load averages (Linux `/proc/loadavg`), for the record: the test shares the host.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

async fn run_load(clients: u32, rooms: u32, attackers: u64, secs: u64) {
    let load_before = load_average();
    let frames = secs * FPS;
    let mut relay = RelayProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_hush")),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--max-frame-size".into(),
            MAX_FRAME.to_string(),
            "--max-connections".into(),
            "1000".into(),
            "--metrics".into(),
            "127.0.0.1:0".into(),
            // Budgets sized for audio clients (50 fps, 160 B, a control message now and then):
            // 5x the frames, 32x the bytes. A flood is cut off after its one-second burst.
            "--frames-per-sec".into(),
            "250".into(),
            "--bytes-per-sec".into(),
            "262144".into(),
        ],
    )
    .unwrap();
    let (addr, pin) = (relay.addr, relay.pin);
    let rcvbuf_errors = hush_testkit::udp_rcvbuf_errors().unwrap_or(0);
    let room_of = move |i: u32| format!("load-{}", i % rooms);

    // Honest clients: connect and join (in parallel batches), each with its receiver task.
    let mut honest = Vec::new();
    for batch in (0..clients).collect::<Vec<_>>().chunks(20) {
        let joins: Vec<_> = batch
            .iter()
            .map(|&i| {
                tokio::spawn(async move {
                    let (c, ev) = connect(addr, pin).await;
                    c.join(&room_of(i)).await.unwrap();
                    (i, c, ev)
                })
            })
            .collect();
        for j in joins {
            let (i, c, ev) = j.await.unwrap();
            let rx = Arc::new(Mutex::new(Received::default()));
            tokio::spawn(receive(ev, rx.clone(), frames as usize));
            honest.push((i, Arc::new(c), rx));
        }
    }

    // The honest clients' sockets (every socket of this process so far), and the kernel's drop
    // counters before any media flows.
    let honest_sockets = own_socket_inodes();
    let relay_port = addr.port();
    let socket_drops = |table: &[(u16, u64, u64)]| -> (u64, u64) {
        let sum = |keep: &dyn Fn(u16, u64) -> bool| -> u64 {
            table
                .iter()
                .filter(|&&(port, inode, _)| keep(port, inode))
                .map(|d| d.2)
                .sum()
        };
        (
            sum(&|port, inode| port == relay_port && !honest_sockets.contains(&inode)),
            sum(&|_, inode| honest_sockets.contains(&inode)),
        )
    };
    let drops_before = socket_drops(&udp_socket_drops());
    let relay_sched_before = sched_ms(relay.pid());

    // Attackers, in the honest rooms.
    let stop = Arc::new(AtomicBool::new(false));
    let kicked = Arc::new(AtomicU64::new(0));
    let attack_tasks: Vec<_> = (0..attackers)
        .map(|k| {
            tokio::spawn(attacker(
                k,
                room_of(k as u32),
                addr,
                pin,
                stop.clone(),
                kicked.clone(),
            ))
        })
        .collect();

    // Honest senders: `frames` frames at 50 fps each, a control message every 500 ms.
    let sent_media = Arc::new(AtomicU64::new(0));
    let late_max = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let senders: Vec<_> = honest
        .iter()
        .map(|(i, c, _)| {
            let (i, c, sent) = (*i, c.clone(), sent_media.clone());
            let late_max = late_max.clone();
            tokio::spawn(async move {
                // Spread the senders over one frame interval.
                tokio::time::sleep(Duration::from_micros(
                    u64::from(i) * 20_000 / u64::from(clients),
                ))
                .await;
                let mut tick = tokio::time::interval(Duration::from_millis(1000 / FPS));
                for seq in 0..frames {
                    let due = tick.tick().await;
                    late_max.fetch_max(due.elapsed().as_millis() as u64, Relaxed);
                    if c.send_media(frame(i, seq as u32)).await.is_ok() {
                        sent.fetch_add(1, Relaxed);
                    }
                    if seq % CONTROL_EVERY == 0 {
                        let mut b = BytesMut::new();
                        b.put_slice(CONTROL_MAGIC);
                        b.put_u32(i);
                        b.put_u32((seq / CONTROL_EVERY) as u32);
                        c.send_blob(Target::All, b.freeze()).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let send_time = start.elapsed();
    stop.store(true, Relaxed);
    for a in attack_tasks {
        let _ = a.await;
    }

    // Drain: wait (bounded) until every honest receiver has every control message and as much
    // media as will come.
    let per_room = u64::from(clients / rooms);
    let controls = frames.div_ceil(CONTROL_EVERY);
    let expected_media = u64::from(clients) * (per_room - 1) * frames;
    let drain_until = Instant::now() + Duration::from_secs(5);
    let total = |f: &dyn Fn(&Received) -> u64| -> u64 {
        honest.iter().map(|(_, _, r)| f(&r.lock().unwrap())).sum()
    };
    while Instant::now() < drain_until {
        let media = total(&|r| r.media.values().sum());
        let ctrl = total(&|r| r.control.values().sum());
        if media >= expected_media && ctrl >= u64::from(clients) * (per_room - 1) * controls {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let drops_after = socket_drops(&udp_socket_drops());
    let (relay_socket_drops, client_socket_drops) = (
        drops_after.0 - drops_before.0,
        drops_after.1 - drops_before.1,
    );
    let relay_sched = sched_ms(relay.pid());
    let (mut udp_tx, mut acks_tx, mut udp_rx) = (0, 0, 0);
    for (_, c, _) in &honest {
        let st = c.quic().stats();
        udp_tx += st.udp_tx.datagrams;
        acks_tx += st.frame_tx.acks;
        udp_rx += st.udp_rx.datagrams;
    }

    // Where the missing frames went: a frame no receiver got was lost before the relay fanned it
    // out (client → relay leg, or in the relay); a frame some receivers got was lost on the
    // relay → client leg. Also, missing receptions per second of the run (by sequence number).
    let (mut lost_inbound, mut lost_outbound) = (0u64, 0u64);
    let mut lost_per_second = vec![0u64; secs as usize];
    for (i, _, _) in &honest {
        let receivers: Vec<_> = honest
            .iter()
            .filter(|(j, _, _)| j != i && room_of(*j) == room_of(*i))
            .map(|(_, _, r)| r.lock().unwrap())
            .collect();
        for seq in 0..frames as usize {
            let got = receivers
                .iter()
                .filter(|r| r.seen.get(i).is_some_and(|v| v[seq]))
                .count() as u64;
            let missing = receivers.len() as u64 - got;
            if got == 0 {
                lost_inbound += missing;
            } else {
                lost_outbound += missing;
            }
            lost_per_second[seq / FPS as usize] += missing;
        }
    }

    let peak = relay.peak_rss_kib().unwrap();
    let metrics = relay.metrics().unwrap();
    let metric = |name: &str| -> u64 {
        metrics
            .iter()
            .filter(|(n, _)| n == name || n.starts_with(&format!("{name}{{")))
            .map(|(_, v)| *v as u64)
            .sum()
    };
    let received_media = total(&|r| r.media.values().sum());
    let received_ctrl = total(&|r| r.control.values().sum());
    let gaps = total(&|r| r.control_gaps);
    let garbage = total(&|r| r.garbage);
    let dropped_local: u64 = honest.iter().map(|(_, c, _)| c.media_dropped()).sum();
    let loss = 1.0 - received_media as f64 / expected_media as f64;
    eprintln!(
        "load: {clients} clients in {rooms} rooms, {attackers} attackers, {secs} s at {FPS} fps; \
         host load average {load_before} before, {} after; sending took {send_time:.2?} \
         (a sender's tick was up to {} ms late)",
        load_average(),
        late_max.load(Relaxed),
    );
    eprintln!(
        "  media: {received_media}/{expected_media} (loss {:.3} %); missing receptions: \
         {lost_inbound} of frames no receiver got (lost client -> relay), {lost_outbound} of \
         frames some got (lost relay -> client), {dropped_local} in client queues; per second \
         {lost_per_second:?}",
        loss * 100.0,
    );
    eprintln!(
        "  kernel receive-buffer drops: relay's socket {relay_socket_drops}, honest clients' \
         sockets {client_socket_drops} (host-wide RcvbufErrors {})",
        hush_testkit::udp_rcvbuf_errors().unwrap_or(0) - rcvbuf_errors,
    );
    eprintln!(
        "  relay: CPU {:.1} s, its threads waited {} ms for a CPU; peak RSS {} MiB; frames in \
         {}, out {}, dropped {}; closes {:?}",
        relay.cpu_seconds().unwrap_or(0.0),
        relay_sched.1 - relay_sched_before.1,
        peak / 1024,
        metric("hush_frames_in_total"),
        metric("hush_frames_out_total"),
        metric("hush_drops_total"),
        metrics
            .iter()
            .filter(|(n, v)| n.starts_with("hush_closes_total") && *v > 0.0)
            .map(|(n, v)| (n.trim_start_matches("hush_closes_total"), *v as u64))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "  honest clients: sent {udp_tx} UDP datagrams to the relay ({acks_tx} ACK frames), \
         received {udp_rx}; control {received_ctrl}, gaps {gaps}; garbage seen {garbage}; \
         attackers thrown out {}; test process CPU {:.1} s",
        kicked.load(Relaxed),
        hush_testkit::cpu_seconds(std::process::id()).unwrap_or(0.0),
    );

    // The relay is up and still serves a newcomer.
    assert!(relay.is_running(), "the relay died under load");
    let (c, _ev) = connect(addr, pin).await;
    c.join("after-the-load").await.unwrap();
    for (_, _, r) in &honest {
        let r = r.lock().unwrap();
        assert!(
            r.closed.is_none(),
            "an honest client was disconnected: {:?}",
            r.closed
        );
    }
    assert_eq!(sent_media.load(Relaxed), u64::from(clients) * frames);
    assert_eq!(gaps, 0, "control messages out of order or missing");
    assert_eq!(
        received_ctrl,
        u64::from(clients) * (per_room - 1) * controls,
        "control messages lost"
    );
    assert!(
        loss < 0.01,
        "media loss {:.3} % in honest rooms",
        loss * 100.0
    );
    assert!(
        kicked.load(Relaxed) > 0,
        "the attackers were never thrown out"
    );
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "relay peak RSS {peak} KiB over the bound"
    );
}
