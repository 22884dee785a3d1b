//! The monitoring files against the binaries: every PromQL expression of
//! the Grafana dashboard and of the alert rules parses and names only
//! metrics that the binaries export on a live `/metrics`; a real
//! Prometheus scrapes a running pipeline; Loki receives what tracing-loki
//! pushes, with the expected labels; the probes and the logs topic behave.
//!
//! Run by scripts/test-observability.sh (feature `observability` of this
//! crate), which installs Prometheus and starts the broker of test.sh.
//!
//! - [`monitoring`]: the dashboard and rules files, their queries parsed.
//! - [`grafana`]: what an operator reads on the dashboard: descriptions,
//!   units, legends, the headline row, the import inputs.
//! - [`loki`]: a fake Loki decoding tracing-loki's pushes.
//! - [`live`]: the pipeline scraped by a real Prometheus.

mod grafana;
mod live;
mod loki;
mod monitoring;
