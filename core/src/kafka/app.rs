//! What every stage binary's `main` does around its stage: telemetry, the
//! runtime, the driver, and the one report of every configuration problem.

use std::fmt::Debug;
use std::time::Duration;

use super::args::KafkaArgs;
use super::driver;
use super::error::DriverError;
use super::setup::{Setup, StageTelemetry};
use crate::schema::Window;
use crate::stage::Stage;
use crate::telemetry::logs::{self, LogReceiver, LogSetup};
use crate::telemetry::{Health, Metrics, Transport, http, loki};

pub use crate::config::check;

/// Longest wait for Loki to take the last records at exit.
const LOKI_DRAIN: Duration = Duration::from_secs(3);

/// Starts the metrics registry, tracing (stderr, the logs topic, Loki) and
/// the probes' endpoint, logs the effective configuration, and gives the
/// multi-threaded runtime to `f`.
pub fn with_runtime<T>(
    stage: &'static str,
    args: &KafkaArgs,
    config: &dyn Debug,
    f: impl AsyncFnOnce(StageTelemetry, Option<LogReceiver>) -> Result<T, DriverError>,
) -> Result<T, DriverError> {
    let metrics = Metrics::new()?;
    let (loki_layer, loki_task) = match &args.telemetry.loki_url {
        Some(url) => {
            let (layer, controller, task) = loki::layer(url, stage, args.telemetry.loki_level)?;
            (Some(layer), Some((controller, task)))
        }
        None => (None, None),
    };
    let setup = LogSetup {
        stage,
        format: args.telemetry.log_format,
        kafka_level: args
            .telemetry
            .log_to_kafka
            .then_some(args.telemetry.kafka_log_level),
    };
    let logs = logs::init(&setup, &metrics, loki_layer);
    tracing::info!(stage, config = ?config, "effective configuration");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| DriverError::Runtime(e.to_string()))?;
    runtime.block_on(async move {
        let loki = loki_task.map(|(controller, task)| (controller, tokio::spawn(task)));
        let transport = Transport::new(&metrics, stage)?;
        let health = Health::new(Duration::from_secs_f64(args.telemetry.livez_timeout));
        health.beat();
        let addr = http::serve(args.telemetry.metrics_addr, metrics.clone(), health.clone())?;
        tracing::info!(stage, %addr, "serving /metrics, /livez, /readyz and /health");
        let telemetry = StageTelemetry {
            metrics,
            transport,
            health,
        };
        let result = f(telemetry, logs).await;
        if let Some((controller, task)) = loki {
            // The records of the last moments, unless Loki is unreachable.
            controller.shutdown().await;
            let _ = tokio::time::timeout(LOKI_DRAIN, task).await;
        }
        result
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
    config: &dyn Debug,
) -> std::process::ExitCode {
    let result = check(problems).map_err(Failure::Config).and_then(|()| {
        serve(build(), args, windows, config)
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

/// Runs a consuming stage until SIGTERM/SIGINT: its topics, what it
/// preloads and what it consumes are those the stage declares.
pub fn serve<S: Stage>(
    stage: S,
    args: &KafkaArgs,
    windows: &[Window],
    config: &dyn Debug,
) -> Result<S, DriverError> {
    let name = stage.name();
    with_runtime(name, args, config, async move |telemetry, logs| {
        let setup = Setup {
            args,
            windows,
            telemetry,
            logs,
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
