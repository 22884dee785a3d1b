//! THE run loop of every consuming stage: receive, handle, produce, commit,
//! shut down. Written once, generic over [`Stage`].
//!
//! Delivery is at least once, by batches: the loop handles up to `--batch`
//! messages or `--batch-wait`, waits until every output of the batch is
//! delivered, then commits, per input partition, the next offset to read,
//! held back to the stage's [`Stage::retained_offset`] so that a restarted
//! stage rebuilds its in-memory state by replay. Replays make duplicates;
//! consumers dedupe by `(cid, T_obs)` (SPEC §6).
//!
//! Undecodable or refused input is counted, logged with its origin, sent
//! to the dead-letter topic with the reason in a header, and skipped: it
//! never stops a partition.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use super::app::StageTelemetry;
use super::args::KafkaArgs;
use super::context::Context;
use super::output::{INSTANCE, ORIGIN_TS, Output, OutputError, Refused, now_ms};
use super::{preload, shutdown, topics};
use crate::schema::{DecodeError, Message, Topic, Window};
use crate::stage::{Ctx, Origin, Stage};
use crate::telemetry::logs::LogReceiver;
use crate::telemetry::transport::DeadLetterReason;
use crate::telemetry::{StageMetrics, TelemetryError, Transport};

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

/// A pause in the input this long closes the batch.
const IDLE: Duration = Duration::from_millis(2);

