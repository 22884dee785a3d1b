//! Extra `lineage` object on `cascade_series` and `cascade_properties`:
//! where on `tweets` a record comes from. Course consumers ignore it;
//! records without it (course producers) keep the old behaviour.
//!
//! It is read like any input: an object of three non-negative integers
//! with `first <= decided`, or the record is refused with the reason (and
//! dead-lettered by the stage): a forged or corrupt lineage must not reach
//! the predictor's orphan rule, which trusts the order it describes.

use serde::{Deserialize, Deserializer, Serialize};

/// Where a series, size, parameters or failed fit comes from on `tweets`.
///
/// A tweets partition is read in order by one collector, and a window's
/// records keep that order through `cascade_series`, the estimator and
/// `cascade_properties`; so for one (partition, window), `decided` orders
/// the records the predictor receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Lineage {
    /// The tweets partition of the cascade.
    pub partition: i32,
    /// Offset of the cascade's first tweet: with `partition`, the identity
    /// of this run of the cascade (a replay of the same records keeps it, a
    /// new run of the same data set does not).
    pub first: i64,
    /// The tweets offset at which the collector decided this record (for
    /// parameters and failed fits: their series').
    pub decided: i64,
}

impl Lineage {
    /// The run identity: (partition, first).
    pub fn run(&self) -> (i32, i64) {
        (self.partition, self.first)
    }
}

/// Only an object whose three fields are JSON integers (not `5.0`, not
/// strings: our producers write integers, and an offset read from a float
/// could be anything), non-negative, with `first <= decided` (a record is
/// decided at or after its cascade's first tweet). Unknown fields are
/// ignored, as everywhere.
impl<'de> Deserialize<'de> for Lineage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        let serde_json::Value::Object(map) = &value else {
            return Err(D::Error::custom(format!(
                "lineage must be an object {{\"partition\", \"first\", \"decided\"}}, got {value}"
            )));
        };
        let field = |name: &str| match map.get(name) {
            None => Err(D::Error::custom(format!("lineage has no `{name}`"))),
            Some(v) => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                D::Error::custom(format!(
                    "lineage `{name}` must be a non-negative integer, got {v}"
                ))
            }),
        };
        let partition = field("partition")?;
        let partition = i32::try_from(partition).map_err(|_| {
            D::Error::custom(format!(
                "lineage `partition` {partition} is not a partition"
            ))
        })?;
        let (first, decided) = (field("first")?, field("decided")?);
        if decided < first {
            return Err(D::Error::custom(format!(
                "lineage `decided` {decided} is before `first` {first}: a record is decided at or after its cascade's first tweet"
            )));
        }
        Ok(Lineage {
            partition,
            first,
            decided,
        })
    }
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is the failure report.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn read(json: &str) -> Result<Lineage, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_lineage_of_three_ordered_offsets_reads_and_round_trips() {
        let l = read(r#"{"partition":2,"first":5,"decided":9,"extra":[1]}"#).unwrap();
        assert_eq!(
            l,
            Lineage {
                partition: 2,
                first: 5,
                decided: 9
            }
        );
        assert_eq!(read(&serde_json::to_string(&l).unwrap()).unwrap(), l);
    }

    #[test]
    fn absurd_lineages_are_refused_with_their_reason() {
        for (json, reason) in [
            ("[2,5,9]", "must be an object"),
            ("7", "must be an object"),
            (r#"{"partition":2,"first":5}"#, "no `decided`"),
            (
                r#"{"partition":-1,"first":5,"decided":9}"#,
                "`partition` must be a non-negative",
            ),
            (
                r#"{"partition":2,"first":-5,"decided":9}"#,
                "`first` must be a non-negative",
            ),
            (
                r#"{"partition":2,"first":5,"decided":1e15}"#,
                "`decided` must be a non-negative integer",
            ),
            (
                r#"{"partition":2,"first":5,"decided":9.5}"#,
                "`decided` must be",
            ),
            (
                r#"{"partition":2,"first":5,"decided":"9"}"#,
                "`decided` must be",
            ),
            (
                r#"{"partition":2,"first":5,"decided":null}"#,
                "`decided` must be",
            ),
            (
                r#"{"partition":4294967296,"first":5,"decided":9}"#,
                "is not a partition",
            ),
            (r#"{"partition":2,"first":9,"decided":5}"#, "before `first`"),
        ] {
            let err = read(json).expect_err(json);
            assert!(err.contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn a_message_with_an_absurd_lineage_is_refused_and_one_without_is_read() {
        let decoder = super::super::Decoder::new(crate::hawkes::MarkLaw::COURSE);
        let size = |lineage: &str| {
            format!(r#"{{"type":"size","cid":"1","n_tot":3,"t_end":9,"T_obs":600{lineage}}}"#)
        };
        let topic = super::super::Topic::CascadeProperties;
        assert!(decoder.decode(topic, None, size("").as_bytes()).is_ok());
        assert!(
            decoder
                .decode(topic, None, size(r#","lineage":null"#).as_bytes())
                .is_ok()
        );
        let err = decoder
            .decode(topic, None, size(r#","lineage":[0,1,2]"#).as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("lineage"), "{err}");
    }
}
