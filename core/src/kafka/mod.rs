//! The Kafka transport (feature `kafka`): the same stages as the
//! in-process pipeline, each in its own process.
//!
//! - [`app`]: what every stage binary does around its stage (telemetry
//!   from [`crate::telemetry`], the runtime, exit codes).
//! - [`args`]: the shared clap options (brokers, group, topic names,
//!   partitions, client properties, dead letters, grace).
//! - [`partition`]: the explicit window partitioner of SPEC §1.
//! - [`topics`]: create-if-missing, with partitions and compaction.
//! - [`context`]: client callbacks as tracing events; revoked partitions.
//! - [`output`]: producing, dead letters, `origin-ts`; `delivery`: the
//!   delivery reports, counted.
//! - [`driver`]: a consuming stage process: start, preload, consume with
//!   [`crate::run_loop`] over [`consume`] (batches, dead letters, the
//!   shutdown grace) and [`commit`] (what moved, async or sync).
//! - [`ops`]: the operator's view from outside: status and offset resets.
//! - [`assign`]: reading every partition without a group (the logger).
//! - [`preload`]: a topic read whole before the loop (the predictor's models).
//! - [`source`]: the generator's loop, paced or as fast as possible.
//! - [`shutdown`]: SIGTERM and SIGINT.

pub mod app;
pub mod args;
pub mod assign;
mod commit;
mod consume;
pub mod context;
mod delivery;
pub mod driver;
pub mod ops;
pub mod output;
pub mod partition;
pub mod preload;
pub mod shutdown;
pub mod source;
pub mod topics;

pub use args::{KafkaArgs, WindowArgs};
pub use driver::{DriverError, Setup, run};