/// What a stage process needs besides its stage.
#[derive(Debug)]
pub struct Setup<'a> {
    pub args: &'a KafkaArgs,
    pub windows: &'a [Window],
    /// Topics the stage produces to (created when missing).
    pub outputs: &'a [Topic],
    /// Input topics read whole, without the group, before consuming: the
    /// predictor's models, so it predicts with the latest model at once.
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
    let mut output = match start_output(name, &setup, inputs).await {
        Err(DriverError::Stopped) => {
            tracing::info!(stage = name, "stopped before starting");
            return Ok(stage);
        }
        started => started?,
    };
    let mut out = Vec::new();
    for &topic in setup.preload {
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
        args.consumer_config(&group)
            .create_with_context(Context::for_consumer(
                name,
                tel.transport.clone(),
                tel.health.clone(),
            ))
            .map_err(DriverError::Consumer)?,
    );
    let mut flow = StageMetrics::new(&tel.metrics, name);
    let names: Vec<&str> = inputs.iter().map(|t| args.topics.name(*t)).collect();
    consumer
        .subscribe(&names)
        .map_err(|source| DriverError::Subscribe {
            topics: names.join(","),
            source,
        })?;
    tracing::info!(stage = name, group, topics = names.join(","), "consuming");

    let mut offsets = Offsets::default();
    let mut signal = std::pin::pin!(shutdown::signal());
    let batch_wait = Duration::from_secs_f64(args.batch_wait);
    let mut last_tick = Instant::now();
    let mut logs = setup.logs.take();
    loop {
        tel.health.beat();
        let deadline = tokio::time::Instant::now() + batch_wait;
        let mut handled = 0;
        let mut stopping = false;
        let mut batch_start = None;
        while handled < args.batch {
            tokio::select! {
                biased;
                _ = &mut signal => { stopping = true; break; }
                received = consumer.recv() => match received {
                    Ok(m) => {
                        // A rebalance runs inside recv: drop the state of
                        // what it took before handling the message (which
                        // belongs to the new assignment, possibly the same
                        // partition again, replayed from its commit).
                        apply_revoked(&mut stage, &consumer, args, &mut offsets);
                        batch_start.get_or_insert_with(Instant::now);
                        let mut io = Io { args, transport: &tel.transport, flow: &mut flow, output: &mut output };
                        handle_one(&mut stage, &m, &mut io, &mut out, &mut offsets).await?;
                        handled += 1;
                    }
                    Err(error) => {
                        // Unknown topics while they are being created, broker
                        // restarts: librdkafka recovers by itself.
                        tracing::warn!(stage = name, %error, "consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = tokio::time::sleep_until(deadline) => break,
                // A batch closes early when the input pauses: under light
                // load a message does not wait for --batch-wait.
                _ = tokio::time::sleep(IDLE), if handled > 0 => break,
            }
            apply_revoked(&mut stage, &consumer, args, &mut offsets);
        }
        apply_revoked(&mut stage, &consumer, args, &mut offsets);
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            stage.tick(now_secs(), &mut out);
            for msg in out.drain(..) {
                output.send(&msg, now_ms()).await?;
            }
            stage.observe(&mut flow);
        }
        if let Some(rx) = logs.as_mut() {
            while let Ok(log) = rx.try_recv() {
                output.send_log(&log);
            }
        }
        if stopping {
            tel.health.stopping();
            stage.observe(&mut flow);
            return shut_down(stage, consumer, output, &mut offsets, args, &tel.transport).await;
        }
        output.settle().await?;
        commit(
            &stage,
            &consumer,
            args,
            &mut offsets,
            CommitMode::Async,
            &tel.transport,
        );
        if let Some(start) = batch_start {
            tel.transport
                .batch_duration
                .observe(start.elapsed().as_secs_f64());
        }
    }
}

/// What handling one input writes to.
struct Io<'a, 'b> {
    args: &'a KafkaArgs,
    transport: &'a Transport,
    flow: &'b mut StageMetrics,
    output: &'b mut Output,
}

/// Decodes, handles and produces one input; dead-letters it when refused.
async fn handle_one<S: Stage>(
    stage: &mut S,
    m: &BorrowedMessage<'_>,
    io: &mut Io<'_, '_>,
    out: &mut Vec<Message>,
    offsets: &mut Offsets,
) -> Result<(), DriverError> {
    let (args, output) = (io.args, &mut *io.output);
    let topic_name = m.topic();
    io.transport.consumed.with_label_values(&[topic_name]).inc();
    let Some(role) = args.topics.role(topic_name) else {
        return Ok(());
    };
    offsets.next.insert((role, m.partition()), m.offset() + 1);
    let origin_ms = origin_ts(m);
    if let Some(instance) = header(m, INSTANCE) {
        stage.heard(role, instance, now_secs());
    }
    let payload = m.payload().unwrap_or_default();
    let decoded = stage.decoder().decode(role, m.key(), payload);
    if let Ok(msg) = &decoded
        && let Some(reroute) = output.reroute(role, msg, m.partition())
    {
        // Not ours to handle: the owner of the window's partition will.
        io.transport.rerouted.with_label_values(&[topic_name]).inc();
        if reroute.first {
            tracing::warn!(
                stage = stage.name(),
                topic = topic_name,
                partition = m.partition(),
                offset = m.offset(),
                window = msg.window(),
                to = reroute.to,
                "window on another partition than its own: produced again to it (further ones counted in rerouted_total)"
            );
        }
        output.send(msg, origin_ms).await?;
        return Ok(());
    }
    let result = decoded
        .map_err(|e| {
            let why = match e {
                DecodeError::Json { .. } => DeadLetterReason::Undecodable,
                DecodeError::Invalid { .. } => DeadLetterReason::Invalid,
            };
            (why, e.to_string())
        })
        .and_then(|msg| {
            let ctx = Ctx {
                now: now_secs(),
                origin: Origin {
                    partition: m.partition(),
                    offset: m.offset(),
                },
            };
            let window = msg.window();
            let started = Instant::now();
            stage
                .handle(msg, ctx, out)
                .map_err(|e| (DeadLetterReason::Refused, e.to_string()))?;
            io.flow.handled(role, window, out, started.elapsed());
            Ok(())
        });
    if let Err((why, reason)) = result {
        out.clear();
        io.transport
            .dead_letters
            .with_label_values(&[topic_name, why.label()])
            .inc();
        tracing::warn!(
            stage = stage.name(),
            topic = topic_name,
            partition = m.partition(),
            offset = m.offset(),
            reason,
            "message dead-lettered"
        );
        let refused = Refused {
            topic: topic_name,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
            payload,
            reason: &reason,
        };
        output.dead_letter(refused).await?;
        return Ok(());
    }
    let now = now_ms();
    for msg in out.drain(..) {
        io.transport
            .observe_latency(args.topics.name(msg.topic()), origin_ms, now);
        output.send(&msg, origin_ms).await?;
    }
    Ok(())
}

/// The input's `origin-ts` header, else its broker timestamp, else now.
fn origin_ts(m: &BorrowedMessage<'_>) -> i64 {
    let from_header = m.headers().and_then(|h| {
        h.iter()
            .find(|h| h.key == ORIGIN_TS)
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<i64>().ok())
    });
    from_header
        .or_else(|| m.timestamp().to_millis())
        .unwrap_or_else(now_ms)
}

/// A header of the input as text, when present and UTF-8.
fn header<'m>(m: &'m BorrowedMessage<'_>, key: &str) -> Option<&'m str> {
    let headers = m.headers()?;
    let h = headers.iter().find(|h| h.key == key)?;
    std::str::from_utf8(h.value?).ok()
}

/// Input positions: the next offset to read and the last committed one.
#[derive(Debug, Default)]
struct Offsets {
    next: HashMap<(Topic, i32), i64>,
    committed: HashMap<(Topic, i32), i64>,
}

