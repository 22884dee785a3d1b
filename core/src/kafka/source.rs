//! The generator's loop: replays tweet sources onto the tweets topic, keyed
//! by source, paced by a time acceleration factor or as fast as possible.
//!
//! Not a [`crate::stage::Stage`]: it consumes nothing, so there is no offset
//! to commit; at-least-once here means every record is delivered (awaited)
//! before the process reports success.
//!
//! Quiet gate: a watermark whose source's next tweet follows within
//! `watermark_quiet` of wall time is not sent (see [`redundant`]). Replayed
//! as fast as possible, the replay's watermarks outnumbered its tweets
//! (they follow the source clock, not silence); the collector's output does
//! not depend on them, and a window closed by the next tweet instead closes
//! at most `watermark_quiet` later in wall time.

use std::time::{Duration, Instant};

use super::error::DriverError;
use super::output::Output;
use super::shutdown;
use crate::clock::now_ms;
use crate::generator::Emitted;
use crate::schema::{Message, TweetMsg};
use crate::telemetry::Health;

/// Records in flight before the loop waits for their delivery.
const IN_FLIGHT: usize = 50_000;

/// What a source run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SourceReport {
    pub tweets: u64,
    pub messages: u64,
    /// Watermarks not sent: their source's next tweet followed within the
    /// quiet time.
    pub watermarks_skipped: u64,
    pub seconds: f64,
    /// Stopped by a signal before the end of the input.
    pub interrupted: bool,
}

/// How the replay is laid on wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Source seconds per wall-clock second; `None`: as fast as possible.
    pub speed: Option<f64>,
    /// A watermark is sent only when its source then stays quiet at least
    /// this long in wall time; zero sends every watermark.
    pub watermark_quiet: Duration,
}

/// Whether `e` is a watermark that the next tweet of its source makes
/// redundant: that tweet is due within `watermark_quiet` of wall time.
pub fn redundant(e: &Emitted, pacing: &Pacing) -> bool {
    let (TweetMsg::Watermark { .. }, Some(next)) = (&e.msg, e.next_tweet) else {
        return false;
    };
    if pacing.watermark_quiet.is_zero() {
        return false;
    }
    match pacing.speed {
        None => true,
        Some(speed) => Duration::try_from_secs_f64(((next - e.at) / speed).max(0.0))
            .is_ok_and(|gap| gap < pacing.watermark_quiet),
    }
}

/// Produces every event but the [`redundant`] watermarks, paced. Every
/// record is a beat of `health`.
pub async fn run(
    events: impl Iterator<Item = Emitted>,
    pacing: Pacing,
    output: &mut Output,
    health: &Health,
) -> Result<SourceReport, DriverError> {
    let mut report = SourceReport::default();
    let mut started = Instant::now();
    let mut signal = std::pin::pin!(shutdown::signal());
    let mut first_at = None;
    for emitted in events {
        health.beat();
        if redundant(&emitted, &pacing) {
            report.watermarks_skipped += 1;
            continue;
        }
        if let Some(speed) = pacing.speed {
            let t0 = *first_at.get_or_insert(emitted.at);
            let due = Duration::from_secs_f64(((emitted.at - t0) / speed).max(0.0));
            if let Some(wait) = due
                .checked_sub(started.elapsed())
                .filter(|w| *w > Duration::from_millis(1))
            {
                tokio::select! {
                    _ = &mut signal => { report.interrupted = true; break; }
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
        if matches!(emitted.msg, TweetMsg::Tweet(_) | TweetMsg::Retweet(_)) {
            report.tweets += 1;
        }
        report.messages += 1;
        output.send(&Message::Tweet(emitted.msg), now_ms()).await?;
        if report.messages == 1 {
            // The producer's start (topic metadata, an idempotent
            // producer's id) holds the first records back: start the pace
            // once the first one is delivered, not with a burst behind it.
            output.settle().await?;
            started = Instant::now();
        }
        if output.pending() >= IN_FLIGHT {
            output.settle().await?;
            // A signal between two settles stops the replay.
            if futures_util::FutureExt::now_or_never(&mut signal).is_some() {
                report.interrupted = true;
                break;
            }
        }
    }
    output.settle().await?;
    output.flush(Duration::from_secs(30))?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collector::{Collector, CollectorConfig};
    use crate::generator::{Replay, ReplayConfig};
    use crate::stage::{Ctx, Flush, Stage};

    fn replay() -> Vec<Emitted> {
        let data = crate::synthetic::generate(&crate::synthetic::SyntheticConfig {
            cascades: 60,
            ..Default::default()
        });
        let cfg = ReplayConfig {
            sources: 3,
            max_active: 2,
            watermark_interval: 20.0,
            seed: 5,
            ..ReplayConfig::default()
        };
        Replay::new(Arc::new(data), cfg).collect()
    }

    fn pacing(speed: Option<f64>, quiet_ms: u64) -> Pacing {
        Pacing {
            speed,
            watermark_quiet: Duration::from_millis(quiet_ms),
        }
    }

    /// The collector's messages, sorted and without their lineage: their
    /// order across cascades, and the offsets lineage names, change with
    /// the watermarks, not their content.
    fn collected(events: &[&Emitted]) -> Vec<String> {
        let mut c = Collector::new(CollectorConfig::default());
        let mut out = Vec::new();
        for (offset, e) in events.iter().enumerate() {
            let ctx = Ctx::in_process(0.0, offset as i64);
            c.handle(Message::Tweet(e.msg.clone()), ctx, &mut out)
                .unwrap();
        }
        c.flush(Flush::EndOfInput, &mut out);
        let mut v: Vec<String> = out
            .into_iter()
            .map(|m| String::from_utf8(m.without_lineage().encode()).unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn only_watermarks_followed_soon_by_a_tweet_are_skipped() {
        let events = replay();
        let watermarks = events
            .iter()
            .filter(|e| matches!(e.msg, TweetMsg::Watermark { .. }))
            .count();
        assert!(watermarks > 50, "{watermarks} watermarks");
        let kept = |p: Pacing| events.iter().filter(|e| !redundant(e, &p)).count();
        assert_eq!(kept(pacing(None, 0)), events.len(), "0: every watermark");
        assert_eq!(kept(pacing(None, 10)), events.len() - watermarks);
        // Paced at 1 source s per wall ms, a 20 s gap is 20 ms of silence:
        // kept with a 10 ms quiet time, skipped with 30 ms.
        let paced = |ms| kept(pacing(Some(1000.0), ms));
        assert!(paced(10) > paced(30) && paced(30) > events.len() - watermarks);
        assert!(
            events
                .iter()
                .all(|e| !redundant(e, &pacing(Some(1.0), 10))
                    || e.next_tweet.unwrap() - e.at < 0.01)
        );
    }

    #[test]
    fn the_collector_says_the_same_with_or_without_the_skipped_watermarks() {
        let events = replay();
        let all: Vec<&Emitted> = events.iter().collect();
        let reference = collected(&all);
        assert!(reference.len() > 20, "{} messages", reference.len());
        for p in [pacing(None, 10), pacing(Some(1000.0), 30)] {
            let gated: Vec<&Emitted> = events.iter().filter(|e| !redundant(e, &p)).collect();
            assert!(gated.len() < all.len());
            assert_eq!(collected(&gated), reference, "{p:?}");
        }
    }
}
