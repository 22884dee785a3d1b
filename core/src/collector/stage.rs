//! The collector as a [`Stage`]: dispatch by message, the end-of-stream
//! flush, the retained offsets, revocation and what it reports.

use super::{Collector, source_state};
use crate::schema::{Message, Topic, TweetMsg};
use crate::stage::{Ctx, Flush, Stage, StageError, StageReport};

impl Stage for Collector {
    fn name(&self) -> &'static str {
        "collector"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Tweets]
    }

    fn outputs(&self) -> &'static [Topic] {
        &[Topic::CascadeSeries, Topic::CascadeProperties]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let tweet = match msg {
            Message::Tweet(t) => t,
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: self.name(),
                    topic: other.topic(),
                });
            }
        };
        if let Some(t) = tweet.time()
            && !t.is_finite()
        {
            return Err(StageError::Invalid(format!("non-finite time {t}")));
        }
        let original = matches!(tweet, TweetMsg::Tweet(_));
        match tweet {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) if t.cascade_ref().is_none() => {
                Err(StageError::Invalid("tweet without a cascade id".into()))
            }
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) => {
                let source = t.source;
                self.check_time(source, t.t, true)?;
                self.on_tweet(t, original, ctx, out);
                self.end_idle(source, ctx.origin, out);
                self.collect_spans(source);
                Ok(())
            }
            TweetMsg::Watermark { source, t } => {
                self.check_time(source, t, false)?;
                self.stats.watermarks += 1;
                let state = source_state(&mut self.sources, source, ctx.origin);
                if t > state.watermark {
                    state.watermark = t;
                    state.watermark_at = Some(ctx.origin);
                }
                state.advance(t, Some(ctx.origin), &self.cfg, &mut self.stats, out);
                self.end_idle(source, ctx.origin, out);
                self.collect_spans(source);
                Ok(())
            }
            TweetMsg::End { source } => {
                self.stats.ends += 1;
                self.end(source, Some(ctx.origin), out);
                self.collect_spans(source);
                Ok(())
            }
        }
    }

    /// At the end of the input, every source ends as if it had sent `end`.
    /// On shutdown, nothing to emit: an open cascade's remaining windows
    /// and size are not known yet, and sending them now would send wrong
    /// sizes downstream. Its tweets are not committed (see
    /// `retained_offset`), so the next owner of the partition rebuilds it
    /// by replay.
    fn flush(&mut self, reason: Flush, out: &mut Vec<Message>) {
        match reason {
            Flush::EndOfInput => self.finish(out),
            Flush::Shutdown => {}
        }
    }

    /// The replay point of [`replay`]: committing past it would make a
    /// restarted collector rebuild some cascade from its middle.
    fn retained_offset(&self, _topic: Topic, partition: i32) -> Option<i64> {
        self.resume_at(partition)
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.gauge(
            "open_cascades",
            "Cascades open (not yet terminated)",
            &[],
            self.open_cascades() as f64,
        );
        r.counter("tweets", "Tweets and retweets received", &[], s.tweets);
        r.counter(
            "late_tweets",
            "Tweets of an already terminated cascade, dropped",
            &[],
            s.late_tweets,
        );
        r.counter(
            "out_of_order_tweets",
            "Tweets older than their source's clock (kept)",
            &[],
            s.out_of_order,
        );
        r.counter("cascades_opened", "Cascades opened", &[], s.cascades_opened);
        r.counter(
            "cascades_terminated",
            "Cascades terminated (idle for the termination time, or by an end marker)",
            &[],
            s.cascades_terminated,
        );
        r.counter(
            "source_ends",
            "End markers received (each terminates its source's cascades)",
            &[],
            s.ends,
        );
        r.counter(
            "idle_sources_ended",
            "Sources ended for lagging --source-idle behind their partition's newest clock",
            &[],
            s.idle_sources_ended,
        );
        r.counter(
            "series_too_small",
            "Windows that elapsed with too few tweets to send a series",
            &[],
            s.series_too_small,
        );
    }

    fn revoke(&mut self, _topic: Topic, partitions: &[i32]) {
        self.replay.revoke(partitions);
        self.sources.retain(|source, s| {
            let keep = !partitions.contains(&s.partition);
            if !keep {
                self.clocks.remove(*source);
                tracing::info!(source, partition = s.partition, "source state dropped");
            }
            keep
        });
    }
}
