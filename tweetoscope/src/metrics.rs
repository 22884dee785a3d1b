//! `tweetoscope run --metrics-addr`: the stage metrics of the Kafka
//! binaries, for the in-process pipeline, on `/metrics` (and `/livez`,
//! `/readyz`, `/health`), in the one registry of the process.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tweetoscope_core::pipeline::Watcher;
use tweetoscope_core::telemetry::inprocess::InProcess;
use tweetoscope_core::telemetry::{Health, Metrics, http};

/// A stage thread that made no progress for this long fails `/livez`.
const LIVEZ_BOUND: Duration = Duration::from_secs(60);

/// Makes each stage thread's watcher.
pub type Watchers = Box<dyn Fn(&'static str) -> Option<Box<dyn Watcher>>>;

/// Serves the endpoints on `addr` and returns the stage watchers; without
/// an address, no watcher and no server.
pub fn watchers(addr: Option<SocketAddr>) -> anyhow::Result<Watchers> {
    let Some(addr) = addr else {
        return Ok(Box::new(|_| None));
    };
    let metrics = Metrics::new().context("cannot create the metrics registry")?;
    let health = Health::new(LIVEZ_BOUND);
    // No broker to wait for: ready as soon as it serves.
    health.broker_answered();
    health.beat();
    let bound = http::serve(addr, metrics.clone(), health.clone())
        .with_context(|| format!("--metrics-addr {addr}"))?;
    println!("Metrics on http://{bound}/metrics");
    Ok(Box::new(InProcess::watchers(&metrics, &health)))
}
