//! One serde type per topic (SPEC §2).
//!
//! Producers write the course's fields (plus a few optional extras that the
//! course consumers ignore); consumers accept both course editions and ignore
//! unknown fields. Numbers that are integral on the wire (`t`, `m`, relative
//! times) are written without a fractional part, as the course writes them,
//! but are read from either form.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

// ---------------------------------------------------------------- tweets

/// A message on `tweets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TweetMsg {
    /// Opens a cascade.
    Tweet(Tweet),
    /// Extends a cascade (or opens it, when its first tweet was not seen).
    Retweet(Tweet),
    /// The source's clock has reached `t`: no older tweet will follow.
    Watermark {
        #[serde(deserialize_with = "de_source")]
        source: SourceId,
        #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
        t: f64,
    },
    /// The source is finished: every open cascade of it terminates.
    End {
        #[serde(deserialize_with = "de_source")]
        source: SourceId,
    },
}

impl TweetMsg {
    pub fn source(&self) -> SourceId {
        match self {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) => t.source,
            TweetMsg::Watermark { source, .. } | TweetMsg::End { source } => *source,
        }
    }

    /// The source clock this message advances to, if any.
    pub fn time(&self) -> Option<f64> {
        match self {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) => Some(t.t),
            TweetMsg::Watermark { t, .. } => Some(*t),
            TweetMsg::End { .. } => None,
        }
    }
}

/// A tweet or retweet. Both course editions are read: the 2020 one names the
/// cascade only in `info` ("cascade=N"), the 2021 one also sends `tweet_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tweet {
    #[serde(default)]
    pub msg: String,
    /// Seconds on the source's clock.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub t: f64,
    /// Magnitude: the author's follower count.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub m: f64,
    #[serde(deserialize_with = "de_source")]
    pub source: SourceId,
    #[serde(default)]
    pub info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tweet_id: Option<serde_json::Value>,
}

impl Tweet {
    /// The cascade id: `cascade=N` in `info`, else the 2021 edition's
    /// `tweet_id`.
    pub fn cascade_id(&self) -> Option<String> {
        let from_info = self.info.split([',', ';', ' ']).find_map(|part| {
            let (k, v) = part.split_once('=')?;
            (k.trim() == "cascade" && !v.trim().is_empty()).then(|| v.trim().to_owned())
        });
        from_info.or_else(|| match &self.tweet_id {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------- cascade_series

/// A partial cascade on `cascade_series`: tweets with relative time < `T_obs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMsg {
    #[serde(rename = "type", default = "serie_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default)]
    pub msg: String,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    /// `(time relative to the first tweet, magnitude)`, in time order.
    #[serde(serialize_with = "ser_pairs", deserialize_with = "de_pairs")]
    pub tweets: Vec<(f64, f64)>,
}

fn serie_tag() -> String {
    "serie".to_owned()
}

impl SeriesMsg {
    pub fn new(cid: String, msg: String, t_obs: Window, tweets: Vec<(f64, f64)>) -> Self {
        Self {
            kind: serie_tag(),
            cid,
            msg,
            t_obs,
            tweets,
        }
    }
}

// ---------------------------------------------------------------- cascade_properties

/// A message on `cascade_properties`: a final size from the collector or
/// fitted parameters from the estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PropertiesMsg {
    Size(SizeMsg),
    Parameters(ParametersMsg),
    /// Extra (`"type":"failed"`): the estimator could not fit this series,
    /// so the predictor frees the size instead of waiting for parameters.
    /// Course consumers ignore it (they read `size` and `parameters`).
    Failed(FailedMsg),
}

impl PropertiesMsg {
    pub fn cid(&self) -> &str {
        match self {
            PropertiesMsg::Size(s) => &s.cid,
            PropertiesMsg::Parameters(p) => &p.cid,
            PropertiesMsg::Failed(f) => &f.cid,
        }
    }

    /// The window, when the value carries it (ours always do; the course's
    /// only carry it in the key).
    pub fn window(&self) -> Option<Window> {
        match self {
            PropertiesMsg::Size(s) => s.t_obs,
            PropertiesMsg::Parameters(p) => p.t_obs,
            PropertiesMsg::Failed(f) => f.t_obs,
        }
    }

    pub fn set_window(&mut self, w: Window) {
        match self {
            PropertiesMsg::Size(s) => s.t_obs = Some(w),
            PropertiesMsg::Parameters(p) => p.t_obs = Some(w),
            PropertiesMsg::Failed(f) => f.t_obs = Some(w),
        }
    }
}

/// A series the estimator could not fit, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(rename = "T_obs", default, skip_serializing_if = "Option::is_none")]
    pub t_obs: Option<Window>,
    #[serde(default)]
    pub reason: String,
}

/// The cascade's final size, sent by the collector at termination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    pub n_tot: u64,
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub t_end: f64,
    /// Extra: the window this size is keyed by (the course puts it only in
    /// the key).
    #[serde(rename = "T_obs", default, skip_serializing_if = "Option::is_none")]
    pub t_obs: Option<Window>,
}

/// The estimator's fit of one partial cascade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParametersMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default)]
    pub msg: String,
    pub n_obs: u64,
    /// Retweets still to come with w = 1: G1 / (1 - n*).
    pub n_supp: f64,
    /// `[p, beta]`.
    pub params: [f64; 2],
    pub n_star: f64,
    #[serde(rename = "G1")]
    pub g1: f64,
    /// Extra: the window (the course puts it only in the key).
    #[serde(rename = "T_obs", default, skip_serializing_if = "Option::is_none")]
    pub t_obs: Option<Window>,
    /// Extra: named features of the partial cascade for the learned
    /// correction (see [`crate::features`]). Absent from course messages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, f64>,
}

