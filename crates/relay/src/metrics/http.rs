//! The operator endpoint (SPEC §7.8): `GET /metrics`, `/healthz` and `/readyz` (and `HEAD` on
//! each), routed by `axum` and served by `hyper`'s HTTP/1 connection, one request per connection.
//!
//! Every resource an outsider can hold is bounded: [`MAX_HTTP_CONNECTIONS`] connections at once
//! (more are closed at accept and counted in `http_refused`), a request head of at most
//! [`MAX_HEAD_BYTES`] that must arrive within [`HTTP_READ_TIMEOUT`] (hyper answers 431 above
//! the size and closes on the timeout), a declared request body of at most [`MAX_BODY_BYTES`]
//! (413 above it; no route reads a body), and [`HTTP_TOTAL_TIMEOUT`] for a whole connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;

use super::Metrics;
use super::expose::CONTENT_TYPE;

/// HTTP connections served at once; more are closed on accept.
pub(crate) const MAX_HTTP_CONNECTIONS: usize = 64;
/// Time a client has to send its request head.
pub(crate) const HTTP_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a connection may live in all (request and response).
pub(crate) const HTTP_TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request head (request line and headers), in bytes.
pub(crate) const MAX_HEAD_BYTES: usize = 2048;
/// The largest request body a request may declare, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 1024;
/// hyper's read buffer per connection: its minimum.
const READ_BUFFER_BYTES: usize = 8192;

/// The routes. `get` answers `HEAD` too (the same status and headers, no body).
fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

/// Live: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready while the relay accepts connections; 503 from the moment it starts draining.
async fn readyz(State(metrics): State<Arc<Metrics>>) -> (StatusCode, &'static str) {
    if metrics.draining.load(Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// Serves the endpoint until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = router(metrics.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HTTP_READ_TIMEOUT)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(READ_BUFFER_BYTES)
        // One request per connection: a scraper holds no slot between scrapes.
        .keep_alive(false);
    let slots = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let (sock, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning on the error.
                tracing::debug!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.http_refused.fetch_add(1, Relaxed);
            // Dropping the socket closes it.
            continue;
        };
        let conn = http.serve_connection(TokioIo::new(sock), TowerToHyperService::new(app.clone()));
        tokio::spawn(async move {
            let _slot = slot;
            // A timed-out or failed connection is closed by dropping it.
            let _ = tokio::time::timeout(HTTP_TOTAL_TIMEOUT, conn).await;
        });
    }
}

/// Binds the endpoint's listener.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
