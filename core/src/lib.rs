//! The Tweetoscope library: everything but the process around it.
//!
//! Layout, from the wire inwards:
//! - [`schema`]: one serde type per Kafka topic (SPEC §2), tolerant on input.
//! - [`data`]: the NEWS-format files (SPEC §3), read and written.
//! - [`generator`]: tweet sources (file replay, synthetic Hawkes cascades).
//! - [`hawkes`]: the marked exponential-kernel Hawkes maths (SPEC §5):
//!   likelihood with analytic derivatives, the log-normal prior, the MAP fit,
//!   prediction and simulation.
//! - [`stage`]: the trait every pipeline stage implements, and the stages
//!   themselves as pure state machines: [`collector`], [`estimator`],
//!   [`predictor`], [`learner`]. They know nothing of Kafka, threads or the
//!   wall clock; the transports drive them.
//! - [`run_loop`]: THE run loop of a stage over a transport (receive,
//!   handle, dead-letter, route, tick, observe, commit, flush), written once.
//! - [`pipeline`]: the in-process transports, routing by the graph the
//!   stages declare, for the embedded run and for `eval`.
//! - [`board`]: the live dashboard's state, pure and bounded; [`web`]: its
//!   page and JSON over a small HTTP server on std threads (an I/O edge, but
//!   with no Kafka, so `tweetoscope run` serves it without the feature);
//!   [`dashboard`]: the stage that feeds the board, in the `dashboard`
//!   binary and in `tweetoscope run`.
//! - [`clock`]: the wall clock, read only by the drivers and the board.
//! - [`kafka`] (feature `kafka`): the Kafka transport of the stage binaries.
//! - [`telemetry`] (feature `telemetry`): metrics, health probes, log layers.

pub mod board;
pub mod clock;
pub mod collector;
pub mod config;
pub mod daily_cycle;
pub mod dashboard;
pub mod data;
pub mod dedupe;
pub mod estimator;
pub mod features;
pub mod generator;
pub mod hashing;
pub mod hawkes;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod learner;
pub mod model;
pub mod pipeline;
pub mod predictor;
pub mod run_loop;
pub mod schema;
pub mod stage;
pub mod synthetic;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod web;
