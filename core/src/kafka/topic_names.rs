//! The name on the broker of each topic role (`--topic-*`): several
//! deployments (or tests) share a cluster under different names; the
//! defaults are SPEC §1's names.

use clap::Args;

use crate::schema::Topic;

/// The name of each topic role on the broker.
#[derive(Debug, Clone, Args)]
pub struct TopicNames {
    /// Topic of tweets, watermarks and end markers (keyed by source).
    #[arg(long, env = "TWEETOSCOPE_TOPIC_TWEETS", default_value = "tweets")]
    pub topic_tweets: String,
    #[arg(
        long,
        env = "TWEETOSCOPE_TOPIC_CASCADE_SERIES",
        default_value = "cascade_series"
    )]
    pub topic_cascade_series: String,
    #[arg(
        long,
        env = "TWEETOSCOPE_TOPIC_CASCADE_PROPERTIES",
        default_value = "cascade_properties"
    )]
    pub topic_cascade_properties: String,
    /// Topic of training samples (partitioned by window).
    #[arg(long, env = "TWEETOSCOPE_TOPIC_SAMPLES", default_value = "samples")]
    pub topic_samples: String,
    /// Topic of the learned models, one per window (compacted).
    #[arg(long, env = "TWEETOSCOPE_TOPIC_MODELS", default_value = "models")]
    pub topic_models: String,
    /// Topic of predictions.
    #[arg(long, env = "TWEETOSCOPE_TOPIC_ALERTS", default_value = "alerts")]
    pub topic_alerts: String,
    /// Topic of prediction errors.
    #[arg(long, env = "TWEETOSCOPE_TOPIC_STATS", default_value = "stats")]
    pub topic_stats: String,
    /// Topic of every stage's warnings and errors.
    #[arg(long, env = "TWEETOSCOPE_TOPIC_LOGS", default_value = "logs")]
    pub topic_logs: String,
}

impl TopicNames {
    pub fn name(&self, topic: Topic) -> &str {
        match topic {
            Topic::Tweets => &self.topic_tweets,
            Topic::CascadeSeries => &self.topic_cascade_series,
            Topic::CascadeProperties => &self.topic_cascade_properties,
            Topic::Samples => &self.topic_samples,
            Topic::Models => &self.topic_models,
            Topic::Alerts => &self.topic_alerts,
            Topic::Stats => &self.topic_stats,
            Topic::Logs => &self.topic_logs,
        }
    }

    /// The role of a broker topic name, if it is one of ours.
    pub fn role(&self, name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| self.name(*t) == name)
    }
}
