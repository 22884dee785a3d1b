//! The `tweets` topic: tweets, retweets, watermarks and end records.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::SourceId;
use super::codec::{de_num, de_source, de_text, ser_num};

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
    #[serde(default, deserialize_with = "de_text")]
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
        self.cascade_ref().map(Cow::into_owned)
    }

    /// [`Self::cascade_id`] without a copy when it is in `info` or a string
    /// `tweet_id`: the collector asks it of every tweet.
    pub fn cascade_ref(&self) -> Option<Cow<'_, str>> {
        // What every producer here sends: "cascade=N" alone. The general
        // scan below gives the same answer for it, slower.
        if let Some(v) = self.info.strip_prefix("cascade=")
            && !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Some(Cow::Borrowed(v));
        }
        let from_info = self.info.split([',', ';', ' ']).find_map(|part| {
            let (k, v) = part.split_once('=')?;
            let v = v.trim();
            (k.trim() == "cascade" && !v.is_empty()).then_some(v)
        });
        match (from_info, &self.tweet_id) {
            (Some(v), _) => Some(Cow::Borrowed(v)),
            (None, Some(serde_json::Value::String(s))) if !s.is_empty() => {
                Some(Cow::Borrowed(s.as_str()))
            }
            (None, Some(serde_json::Value::Number(n))) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }
}
