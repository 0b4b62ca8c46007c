//! The operator endpoint over real TCP (SPEC §7.8): every metric name of the contract, the new
//! build, process and histogram metrics, `/healthz`, `/readyz` (503 while draining, §7.11),
//! `HEAD`, 404, and the bounds (connections, head and body sizes).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP exchange: the status code, the head and the body.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

async fn send(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("the endpoint closes the connection after one response")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await
}

/// The names the hand-written endpoint exposed before issue 12: scripts and tests grep them.
const CONTRACT: [&str; 13] = [
    "hush_connections_total",
    "hush_connections_open",
    "hush_rooms_open",
    "hush_participants_open",
    "hush_frames_in_total",
    "hush_bytes_in_total",
    "hush_frames_out_total",
    "hush_bytes_out_total",
    "hush_drops_total",
    "hush_control_messages_in_total",
    "hush_control_bytes_in_total",
    "hush_control_messages_out_total",
    "hush_closes_total",
];

/// The value of the sample line that starts with `series` followed by a space.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_keep_every_name_and_add_build_process_and_histograms() {
    let r = relay(|c| c.metrics = Some("127.0.0.1:0".parse().unwrap())).await;
    let m = r.metrics_addr.unwrap();
    let before = get(m, "/metrics").await;
    assert_eq!(before.status, 200, "{}", before.head);
    assert!(
        before
            .head
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        before.head
    );
    let text = &before.body;
    for name in CONTRACT {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}:\n{text}");
        assert!(text.contains(&format!("\n{name}")), "{name}:\n{text}");
    }
    for series in [
        "hush_closes_total{reason=\"rate_limited\"}",
        "hush_closes_total{reason=\"slow_consumer\"}",
        "hush_metrics_http_refused_total",
        "hush_frame_size_bytes_count",
        "hush_forward_seconds_count",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(sample(text, series).is_some(), "{series}:\n{text}");
    }
    assert!(sample(text, "process_resident_memory_bytes").unwrap() > 0.0);
    let build = format!(
        "hush_build_info{{version=\"{}\",git_commit=\"",
        env!("CARGO_PKG_VERSION")
    );
    let line = text.lines().find(|l| l.starts_with(&build));
    assert!(line.is_some_and(|l| l.ends_with("\"} 1")), "{text}");
    assert_eq!(sample(text, "hush_frame_size_bytes_count"), Some(0.0));
    assert_eq!(sample(text, "hush_forward_seconds_count"), Some(0.0));

    // Two frames forwarded between two members: the histograms move.
    let (a, _ae) = client(&r).await;
    let (b, mut be) = client(&r).await;
    a.join("h").await.unwrap();
    b.join("h").await.unwrap();
    a.send_media(frame(1, 0, 100, 0)).await.unwrap();
    next_media(&mut be).await;
    a.send_media(frame(1, 1, 1000, 0)).await.unwrap();
    next_media(&mut be).await;
    let text = get(m, "/metrics").await.body;
    assert_eq!(sample(&text, "hush_frames_in_total"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "hush_frame_size_bytes_count"), Some(2.0));
    // The relay's own sends are counted: at least the handshakes and the two frames out, each
    // call carrying at least one datagram.
    let calls = sample(&text, "hush_udp_send_calls_total").unwrap();
    let datagrams = sample(&text, "hush_udp_datagrams_sent_total").unwrap();
    assert!(
        calls >= 2.0 && datagrams >= calls,
        "{calls} {datagrams}\n{text}"
    );
    let small = "hush_frame_size_bytes_bucket{le=\"128\"}";
    assert_eq!(sample(&text, small), Some(1.0), "{text}");
    // Cumulative: the 1000-byte frame (with its header) is in `le="1024"`, not in `le="512"`.
    let mid = "hush_frame_size_bytes_bucket{le=\"512\"}";
    assert_eq!(sample(&text, mid), Some(1.0), "{text}");
    let large = "hush_frame_size_bytes_bucket{le=\"1024\"}";
    assert_eq!(sample(&text, large), Some(2.0), "{text}");
    let inf = "hush_frame_size_bytes_bucket{le=\"+Inf\"}";
    assert_eq!(sample(&text, inf), Some(2.0), "{text}");
    let bytes_in = sample(&text, "hush_bytes_in_total").unwrap();
    assert_eq!(sample(&text, "hush_frame_size_bytes_sum"), Some(bytes_in));
    assert_eq!(sample(&text, "hush_forward_seconds_count"), Some(2.0));
    let first = "hush_forward_seconds_bucket{le=\"1e-06\"}";
    assert!(sample(&text, first).is_some(), "{text}");
    let inf = "hush_forward_seconds_bucket{le=\"+Inf\"}";
    assert_eq!(sample(&text, inf), Some(2.0), "{text}");
    assert!(sample(&text, "hush_forward_seconds_sum").unwrap() > 0.0);
    // The embedding API serves the same text.
    assert!(
        r.handle
            .metrics_text()
            .contains("hush_frame_size_bytes_count 2")
    );
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_ready_head_unknown_paths_and_request_bounds() {
    let r = relay(|c| c.metrics = Some("127.0.0.1:0".parse().unwrap())).await;
    let m = r.metrics_addr.unwrap();
    let health = get(m, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let ready = get(m, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ok\n"));
    for path in ["/metrics", "/healthz", "/readyz"] {
        let head = send(
            m,
            format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(head.status, 200, "HEAD {path}: {}", head.head);
        assert_eq!(head.body, "", "HEAD {path} has no body");
    }
    let missing = get(m, "/metrics/extra").await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "not found\n")
    );
    assert_eq!(get(m, "/").await.status, 404);
    let post = send(
        m,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(post.status, 405, "{}", post.head);
    // HTTP/1.0 (what `hush-testkit` sends) is answered and closed too.
    let old = send(m, b"GET /metrics HTTP/1.0\r\n\r\n").await;
    assert_eq!(old.status, 200, "{}", old.head);
    assert!(old.body.contains("hush_connections_total 0"));
    // A request head over 2048 bytes: 431, closed.
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(3000)
    );
    assert_eq!(send(m, big.as_bytes()).await.status, 431);
    // A declared body over 1024 bytes: 413 before anything reads it.
    let body = b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    assert_eq!(send(m, body).await.status, 413);
    r.shutdown().await.unwrap();
}

/// SPEC §7.11: `/readyz` turns 503 as soon as the shutdown future fires, for the whole drain,
/// while `/healthz` and `/metrics` keep answering.
#[tokio::test]
async fn readyz_answers_503_while_the_relay_drains() {
    let r = relay(|c| {
        c.metrics = Some("127.0.0.1:0".parse().unwrap());
        c.drain = Duration::from_secs(30);
    })
    .await;
    let m = r.metrics_addr.unwrap();
    let (a, _ae) = client(&r).await;
    a.join("d").await.unwrap();
    assert_eq!(get(m, "/readyz").await.status, 200);
    let stopping = tokio::spawn(r.shutdown());
    let mut ready = get(m, "/readyz").await;
    for _ in 0..200 {
        if ready.status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        ready = get(m, "/readyz").await;
    }
    assert_eq!((ready.status, ready.body.as_str()), (503, "draining\n"));
    // Still draining: the client is connected.
    assert!(!stopping.is_finished());
    assert_eq!(get(m, "/readyz").await.status, 503);
    assert_eq!(get(m, "/healthz").await.status, 200);
    let text = get(m, "/metrics").await.body;
    assert_eq!(sample(&text, "hush_connections_open"), Some(1.0), "{text}");
    a.close().await;
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the drain ends when the last client has gone")
        .unwrap()
        .unwrap();
}

/// 64 connections are served at once: the 65th is closed at accept and counted.
#[tokio::test]
async fn the_65th_concurrent_connection_is_refused_and_counted() {
    let r = relay(|c| c.metrics = Some("127.0.0.1:0".parse().unwrap())).await;
    let m = r.metrics_addr.unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(tokio::net::TcpStream::connect(m).await.unwrap());
    }
    // Let the server accept all 64 before the next one.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(r.handle.stats().metrics_http_refused, 0);
    let mut extra = tokio::net::TcpStream::connect(m).await.unwrap();
    let _ = extra
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(1), extra.read(&mut buf))
        .await
        .expect("the 65th connection is closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "the 65th got an answer");
    assert_eq!(r.handle.stats().metrics_http_refused, 1);
    // The 64 held ones are still served.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    held[0].read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    drop(held);
    let mut text = String::new();
    for _ in 0..100 {
        let reply = get(m, "/metrics").await;
        if reply.status == 200 {
            text = reply.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sample(&text, "hush_metrics_http_refused_total"),
        Some(1.0),
        "{text}"
    );
    r.shutdown().await.unwrap();
}
