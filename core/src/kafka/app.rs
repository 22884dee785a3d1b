//! What every stage binary's `main` does around its stage: telemetry, the
//! runtime, the driver, and the one report of every configuration problem.

use std::fmt::Debug;

use super::args::KafkaArgs;
use super::driver::{self, DriverError, Setup};
use super::telemetry::{self, Metrics};
use crate::schema::{Topic, Window};
use crate::stage::Stage;

/// Every configuration problem at once, as one error message; `Ok` when
/// there is none.
pub fn check(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid configuration:\n  - {}",
            problems.join("\n  - ")
        ))
    }
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
