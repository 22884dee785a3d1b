//! `tweetoscope run --metrics-addr`: the stage metrics of the Kafka
//! binaries, for the in-process pipeline, on `/metrics` (and `/livez`,
//! `/readyz`, `/health`), in the one registry of the process.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tweetoscope_core::pipeline::Observer;
use tweetoscope_core::telemetry::inprocess::InProcess;
use tweetoscope_core::telemetry::{Health, Metrics, http};

/// A stage thread that made no progress for this long fails `/livez`.
const LIVEZ_BOUND: Duration = Duration::from_secs(60);

/// Makes each stage thread's observer.
pub type Observers = Box<dyn Fn(&'static str) -> Option<Box<dyn Observer>>>;

/// Serves the endpoints on `addr` and returns the stage observers; without
/// an address, no observer and no server.
pub fn observers(addr: Option<SocketAddr>) -> anyhow::Result<Observers> {
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
    Ok(Box::new(InProcess::observers(&metrics, &health)))
}
