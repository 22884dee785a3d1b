//! SIGTERM (Kubernetes, `kill`) and SIGINT (Ctrl-C) as one future, and the
//! process-wide fact that one came.
//!
//! A signal is seen by the listeners registered when it arrives, so a stage
//! that stops waiting for the broker on SIGTERM and then reaches its run
//! loop would wait forever for a second one. [`signal`] therefore records
//! the first signal, and resolves at once for every later caller.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGTERM or SIGINT has been received.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Resolves on the first SIGTERM or SIGINT, or at once if one already came.
/// If a handler cannot be installed (no signal support), that signal is
/// simply never awaited.
pub async fn signal() {
    if requested() {
        return;
    }
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = term => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
    REQUESTED.store(true, Ordering::SeqCst);
}
