//! Process signals shared by the long-running subcommands: `hush join` and `hush connector`
//! treat SIGTERM (a service manager stopping them) like SIGINT: leave cleanly, finish files.

/// Resolves on SIGTERM (Unix); never elsewhere.
pub(crate) async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        s.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}