// ---------------------------------------------------------------- samples

/// A training sample on `samples`: features `X` and target `W`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleMsg {
    #[serde(rename = "type", default = "sample_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    #[serde(rename = "X")]
    pub x: Vec<f64>,
    /// The correction that would have predicted the true size exactly:
    /// (n_tot - n_obs)(1 - n*) / G1.
    #[serde(rename = "W")]
    pub w: f64,
    /// Extra: the names of `X`'s entries, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Extra: observed tweets at the window's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_obs: Option<u64>,
    /// Extra: the final size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_tot: Option<u64>,
    /// Extra: the prediction with w = 1 (n_obs + G1 / (1 - n*)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_hawkes: Option<f64>,
}

fn sample_tag() -> String {
    "sample".to_owned()
}

// ---------------------------------------------------------------- models

/// A message on `models`: one window's regressor in a versioned envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMsg {
    #[serde(rename = "type", default = "model_tag")]
    pub kind: String,
    /// Envelope format version; see [`crate::model::FORMAT_VERSION`].
    pub format: u32,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    /// Monotonic per window: a predictor ignores an older model than it has.
    pub version: u64,
    /// Feature names, in the order the regressor expects them.
    pub features: Vec<String>,
    /// What the regressor predicts; see [`crate::model::Target`].
    pub target: String,
    /// Training samples behind this model.
    pub n_samples: u64,
    /// The serialized regressor: base64 of postcard bytes.
    pub regressor: String,
}

fn model_tag() -> String {
    "model".to_owned()
}

// ---------------------------------------------------------------- alerts, stats, logs

/// A prediction on `alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMsg {
    #[serde(rename = "type", default = "alert_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default)]
    pub msg: String,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    /// Predicted final size.
    pub n_tot: f64,
    /// Extra: the correction used (1 until a model exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<f64>,
    /// Extra: observed tweets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_obs: Option<u64>,
}

fn alert_tag() -> String {
    "alert".to_owned()
}

/// A prediction error on `stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatMsg {
    #[serde(rename = "type", default = "stat_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    #[serde(rename = "ARE")]
    pub are: f64,
    /// Extra: ARE of the w = 1 prediction, to see what the correction buys.
    #[serde(
        rename = "ARE_hawkes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub are_hawkes: Option<f64>,
}

fn stat_tag() -> String {
    "stat".to_owned()
}

/// A log record on `logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogMsg {
    pub t: f64,
    pub source: String,
    pub level: String,
    pub message: String,
    #[serde(flatten)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

// ---------------------------------------------------------------- any message

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

    /// Reads a payload of `topic`. `key` fills the window of course messages
    /// that carry it only in the key. Checks values a stage could not use
    /// (non-finite numbers, empty ids, unsorted series).
    pub fn decode(
        topic: Topic,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<Message, DecodeError> {
        let json = |source| DecodeError::Json { topic, source };
        let invalid = |reason: String| DecodeError::Invalid { topic, reason };
        let msg = match topic {
            Topic::Tweets => Message::Tweet(serde_json::from_slice(payload).map_err(json)?),
            Topic::CascadeSeries => Message::Series(serde_json::from_slice(payload).map_err(json)?),
            Topic::CascadeProperties => {
                let mut p: PropertiesMsg = serde_json::from_slice(payload).map_err(json)?;
                if p.window().is_none() {
                    let w = key
                        .and_then(|k| std::str::from_utf8(k).ok())
                        .and_then(|k| k.trim().parse::<Window>().ok())
                        .ok_or_else(|| {
                            invalid("no T_obs in the value nor a window in the key".into())
                        })?;
                    p.set_window(w);
                }
                Message::Properties(p)
            }
            Topic::Samples => Message::Sample(serde_json::from_slice(payload).map_err(json)?),
            Topic::Models => Message::Model(serde_json::from_slice(payload).map_err(json)?),
            Topic::Alerts => Message::Alert(serde_json::from_slice(payload).map_err(json)?),
            Topic::Stats => Message::Stat(serde_json::from_slice(payload).map_err(json)?),
            Topic::Logs => Message::Log(serde_json::from_slice(payload).map_err(json)?),
        };
        msg.validate().map_err(invalid)?;
        Ok(msg)
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
                if t.cascade_id().is_none() {
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

// ---------------------------------------------------------------- number codecs

/// Writes integral values without a fractional part (`592`, not `592.0`).
fn ser_num<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn de_num<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        F(f64),
        S(String),
    }
    match Num::deserialize(d)? {
        Num::F(v) => Ok(v),
        Num::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

fn ser_pairs<S: Serializer>(v: &[(f64, f64)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    struct Pair(f64, f64);
    impl Serialize for Pair {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeTuple;
            let mut t = s.serialize_tuple(2)?;
            t.serialize_element(&Num(self.0))?;
            t.serialize_element(&Num(self.1))?;
            t.end()
        }
    }
    struct Num(f64);
    impl Serialize for Num {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            ser_num(&self.0, s)
        }
    }
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for &(t, m) in v {
        seq.serialize_element(&Pair(t, m))?;
    }
    seq.end()
}

fn de_pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
    Vec::<(f64, f64)>::deserialize(d)
}

/// Cascade ids are strings in our messages; the course's C++ collector
/// sometimes wrote them as numbers.
fn de_cid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "cid must be a string or number, got {other}"
        ))),
    }
}

/// Source ids are integers; accept them quoted too.
fn de_source<'de, D: Deserializer<'de>>(d: D) -> Result<SourceId, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(|| {
            serde::de::Error::custom(format!("source must be a non-negative integer, got {n}"))
        }),
        serde_json::Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom),
        other => Err(serde::de::Error::custom(format!(
            "source must be an integer, got {other}"
        ))),
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
