//! The generator's loop: replays tweet sources onto the tweets topic, keyed
//! by source, paced by a time acceleration factor or as fast as possible.
//!
//! Not a [`crate::stage::Stage`]: it consumes nothing, so there is no offset
//! to commit; at-least-once here means every record is delivered (awaited)
//! before the process reports success.

use std::time::{Duration, Instant};

use super::driver::DriverError;
use super::output::{Output, now_ms};
use super::shutdown;
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
    pub seconds: f64,
    /// Stopped by a signal before the end of the input.
    pub interrupted: bool,
}

/// Produces every event; `speed`: source seconds per wall-clock second
/// (`None`: as fast as possible). Every record is a beat of `health`.
pub async fn run(
    events: impl Iterator<Item = Emitted>,
    speed: Option<f64>,
    output: &mut Output,
    health: &Health,
) -> Result<SourceReport, DriverError> {
    let mut report = SourceReport::default();
    let started = Instant::now();
    let mut signal = std::pin::pin!(shutdown::signal());
    let mut first_at = None;
    for emitted in events {
        health.beat();
        if let Some(speed) = speed {
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
