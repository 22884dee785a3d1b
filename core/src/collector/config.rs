//! The collector's parameters and the counters it keeps.

use crate::schema::Window;

/// The collector's parameters; defaults are the course's.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorConfig {
    /// Observation windows in seconds. Sorted and deduplicated by
    /// [`Collector::new`]; a zero window is dropped (it can hold no tweet).
    pub windows: Vec<Window>,
    /// Seconds without a tweet after which a cascade is over.
    pub termination: f64,
    /// Smallest series worth fitting; smaller windows are never sent.
    /// At least 1: an empty series is invalid on the wire.
    pub min_cascade_size: usize,
    /// Seconds (source clock) a terminated cascade id is remembered, so that
    /// its late tweets are dropped instead of opening a bogus cascade. It
    /// also bounds how far back a restart replays (see [`replay`]).
    pub late_horizon: f64,
    /// Seconds a tweet or watermark may be ahead of its source's clock;
    /// further is refused (dead-lettered).
    pub max_clock_skew: f64,
    /// Seconds (source time) a source's clock may lag the newest of its
    /// partition before it is ended as if it had sent `end` (see [`idle`]).
    /// None: termination + late horizon.
    pub source_idle: Option<f64>,
}

/// Default of [`CollectorConfig::late_horizon`], one day.
pub const LATE_HORIZON: f64 = 86_400.0;
/// Default of [`CollectorConfig::max_clock_skew`], 30 days: far above any
/// gap between two tweets of a source, far below a millisecond mistake.
pub const MAX_CLOCK_SKEW: f64 = 30.0 * 86_400.0;

impl CollectorConfig {
    /// [`CollectorConfig::source_idle`], its default applied.
    pub fn idle(&self) -> f64 {
        self.source_idle
            .unwrap_or(self.termination + self.late_horizon)
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            windows: vec![600, 1200],
            termination: 1800.0,
            min_cascade_size: 10,
            late_horizon: LATE_HORIZON,
            max_clock_skew: MAX_CLOCK_SKEW,
            source_idle: None,
        }
    }
}

/// Plain counters; the transport exports them as metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorStats {
    pub tweets: u64,
    pub watermarks: u64,
    pub ends: u64,
    /// Tweets of an already terminated cascade, dropped.
    pub late_tweets: u64,
    /// Tweets older than their source's clock (still added to their cascade).
    pub out_of_order: u64,
    /// Tweets whose `tweet_id` was already seen in their cascade, dropped.
    pub duplicates: u64,
    /// Tweets and watermarks refused for their time (skew, watermark).
    pub bad_times: u64,
    pub cascades_opened: u64,
    pub cascades_terminated: u64,
    pub series_sent: u64,
    /// Windows that elapsed with fewer than `min_cascade_size` tweets.
    pub series_too_small: u64,
    pub sizes_sent: u64,
    /// Sources ended for lagging `source_idle` behind their partition.
    pub idle_sources_ended: u64,
}
