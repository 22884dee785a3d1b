//! The Kafka transport (feature `kafka`): the same stages as the
//! in-process pipeline, each in its own process.
//!
//! - [`app`]: what every stage binary does around its stage (telemetry
//!   from [`crate::telemetry`], the runtime, exit codes).
//! - [`args`]: the shared clap options (brokers, group, topic names,
//!   partitions, client properties, dead letters, grace), with
//!   [`telemetry_args`] (metrics, probes, logs) flattened in and
//!   [`compression`] (the producers' codec, read by every consumer).
//! - [`partition`]: the explicit window partitioner of SPEC §1.
//! - [`topics`]: create-if-missing, with partitions and compaction;
//!   `topic_names`: the name of each topic role.
//! - [`context`]: client callbacks as tracing events; revoked partitions.
//! - [`output`]: producing, dead letters, `origin-ts`; `delivery`: the
//!   delivery reports, counted.
//! - [`driver`]: a consuming stage process: start, preload, consume with
//!   [`crate::run_loop`] over [`consume`] (batches, dead letters, the
//!   shutdown grace; `record`: the headers it reads) and [`commit`] (what
//!   moved, async or sync).
//! - [`setup`]: what a stage process needs besides its stage (options,
//!   windows, telemetry handles); `error`: [`DriverError`], why it stops.
//! - [`ops`]: the operator's view from outside: status and offset resets.
//! - [`assign`]: reading every partition without a group (the logger).
//! - [`preload`]: a topic read whole before the loop (the predictor's models).
//! - [`source`]: the generator's loop, paced or as fast as possible.
//! - [`shutdown`]: SIGTERM and SIGINT.
//! - `transaction`: exactly-once delivery (`--delivery exactly-once`,
//!   `transaction_error`: why one fails,
//!   [`transaction_args`]): each batch's outputs and input offsets in one
//!   Kafka transaction; `transaction_replay`: a replay's outputs
//!   suppressed.

pub mod app;
pub mod args;
pub mod assign;
mod commit;
pub mod compression;
mod consume;
pub mod context;
mod delivery;
pub mod driver;
mod error;
pub mod ops;
pub mod output;
pub mod partition;
mod position;
pub mod preload;
mod record;
pub mod setup;
pub mod shutdown;
pub mod source;
pub mod telemetry_args;
mod topic_names;
pub mod topics;
mod transaction;
pub mod transaction_args;
mod transaction_error;
mod transaction_metrics;
mod transaction_replay;

pub use args::{KafkaArgs, WindowArgs};
pub use driver::run;
pub use error::DriverError;
pub use setup::{Setup, StageTelemetry};
