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

/// The fields of every `tweets` record, typed as our producers write
/// them: what [`TweetMsg::from_json`] tries first.
#[derive(Deserialize)]
struct Flat<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    msg: Option<String>,
    t: Option<f64>,
    m: Option<f64>,
    source: Option<SourceId>,
    info: Option<String>,
    tweet_id: Option<serde_json::Value>,
}

impl TweetMsg {
    /// Decodes a `tweets` record. A record typed the way our producers
    /// write it (numbers as numbers, `msg` a string) is read in one pass
    /// into [`Flat`]; anything else (numbers in strings, a `null` or
    /// numeric `msg`, a missing or unknown field, a duplicate key) is read
    /// again by the general, tagged path, which also words the errors. The
    /// general path alone buffered every record before reading it: it was
    /// the collector's largest cost (bench-kafka 2026-12-04, perf: 20% of
    /// its CPU in decoding).
    pub fn from_json(payload: &[u8]) -> serde_json::Result<TweetMsg> {
        if let Ok(f) = serde_json::from_slice::<Flat<'_>>(payload)
            && let Some(msg) = f.into_msg()
        {
            return Ok(msg);
        }
        serde_json::from_slice(payload)
    }

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

impl Flat<'_> {
    /// The message, when its type's required fields are all present.
    fn into_msg(self) -> Option<TweetMsg> {
        let source = self.source?;
        let tweet = |f: Self| {
            Some(Tweet {
                msg: f.msg.unwrap_or_default(),
                t: f.t?,
                m: f.m?,
                source,
                info: f.info.unwrap_or_default(),
                tweet_id: f.tweet_id,
            })
        };
        match &*self.kind {
            "tweet" => tweet(self).map(TweetMsg::Tweet),
            "retweet" => tweet(self).map(TweetMsg::Retweet),
            "watermark" => Some(TweetMsg::Watermark { source, t: self.t? }),
            "end" => Some(TweetMsg::End { source }),
            _ => None,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::TweetMsg;

    /// The one-pass read says what the general one says, or defers to it.
    #[test]
    fn the_fast_read_agrees_with_the_general_one() {
        let payloads = [
            r#"{"type":"tweet","msg":"hi","t":3,"m":10,"source":1,"info":"cascade=7"}"#,
            r#"{"type":"retweet","msg":"a \"q\" \u00e9","t":3.5,"m":1e3,"source":2,"info":"cascade=7","tweet_id":"9"}"#,
            r#"{"type":"retweet","t":3,"m":10,"source":1,"tweet_id":12}"#,
            r#"{"type":"tweet","msg":null,"t":"3","m":"10","source":"1","info":"cascade=7"}"#,
            r#"{"type":"tweet","msg":5,"t":3,"m":10,"source":1,"info":"cascade=7"}"#,
            r#"{"type":"tweet","t":3,"source":1,"info":"cascade=7"}"#,
            r#"{"type":"tweet","t":3,"m":10,"source":-1}"#,
            r#"{"type":"tweet","t":3,"m":10,"source":1.5}"#,
            r#"{"type":"tweet","t":3,"t":4,"m":10,"source":1}"#,
            r#"{"type":"watermark","source":3,"t":100}"#,
            r#"{"type":"watermark","source":3,"t":"100","extra":[1]}"#,
            r#"{"type":"watermark","source":3}"#,
            r#"{"type":"end","source":4}"#,
            r#"{"type":"end","source":4,"t":"not a number"}"#,
            r#"{"type":"\u0065nd","source":4}"#,
            r#"{"type":"nope","source":4}"#,
            r#"{"source":4}"#,
            r#"[1,2]"#,
            r#"{"type":"tweet","#,
        ];
        let mut fast_ok = 0;
        for p in payloads {
            let general = serde_json::from_slice::<TweetMsg>(p.as_bytes());
            let fast = TweetMsg::from_json(p.as_bytes());
            match (&general, &fast) {
                (Ok(g), Ok(f)) => {
                    assert_eq!(g, f, "{p}");
                    fast_ok += 1;
                }
                (Err(g), Err(f)) => assert_eq!(g.to_string(), f.to_string(), "{p}"),
                _ => panic!("{p}: general {general:?}, fast {fast:?}"),
            }
        }
        assert!(fast_ok >= 8, "{fast_ok} read");
    }
}
