//! The `logs` topic: log records of every stage.
//!
//! A record's structured fields sit beside its own keys (`t`, `source`,
//! `level`, `message`) in one JSON object, so a field named like one of
//! them would write that key twice, and readers refuse the record
//! ("duplicate field `source`": the collector's `source` field, a tweet
//! source id, once cost the logger every "source idle" record). Fields are
//! therefore put through [`LogMsg::field_key`], which renames those.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

impl LogMsg {
    /// The record's own keys, which no structured field may take.
    pub const OWN_KEYS: [&'static str; 4] = ["t", "source", "level", "message"];

    /// The key a structured field called `name` is written under: `name`,
    /// or `field_<name>` for one of [`Self::OWN_KEYS`].
    pub fn field_key(name: &str) -> Cow<'_, str> {
        if Self::OWN_KEYS.contains(&name) {
            Cow::Owned(format!("field_{name}"))
        } else {
            Cow::Borrowed(name)
        }
    }

    /// Adds a structured field under its [`Self::field_key`].
    pub fn insert_field(
        fields: &mut BTreeMap<String, serde_json::Value>,
        name: &str,
        value: serde_json::Value,
    ) {
        fields.insert(Self::field_key(name).into_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is the failure report.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::schema::{Decoder, Message, Topic};

    #[test]
    fn fields_named_like_the_record_s_own_keys_are_renamed_and_the_record_reads_back() {
        let mut fields = BTreeMap::new();
        for (i, name) in LogMsg::OWN_KEYS.iter().enumerate() {
            LogMsg::insert_field(&mut fields, name, (i as u64).into());
        }
        LogMsg::insert_field(&mut fields, "partition", 3.into());
        let log = LogMsg {
            t: 1.5,
            source: "collector".into(),
            level: "INFO".into(),
            message: "source idle".into(),
            fields,
        };
        let bytes = Message::Log(log.clone()).encode();
        let back = Decoder::new(crate::hawkes::MarkLaw::COURSE)
            .decode(Topic::Logs, None, &bytes)
            .unwrap();
        assert_eq!(back, Message::Log(log));
        let Message::Log(back) = back else {
            unreachable!()
        };
        assert_eq!(back.source, "collector");
        assert_eq!(back.fields["field_source"], 1);
        assert_eq!(back.fields["partition"], 3);
    }

    #[test]
    fn a_record_whose_field_repeats_an_own_key_is_refused_by_readers() {
        // What the rename prevents: the same key twice in one object.
        let json = br#"{"t":1,"source":"collector","level":"INFO","message":"m","source":7}"#;
        let err = Decoder::new(crate::hawkes::MarkLaw::COURSE)
            .decode(Topic::Logs, None, json)
            .unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }
}
