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
//! With `--delivery exactly-once`, a stage that produces commits each
//! batch's outputs and input offsets in one transaction and replays
//! without producing again ([`super::transaction`]).
//!
//! Undecodable or refused input is counted, logged with its origin, sent
//! to the dead-letter topic with the reason in a header, and skipped: it
//! never stops a partition.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};

use super::consume::{Exactly, Kafka};
use super::context::Context;
use super::error::DriverError;
use super::output::Output;
use super::setup::Setup;
use super::transaction_replay::Replay;
use super::{assign, preload, shutdown, topics};
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
    start_producer(stage, setup, roles, None).await
}

/// [`start_output`], with a transactional producer when given its id.
async fn start_producer(
    stage: &'static str,
    setup: &Setup<'_>,
    roles: &[Topic],
    transactional_id: Option<&str>,
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
        transactional_id,
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
    // Exactly once concerns what a stage produces: the dashboard and the
    // logger (no outputs, or no group) read as in at-least-once.
    let transactional_id =
        (args.delivery.exactly_once() && !stage.outputs().is_empty() && args.assign.is_none())
            .then(|| args.delivery.transactional_id(&args.group(name)));
    tracing::info!(stage = name, delivery = %args.delivery.delivery, "delivery");
    let mut output = match start_producer(name, &setup, &roles, transactional_id.as_deref()).await {
        Err(DriverError::Stopped) => {
            tracing::info!(stage = name, "stopped before starting");
            return Ok(stage);
        }
        started => started?,
    };
    // Inputs read without the group before consuming: the predictor's
    // models (whole), so it predicts with the latest model at once; the
    // dashboard's alerts and stats (their recent look-back), so a
    // restarted dashboard shows what it showed.
    for &topic in stage.preload() {
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
    let exactly = match transactional_id {
        Some(id) => {
            let interval = Duration::from_secs_f64(args.delivery.transaction_interval);
            let transaction =
                tokio::task::block_in_place(|| output.transactional(id, interval, &tel.metrics))?;
            let replay = Replay::new(&tel.metrics, name)?;
            Some(Exactly {
                transaction,
                replay,
                replaying: false,
            })
        }
        None => None,
    };
    let mut context = Context::for_consumer(name, tel.transport.clone(), tel.health.clone());
    if let Some(e) = &exactly {
        context = context.with_revoke_hook(e.transaction.clone());
    }
    let consumer: Arc<StreamConsumer<Context>> = Arc::new(
        args.consumer_config(&group, super::args::fetch_wait_ms(name))
            .create_with_context(context)
            .map_err(DriverError::Consumer)?,
    );
    let names: Vec<&str> = inputs.iter().map(|t| args.topics.name(*t)).collect();
    let subscribe_error = |source| DriverError::Subscribe {
        topics: names.join(","),
        source,
    };
    match args.assign {
        None => {
            consumer.subscribe(&names).map_err(subscribe_error)?;
            tracing::info!(stage = name, group, topics = names.join(","), "consuming");
        }
        Some(start) => {
            let partitions =
                assign::all_partitions(&consumer, &names, start).map_err(subscribe_error)?;
            tel.health.joined_group();
            let topics = names.join(",");
            tracing::info!(
                stage = name,
                topics,
                partitions,
                "consuming without a group"
            );
        }
    }
    let mut watcher = InProcess::new(&tel.metrics, &tel.health, name);
    let logs = setup.logs.take();
    let mut kafka = Kafka::new(&consumer, args, &tel, output, logs, stage.decoder(), name);
    if let Some(e) = exactly {
        kafka.exactly_once(e);
    }
    let ran = run_loop::run(
        &mut stage,
        &mut kafka,
        Cadence::default(),
        Some(&mut watcher),
    )
    .await;
    match ran {
        Err(error) if error.is_fenced() => {
            tracing::error!(stage = name, %error, "fenced: stopping without committing");
            Ok(stage)
        }
        ran => ran.map(|_| stage),
    }
}
