//! A consuming stage process: its topics and producer, the models it
//! preloads, its consumer in the group, then [`crate::run_loop::run`] over
//! the Kafka transport ([`super::consume`]) until SIGTERM/SIGINT.
//!
//! Delivery is at least once, by batches (see [`super::consume`]): the
//! loop commits, per input partition, the next offset to read held back to
//! the stage's [`Stage::retained_offset`], so that a restarted stage
//! rebuilds its in-memory state by replay. Replays make duplicates;
//! consumers dedupe by `(cid, T_obs)` (SPEC §6).
//!
//! Undecodable or refused input is counted, logged with its origin, sent
//! to the dead-letter topic with the reason in a header, and skipped: it
//! never stops a partition.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;

use super::app::StageTelemetry;
use super::args::KafkaArgs;
use super::consume::Kafka;
use super::context::Context;
use super::output::{Output, OutputError, now_ms};
use super::{preload, shutdown, topics};
use crate::run_loop::{self, Cadence};
use crate::schema::{Topic, Window};
use crate::stage::Stage;
use crate::telemetry::TelemetryError;
use crate::telemetry::inprocess::InProcess;
use crate::telemetry::logs::LogReceiver;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Topics(#[from] topics::TopicsError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error("cannot create the consumer: {0}")]
    Consumer(#[source] KafkaError),
    #[error("cannot subscribe to {topics}: {source}")]
    Subscribe {
        topics: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read {topic} at start: {source}")]
    Preload {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("shutdown took longer than the {0:?} grace")]
    Grace(Duration),
    /// SIGTERM/SIGINT came while the stage was starting (e.g. waiting for
    /// the broker): nothing was consumed, so there is nothing to commit.
    #[error("stopped by a signal before the stage started")]
    Stopped,
}

/// What a stage process needs besides its stage.
#[derive(Debug)]
pub struct Setup<'a> {
    pub args: &'a KafkaArgs,
    pub windows: &'a [Window],
    /// Topics the stage produces to (created when missing).
    pub outputs: &'a [Topic],
    /// Input topics read without the group before consuming: the
    /// predictor's models (whole), so it predicts with the latest model at
    /// once; the dashboard's alerts and stats (their recent look-back), so
    /// a restarted dashboard shows what it showed.
    pub preload: &'a [Topic],
    pub telemetry: StageTelemetry,
    /// Log records to forward to the logs topic (`None`: forwarding off).
    pub logs: Option<LogReceiver>,
}

/// Creates the stage's topics and producer, the shared start of
/// [`run`] and of the generator.
pub async fn start_output(
    stage: &'static str,
    setup: &Setup<'_>,
    inputs: &[Topic],
) -> Result<Output, DriverError> {
    let mut roles: Vec<Topic> = inputs.iter().chain(setup.outputs).copied().collect();
    if setup.args.log_to_kafka {
        roles.push(Topic::Logs);
    }
    let specs = topics::specs(setup.args, setup.windows, &roles);
    // Waiting for the broker is progress, not a stuck loop: keep `/livez`
    // beating meanwhile, so an orchestrator does not restart a stage that
    // only waits (`/readyz` says it is not ready).
    let mut signal = std::pin::pin!(shutdown::signal());
    let mut ensure = std::pin::pin!(topics::ensure(setup.args, &specs));
    let mut beat = tokio::time::interval(Duration::from_secs(1));
    let counts = loop {
        tokio::select! {
            biased;
            () = &mut signal => return Err(DriverError::Stopped),
            counts = &mut ensure => break counts?,
            _ = beat.tick() => setup.telemetry.health.beat(),
        }
    };
    setup.telemetry.health.broker_answered();
    Ok(Output::new(
        setup.args,
        setup.windows,
        counts,
        stage,
        setup.telemetry.transport.clone(),
    )?)
}

/// Runs `stage` until SIGTERM/SIGINT; returns it after a clean shutdown.
/// A signal during the start (waiting for the broker, preloading) stops it
/// cleanly too.
pub async fn run<S: Stage>(mut stage: S, mut setup: Setup<'_>) -> Result<S, DriverError> {
    let name = stage.name();
    let args = setup.args;
    let inputs = stage.inputs();
    let output = match start_output(name, &setup, inputs).await {
        Err(DriverError::Stopped) => {
            tracing::info!(stage = name, "stopped before starting");
            return Ok(stage);
        }
        started => started?,
    };
    for &topic in setup.preload {
        if shutdown::requested() {
            return Ok(stage);
        }
        let start = preload::Start::of(topic);
        let n = preload::read(args, name, topic, start, &mut stage).await?;
        tracing::info!(
            stage = name,
            topic = args.topics.name(topic),
            messages = n,
            start = ?start,
            "preloaded"
        );
    }
    let group = args.group(name);
    let tel = setup.telemetry.clone();
    let consumer: Arc<StreamConsumer<Context>> = Arc::new(
        args.consumer_config(&group, super::args::fetch_wait_ms(name))
            .create_with_context(Context::for_consumer(
                name,
                tel.transport.clone(),
                tel.health.clone(),
            ))
            .map_err(DriverError::Consumer)?,
    );
    let names: Vec<&str> = inputs.iter().map(|t| args.topics.name(*t)).collect();
    consumer
        .subscribe(&names)
        .map_err(|source| DriverError::Subscribe {
            topics: names.join(","),
            source,
        })?;
    tracing::info!(stage = name, group, topics = names.join(","), "consuming");
    let mut observer = InProcess::new(&tel.metrics, &tel.health, name);
    let logs = setup.logs.take();
    let mut kafka = Kafka::new(&consumer, args, &tel, output, logs, stage.decoder(), name);
    run_loop::run(
        &mut stage,
        &mut kafka,
        Cadence::default(),
        Some(&mut observer),
    )
    .await?;
    Ok(stage)
}

/// Wall-clock seconds: the `now` of production stages.
pub fn now_secs() -> f64 {
    now_ms() as f64 / 1000.0
}
