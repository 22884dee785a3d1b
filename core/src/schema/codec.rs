//! Number and id codecs shared by the topic types: integral numbers are
//! written without a fractional part, and read from either form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SourceId;

/// Writes integral values without a fractional part (`592`, not `592.0`).
pub(super) fn ser_num<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

pub(super) fn de_num<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
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

pub(super) fn ser_pairs<S: Serializer>(v: &[(f64, f64)], s: S) -> Result<S::Ok, S::Error> {
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

pub(super) fn de_pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
    Vec::<(f64, f64)>::deserialize(d)
}

/// Cascade ids are strings in our messages; the course's C++ collector
/// sometimes wrote them as numbers.
pub(super) fn de_cid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "cid must be a string or number, got {other}"
        ))),
    }
}

/// Source ids are integers; accept them quoted too.
pub(super) fn de_source<'de, D: Deserializer<'de>>(d: D) -> Result<SourceId, D::Error> {
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

/// Free text we only copy (`msg`): course producers also write `null`, a
/// number or `false` there. Null reads as empty, any other value as its
/// JSON text, so such a field never costs the message.
pub(super) fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Counts (`n_obs`, `n_tot`): Python producers may write `32.0` or `"32"`.
pub(super) fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = de_num(d)?;
    if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 {
        Ok(v as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "a count must be a non-negative integer, got {v}"
        )))
    }
}

/// A window (`T_obs`) in the value, from an integer, an integral float or a
/// string. Absent reads as 0, which [`super::Decoder`] replaces by the
/// key's window (course samples and properties carry it only there).
pub(super) fn de_window<'de, D: Deserializer<'de>>(d: D) -> Result<super::Window, D::Error> {
    let v = de_num(d)?;
    parse_window(v).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "T_obs must be a positive whole number of seconds, got {v}"
        ))
    })
}

/// `v` as a window, if it is a whole number of seconds that fits.
pub(super) fn parse_window(v: f64) -> Option<super::Window> {
    (v >= 0.0 && v.fract() == 0.0 && v <= f64::from(super::Window::MAX))
        .then_some(v as super::Window)
}
