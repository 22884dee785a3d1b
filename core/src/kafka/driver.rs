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

use super::consume::Kafka;
use super::context::Context;
use super::error::DriverError;
use super::output::Output;
use super::setup::Setup;
use super::{preload, shutdown, topics};
use crate::run_loop::{self, Cadence};
use crate::schema::Topic;
use crate::stage::Stage;
use crate::telemetry::inprocess::InProcess;

/// Creates the stage's topics (`roles`: those it reads and writes) and its
/// producer, the shared start of [`run`] and of the generator.
pub async fn start_output(
    stage: &'static str,
    setup: &Setup<'_>,
    roles: &[Topic],
) -> Result<Output, DriverError> {
    let mut roles = roles.to_vec();
    if setup.args.telemetry.log_to_kafka {
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
    let roles = [inputs, stage.outputs()].concat();
    let output = match start_output(name, &setup, &roles).await {
        Err(DriverError::Stopped) => {
            tracing::info!(stage = name, "stopped before starting");
            return Ok(stage);
        }
        started => started?,
    };
    // Inputs read whole, without the group, before consuming: the
    // predictor's models, so it predicts with the latest model at once.
    for &topic in stage.preload() {
        if shutdown::requested() {
            return Ok(stage);
        }
        let n = preload::read_all(args, name, topic, &mut stage).await?;
        tracing::info!(
            stage = name,
            topic = args.topics.name(topic),
            messages = n,
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
    let mut watcher = InProcess::new(&tel.metrics, &tel.health, name);
    let logs = setup.logs.take();
    let mut kafka = Kafka::new(&consumer, args, &tel, output, logs, stage.decoder(), name);
    run_loop::run(
        &mut stage,
        &mut kafka,
        Cadence::default(),
        Some(&mut watcher),
    )
    .await?;
    Ok(stage)
}
