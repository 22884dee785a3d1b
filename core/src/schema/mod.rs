//! One serde type per topic (SPEC §2).
//!
//! Producers write the course's fields (plus a few optional extras that the
//! course consumers ignore); consumers accept both course editions and ignore
//! unknown fields. Numbers that are integral on the wire (`t`, `m`, relative
//! times) are written without a fractional part, as the course writes them,
//! but are read from either form.

//!
//! One file per topic: [`tweets`], [`series`], [`properties`], [`samples`],
//! [`models`], [`alerts`] (alerts and stats), [`logs`]; [`lineage`] is
//! the optional provenance of series and properties; [`message`] reads and
//! checks any of them by topic; [`Decoder`] reads both course editions
//! (2020 and 2021) as well as ours.

mod alerts;
mod codec;
mod decoder;
mod lineage;
mod logs;
mod message;
mod models;
mod properties;
mod samples;
mod series;
mod tweets;

pub use alerts::{AlertMsg, ColdBasis, StatMsg};
pub use decoder::Decoder;
pub use lineage::Lineage;
pub use logs::LogMsg;
pub use message::{DecodeError, Message};
pub use models::ModelMsg;
pub use properties::{FailedMsg, ParametersMsg, PowerLawParams, PropertiesMsg, SizeMsg};
pub use samples::SampleMsg;
pub use series::SeriesMsg;
pub use tweets::{Tweet, TweetMsg};

/// Observation window length in seconds (`T_obs`), the key of every
/// window-partitioned topic.
pub type Window = u32;

/// Source identifier on the `tweets` topic (its key).
pub type SourceId = u64;

/// The topics of SPEC §1, by role. Names on a broker are configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Tweets,
    CascadeSeries,
    CascadeProperties,
    Samples,
    Models,
    Alerts,
    Stats,
    Logs,
}

impl Topic {
    pub const ALL: [Topic; 8] = [
        Topic::Tweets,
        Topic::CascadeSeries,
        Topic::CascadeProperties,
        Topic::Samples,
        Topic::Models,
        Topic::Alerts,
        Topic::Stats,
        Topic::Logs,
    ];

    /// The default topic name, as the course names it.
    pub fn default_name(self) -> &'static str {
        match self {
            Topic::Tweets => "tweets",
            Topic::CascadeSeries => "cascade_series",
            Topic::CascadeProperties => "cascade_properties",
            Topic::Samples => "samples",
            Topic::Models => "models",
            Topic::Alerts => "alerts",
            Topic::Stats => "stats",
            Topic::Logs => "logs",
        }
    }

    /// Whether messages are placed by observation window (SPEC §1).
    pub fn is_window_keyed(self) -> bool {
        matches!(
            self,
            Topic::CascadeSeries | Topic::CascadeProperties | Topic::Samples | Topic::Models
        )
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.default_name())
    }
}

#[cfg(test)]
mod tests;
