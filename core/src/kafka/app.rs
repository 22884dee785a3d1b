//! What every stage binary's `main` does around its stage: telemetry, the
//! runtime, the driver, and the one report of every configuration problem.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};

use super::args::KafkaArgs;
use super::driver::{self, DriverError, Setup};
use super::telemetry::{self, Metrics};
use crate::schema::{Topic, Window};
use crate::stage::Stage;

pub use crate::config::check;

static READY: AtomicBool = AtomicBool::new(false);

/// Whether the stage is serving: its broker answered, its topics exist, it
/// consumes (or, for the generator, produces). False while it waits for the
/// broker at start and once it is stopping: what a readiness probe reports.
pub fn is_ready() -> bool {
    READY.load(Ordering::SeqCst)
}

pub(crate) fn set_ready(ready: bool) {
    READY.store(ready, Ordering::SeqCst);
}

/// Starts tracing and the metrics endpoint, logs the effective
/// configuration, and gives the multi-threaded runtime to `f`.
pub fn with_runtime<T>(
    stage: &'static str,
    args: &KafkaArgs,
    config: &dyn Debug,
    f: impl AsyncFnOnce(Metrics, telemetry::LogReceiver) -> Result<T, DriverError>,
) -> Result<T, DriverError> {
    let logs = telemetry::init(stage, args.log_format);
    tracing::info!(stage, config = ?config, "effective configuration");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| DriverError::Runtime(e.to_string()))?;
    runtime.block_on(async move {
        let metrics = Metrics::new(stage)?;
        let addr = telemetry::serve(args.metrics_addr, metrics.clone()).await?;
        tracing::info!(stage, %addr, "serving /metrics and /health");
        f(metrics, logs).await
    })
}

/// The whole `main` of a consuming stage binary: report every configuration
/// problem or build the stage, serve it until SIGTERM/SIGINT, and map the
/// outcome to the exit code.
pub fn run_stage<S: Stage>(
    problems: Vec<String>,
    build: impl FnOnce() -> S,
    args: &KafkaArgs,
    windows: &[Window],
    outputs: &[Topic],
    preload: &[Topic],
    config: &dyn Debug,
) -> std::process::ExitCode {
    let result = check(problems).map_err(Failure::Config).and_then(|()| {
        serve(build(), args, windows, outputs, preload, config)
            .map(drop)
            .map_err(Failure::Driver)
    });
    exit(result)
}

/// Why a stage binary stopped with an error.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Config(String),
    #[error("{}", causes(.0))]
    Driver(DriverError),
}

/// An error and its sources, joined as anyhow's `{:#}` prints them.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Runs a consuming stage until SIGTERM/SIGINT.
pub fn serve<S: Stage>(
    stage: S,
    args: &KafkaArgs,
    windows: &[Window],
    outputs: &[Topic],
    preload: &[Topic],
    config: &dyn Debug,
) -> Result<S, DriverError> {
    let name = stage.name();
    with_runtime(name, args, config, async move |metrics, logs| {
        let setup = Setup {
            args,
            windows,
            outputs,
            preload,
            metrics,
            logs: Some(logs),
        };
        driver::run(stage, setup).await
    })
}

/// The process exit code of a binary's result, printing the error (its
/// alternate form: anyhow's whole chain of causes).
pub fn exit<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
