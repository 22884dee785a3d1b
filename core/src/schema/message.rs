//! Any message of the pipeline: decoding by topic, validation, encoding.

use super::{
    AlertMsg, LogMsg, ModelMsg, PropertiesMsg, SampleMsg, SeriesMsg, StatMsg, Topic, TweetMsg,
    Window,
};

/// Any message of the pipeline, tagged by the topic it belongs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Tweet(TweetMsg),
    Series(SeriesMsg),
    Properties(PropertiesMsg),
    Sample(SampleMsg),
    Model(ModelMsg),
    Alert(AlertMsg),
    Stat(StatMsg),
    Log(LogMsg),
}

/// Why a payload could not be read as its topic's message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a valid {topic} message: {source}")]
    Json {
        topic: Topic,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid {topic} message: {reason}")]
    Invalid { topic: Topic, reason: String },
}

impl Message {
    pub fn topic(&self) -> Topic {
        match self {
            Message::Tweet(_) => Topic::Tweets,
            Message::Series(_) => Topic::CascadeSeries,
            Message::Properties(_) => Topic::CascadeProperties,
            Message::Sample(_) => Topic::Samples,
            Message::Model(_) => Topic::Models,
            Message::Alert(_) => Topic::Alerts,
            Message::Stat(_) => Topic::Stats,
            Message::Log(_) => Topic::Logs,
        }
    }

    /// The window a window-keyed message belongs to.
    pub fn window(&self) -> Option<Window> {
        match self {
            Message::Series(s) => Some(s.t_obs),
            Message::Properties(p) => p.window(),
            Message::Sample(s) => Some(s.t_obs),
            Message::Model(m) => Some(m.t_obs),
            Message::Alert(a) => Some(a.t_obs),
            Message::Stat(s) => Some(s.t_obs),
            Message::Tweet(_) | Message::Log(_) => None,
        }
    }

    /// The Kafka key: the source id on `tweets`, the window on window-keyed
    /// topics, the source name on `logs`, none elsewhere.
    pub fn key(&self) -> Option<String> {
        match self {
            Message::Tweet(t) => Some(t.source().to_string()),
            Message::Log(l) => Some(l.source.clone()),
            Message::Alert(_) | Message::Stat(_) => None,
            _ => self.window().map(|w| w.to_string()),
        }
    }

    /// The JSON payload. Serializing these types cannot fail (no maps with
    /// non-string keys; non-finite floats are written as null), but a
    /// transport must not send an empty payload if it ever did: it uses
    /// [`Message::try_encode`].
    pub fn encode(&self) -> Vec<u8> {
        self.try_encode().unwrap_or_default()
    }

    pub fn try_encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            Message::Tweet(m) => serde_json::to_vec(m),
            Message::Series(m) => serde_json::to_vec(m),
            Message::Properties(m) => serde_json::to_vec(m),
            Message::Sample(m) => serde_json::to_vec(m),
            Message::Model(m) => serde_json::to_vec(m),
            Message::Alert(m) => serde_json::to_vec(m),
            Message::Stat(m) => serde_json::to_vec(m),
            Message::Log(m) => serde_json::to_vec(m),
        }
    }

    /// Rejects values that parse but no stage could use.
    pub fn validate(&self) -> Result<(), String> {
        fn finite(name: &str, v: f64) -> Result<(), String> {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} is not a finite number"))
            }
        }
        fn cid(c: &str) -> Result<(), String> {
            if c.is_empty() {
                Err("empty cid".into())
            } else {
                Ok(())
            }
        }
        match self {
            Message::Tweet(TweetMsg::Tweet(t) | TweetMsg::Retweet(t)) => {
                finite("t", t.t)?;
                finite("m", t.m)?;
                if t.m < 0.0 {
                    return Err(format!("negative magnitude {}", t.m));
                }
                if t.cascade_ref().is_none() {
                    return Err("no cascade id (info \"cascade=N\" or tweet_id)".into());
                }
            }
            Message::Tweet(TweetMsg::Watermark { t, .. }) => finite("t", *t)?,
            Message::Tweet(TweetMsg::End { .. }) => {}
            Message::Series(s) => {
                cid(&s.cid)?;
                if s.t_obs == 0 {
                    return Err("T_obs is 0".into());
                }
                if s.tweets.is_empty() {
                    return Err("series has no tweets".into());
                }
                if s.kind != "serie" {
                    return Err(format!("type `{}` is not a series (`serie`)", s.kind));
                }
                let mut last = f64::NEG_INFINITY;
                for &(t, m) in &s.tweets {
                    finite("tweet time", t)?;
                    finite("tweet magnitude", m)?;
                    if t < last || t < 0.0 || m < 0.0 {
                        return Err("series times must be >= 0 and sorted, magnitudes >= 0".into());
                    }
                    last = t;
                }
            }
            Message::Properties(PropertiesMsg::Size(s)) => {
                cid(&s.cid)?;
                finite("t_end", s.t_end)?;
            }
            Message::Properties(PropertiesMsg::Failed(f)) => cid(&f.cid)?,
            Message::Properties(PropertiesMsg::Parameters(p)) => {
                cid(&p.cid)?;
                for (name, v) in [
                    ("p", p.params[0]),
                    ("beta", p.params[1]),
                    ("n_star", p.n_star),
                    ("G1", p.g1),
                ] {
                    finite(name, v)?;
                }
                if p.params[0] < 0.0 || p.params[1] <= 0.0 || p.g1 < 0.0 || p.n_star < 0.0 {
                    return Err("p, G1, n_star must be >= 0 and beta > 0".into());
                }
            }
            Message::Sample(s) => {
                cid(&s.cid)?;
                finite("W", s.w)?;
                if let Some(v) = s.x.iter().find(|v| !v.is_finite()) {
                    return Err(format!("X holds {v}"));
                }
                if !s.features.is_empty() && s.features.len() != s.x.len() {
                    return Err("features and X differ in length".into());
                }
            }
            Message::Model(m) => {
                if m.features.is_empty() {
                    return Err("model names no features".into());
                }
            }
            Message::Alert(_) | Message::Stat(_) | Message::Log(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
impl Message {
    /// The same record without its lineage, for tests comparing outputs
    /// whose offsets differ (another watermark interval, skipped
    /// watermarks).
    pub(crate) fn without_lineage(mut self) -> Self {
        match &mut self {
            Message::Series(s) => s.lineage = None,
            Message::Properties(PropertiesMsg::Size(s)) => s.lineage = None,
            _ => {}
        }
        self
    }
}
