//! `hush bench --mode directory`: what the cluster's room directory costs on a real
//! `redis-server` (SPEC §15.7). A load generator runs the relays' own scripts: R relays
//! register, open N rooms between them with K participants each, run one heartbeat round with
//! everything open, and leave; it reports join latency, the time of a heartbeat round, the
//! server's CPU per script call and its memory per room. Without `--redis` it starts its own
//! `redis-server` on a free loopback port (no persistence) and stops it after.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

/// A `redis-server` this bench started; killed on drop.
struct OwnRedis(Child);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn own_redis() -> anyhow::Result<(OwnRedis, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start redis-server (install it, or pass --redis redis://HOST:PORT)")?;
    let own = OwnRedis(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        anyhow::ensure!(Instant::now() < until, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((own, format!("redis://{addr}")))
}

/// Runs the load generator for each room count and prints the table (or `{"runs":[...]}`).
pub fn run(
    url: Option<&str>,
    relays: usize,
    rooms: &[usize],
    room_size: usize,
    json_out: bool,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let (own, url) = match url {
        Some(u) => (None, u.to_owned()),
        None => {
            let (o, u) = own_redis()?;
            (Some(o), u)
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for &n in rooms {
        let r = rt
            .block_on(hush_relay::directory_load_test(&url, relays, n, room_size))
            .map_err(|e| anyhow::anyhow!("directory load test: {e}"))?;
        runs.push(r);
    }
    drop(own);
    let mut out = std::io::stdout().lock();
    if json_out {
        let v: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({
                    "mode": "directory",
                    "relays": r.relays,
                    "rooms": r.rooms,
                    "joins": r.joins,
                    "joins_per_s": r.joins as f64 / r.join_s.max(1e-9),
                    "join_us": {"p50": r.join_us[0], "p99": r.join_us[1]},
                    "heartbeat_us": {"p50": r.heartbeat_us[0], "p99": r.heartbeat_us[1]},
                    "heartbeat_round_s": r.heartbeat_round_s,
                    "leaves_per_s": r.joins as f64 / r.leave_s.max(1e-9),
                    "memory_bytes_per_room": r.memory_bytes as f64 / r.rooms.max(1) as f64,
                    "server_us_per_call": r.server_us_per_call,
                })
            })
            .collect();
        writeln!(out, "{}", json!({ "runs": v }))?;
    } else {
        writeln!(
            out,
            "hush bench --mode directory: {relays} relays, {room_size} participants per room, {url}"
        )?;
        writeln!(
            out,
            "{:>7} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>10} {:>11} {:>10}",
            "rooms",
            "joins",
            "joins/s",
            "join p50",
            "join p99",
            "beat p50",
            "beat p99",
            "leaves/s",
            "B per room",
            "server µs"
        )?;
        for r in &runs {
            writeln!(
                out,
                "{:>7} {:>8} {:>10.0} {:>9.0} {:>9.0} {:>10.0} {:>10.0} {:>10.0} {:>11.0} {:>10.1}",
                r.rooms,
                r.joins,
                r.joins as f64 / r.join_s.max(1e-9),
                r.join_us[0],
                r.join_us[1],
                r.heartbeat_us[0],
                r.heartbeat_us[1],
                r.joins as f64 / r.leave_s.max(1e-9),
                r.memory_bytes as f64 / r.rooms.max(1) as f64,
                r.server_us_per_call
            )?;
        }
        writeln!(
            out,
            "(latencies in µs, one client process; server µs: Redis CPU per script call, INFO commandstats)"
        )?;
    }
    out.flush()?;
    Ok(())
}
