//! The Loki layer (`--loki-url`, feature `kafka`: it needs the tokio
//! runtime of the stage binaries).
//!
//! Streams are labelled by `stage`, `instance` (the host name: a pod's name
//! in Kubernetes) and `level` (added by tracing-loki); everything else, the
//! cascade ids included, stays in the JSON line, never in a label. The
//! crate queues records in memory and pushes them in the background
//! (snappy-compressed protobuf); when Loki is down it retries with a
//! growing pause and drops what it holds once the pause reaches 30 s, and
//! records arriving while its 512-record channel is full are dropped.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterFn;

use super::TelemetryError;
use super::logs::shippable;
use crate::config::redact;

/// The layer to install now, the handle that flushes it at exit, and the
/// task that pushes its records, to spawn on the runtime once it exists.
pub type LokiParts = (
    Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>,
    tracing_loki::BackgroundTaskController,
    tracing_loki::BackgroundTask,
);

/// Builds the layer for `url` (e.g. `http://loki:3100`), keeping records at
/// or above `level` that may leave the process.
pub fn layer(
    url: &str,
    stage: &'static str,
    level: tracing::Level,
) -> Result<LokiParts, TelemetryError> {
    let parsed = check_url(url)?;
    let (layer, controller, task) = tracing_loki::builder()
        .label("stage", stage)
        .and_then(|b| b.label("instance", host()))
        .and_then(|b| b.build_controller_url(parsed))
        .map_err(|e| TelemetryError::Loki {
            url: redact::url(url),
            reason: e.to_string(),
        })?;
    let layer = layer
        .with_filter(LevelFilter::from_level(level))
        .with_filter(FilterFn::new(|meta| shippable(meta.target())));
    Ok((Box::new(layer), controller, task))
}

/// A Loki base URL: http or https, with a host.
pub fn check_url(url: &str) -> Result<tracing_loki::url::Url, TelemetryError> {
    let bad = |reason: String| TelemetryError::Loki {
        url: redact::url(url),
        reason,
    };
    let parsed = tracing_loki::url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad(
            "expected http(s)://host:port, e.g. http://loki:3100".into()
        ));
    }
    Ok(parsed)
}

/// The host name: `HOSTNAME`, else the kernel's, else `unknown`.
fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
