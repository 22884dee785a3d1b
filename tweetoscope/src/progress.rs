//! `tweetoscope run`'s terminal progress bar. It counts source seconds
//! replayed, not tweets sent: the pacing turns source time into wall-clock
//! time, so the bar moves at the run's pace and its ETA means something.
//! Counted in tweets it sat at 99.9 % for most of the run: a cascade's
//! retweets come in its first minutes, and the replay then spends most of
//! its time in the long quiet tails (watermarks, terminations) that carry
//! no tweet.

use indicatif::{ProgressBar, ProgressStyle};

/// The bar over a replay of `span` source seconds.
pub fn bar(span: f64) -> ProgressBar {
    let bar = ProgressBar::new(length(span));
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {percent:>3} % of {len} s of source time, {elapsed} elapsed, ~{eta} left  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The bar's length: the replay's span in whole source seconds, at least 1
/// (an empty or instant replay is done at once).
pub fn length(span: f64) -> u64 {
    if span.is_finite() && span > 1.0 {
        span.ceil() as u64
    } else {
        1
    }
}

/// The bar's position once the message due at source time `at` is sent.
pub fn position(at: f64, span: f64) -> u64 {
    if at.is_finite() && at > 0.0 {
        (at.ceil() as u64).min(length(span))
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use tweetoscope_core::config::SourceArgs;
    use tweetoscope_core::generator::{Replay, ReplayConfig};
    use tweetoscope_core::schema::TweetMsg;

    use super::*;

    #[test]
    fn the_bar_follows_the_replays_clock_and_ends_full() {
        let source = SourceArgs {
            data: None,
            index: None,
            cascades: 300,
        };
        let set = source.load(0).unwrap();
        let span = Replay::new(set.clone(), ReplayConfig::default())
            .last()
            .map_or(0.0, |e| e.at);
        let len = length(span);
        // (tweets sent, bar position) at each message.
        let mut tweets = 0usize;
        let mut steps = Vec::new();
        for e in Replay::new(set, ReplayConfig::default()) {
            if matches!(e.msg, TweetMsg::Tweet(_) | TweetMsg::Retweet(_)) {
                tweets += 1;
            }
            steps.push((tweets, position(e.at, span)));
        }
        assert!(steps.windows(2).all(|p| p[0].1 <= p[1].1), "not monotone");
        assert_eq!(steps.last().unwrap().1, len, "not full at the end");
        // Halfway through the run's wall-clock time the bar says half,
        // whereas a tweet count would say nearly all.
        let half = steps.iter().find(|s| s.1 * 2 >= len).unwrap();
        let shown = half.1 as f64 / len as f64;
        assert!((0.49..=0.52).contains(&shown), "{shown}");
        let by_tweets = half.0 as f64 / tweets as f64;
        assert!(by_tweets > 0.9, "tweets sent by mid-run: {by_tweets}");
    }

    #[test]
    fn a_degenerate_span_gives_a_bar_of_one() {
        assert_eq!(length(0.0), 1);
        assert_eq!(length(f64::NAN), 1);
        assert_eq!(position(5.0, 0.0), 1);
        assert_eq!(position(-1.0, 100.0), 0);
        assert_eq!(position(99.2, 100.0), 100);
    }
}