/// Drops what the stage and the loop hold for partitions a rebalance took.
fn apply_revoked<S: Stage>(
    stage: &mut S,
    consumer: &StreamConsumer<Context>,
    args: &KafkaArgs,
    offsets: &mut Offsets,
) {
    let revoked = consumer.context().take_revoked();
    if revoked.is_empty() {
        return;
    }
    let mut by_topic: HashMap<Topic, Vec<i32>> = HashMap::new();
    for (name, partition) in &revoked {
        let (Some(role), partition) = (args.topics.role(name), *partition) else {
            continue;
        };
        offsets.next.remove(&(role, partition));
        offsets.committed.remove(&(role, partition));
        by_topic.entry(role).or_default().push(partition);
    }
    for (role, parts) in by_topic {
        stage.revoke(role, &parts);
    }
}

/// Commits, per partition, min(retained offset, next offset) when it moved
/// forward: a restarted stage replays what it held only in memory. An
/// offset counts as committed once the commit succeeded: a failed
/// asynchronous commit (reported by the context) is sent again.
fn commit<S: Stage>(
    stage: &S,
    consumer: &StreamConsumer<Context>,
    args: &KafkaArgs,
    offsets: &mut Offsets,
    mode: CommitMode,
    transport: &Transport,
) {
    if consumer.context().take_commit_failed() {
        offsets.committed.clear();
    }
    let Some((tpl, moved)) = to_commit(stage, args, offsets) else {
        return;
    };
    match consumer.commit(&tpl, mode) {
        Ok(()) => {
            tracing::debug!(offsets = listed(&moved), "commit requested");
            transport.commits.inc();
            offsets.committed.extend(moved);
        }
        Err(error) => {
            transport.commit_failures.inc();
            tracing::warn!(%error, "commit request failed");
        }
    }
}

type Moved = Vec<((Topic, i32), i64)>;

/// The offsets to commit and where each partition moves, or `None` when
/// nothing moved.
fn to_commit<S: Stage>(
    stage: &S,
    args: &KafkaArgs,
    offsets: &Offsets,
) -> Option<(TopicPartitionList, Moved)> {
    let mut tpl = TopicPartitionList::new();
    let mut moved = Vec::new();
    for (&(role, partition), &next) in &offsets.next {
        let mut at = next;
        if let Some(retained) = stage.retained_offset(role, partition) {
            at = at.min(retained);
        }
        if offsets
            .committed
            .get(&(role, partition))
            .is_some_and(|&c| c >= at)
        {
            continue;
        }
        if tpl
            .add_partition_offset(args.topics.name(role), partition, Offset::Offset(at))
            .is_ok()
        {
            moved.push(((role, partition), at));
        }
    }
    (!moved.is_empty()).then_some((tpl, moved))
}

fn listed(moved: &Moved) -> String {
    let list: Vec<String> = moved
        .iter()
        .map(|((t, p), at)| format!("{t}/{p}@{at}"))
        .collect();
    list.join(",")
}

/// Stop consuming, flush the stage, deliver, commit, leave the group, all
/// within the grace period: every wait (deliveries, the producer's flush,
/// the synchronous commit, run on a blocking thread) is inside the one
/// timeout, so a dead broker cannot hold the process past it.
async fn shut_down<S: Stage>(
    mut stage: S,
    consumer: Arc<StreamConsumer<Context>>,
    mut output: Output,
    offsets: &mut Offsets,
    args: &KafkaArgs,
    transport: &Transport,
) -> Result<S, DriverError> {
    let grace = Duration::from_secs_f64(args.shutdown_grace);
    let deadline = Instant::now() + grace;
    tracing::info!(
        stage = stage.name(),
        grace_s = args.shutdown_grace,
        "stopping"
    );
    let work = async {
        let mut out = Vec::new();
        stage.flush(&mut out);
        for msg in out.drain(..) {
            output.send(&msg, now_ms()).await?;
        }
        output.settle().await?;
        output.flush(deadline.saturating_duration_since(Instant::now()))?;
        if let Some((tpl, moved)) = to_commit(&stage, args, offsets) {
            let c = consumer.clone();
            let committed = tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync))
                .await
                .map_err(|e| DriverError::Runtime(e.to_string()))?;
            match committed {
                Ok(()) => {
                    tracing::info!(offsets = listed(&moved), "committed");
                    transport.commits.inc();
                    offsets.committed.extend(moved);
                }
                Err(error) => {
                    transport.commit_failures.inc();
                    tracing::warn!(%error, "final commit failed");
                }
            }
        }
        Ok::<(), DriverError>(())
    };
    match tokio::time::timeout(grace, work).await {
        Ok(result) => result?,
        Err(_) => return Err(DriverError::Grace(grace)),
    }
    consumer.unsubscribe();
    tracing::info!(stage = stage.name(), "stopped");
    Ok(stage)
}

/// Wall-clock seconds: the `now` of production stages.
pub fn now_secs() -> f64 {
    now_ms() as f64 / 1000.0
}
