//! Reading a payload of either course edition (2020, 2021) or ours.
//!
//! What differs between editions, and how it is read:
//! - the window: ours in the value (`T_obs`), the 2020 alerts and stats in
//!   `t_obs`, the course's properties and samples only in the key;
//! - the 2020 parameters lack `n_star` and `G1`: they are derived from the
//!   configured magnitude law, see [`ParametersMsg::complete`];
//! - fields a stage only copies (`msg`) may be `null` or a number;
//! - ids and counts may be numbers, strings or integral floats.

use super::codec::parse_window;
use super::{DecodeError, Message, ParametersMsg, PropertiesMsg, Topic, TweetMsg, Window};
use crate::hawkes::MarkLaw;

/// Reads payloads for one stage, with the magnitude law it is configured
/// with (needed to complete 2020 parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decoder {
    pub marks: MarkLaw,
}

impl Decoder {
    pub fn new(marks: MarkLaw) -> Self {
        Self { marks }
    }

    /// Reads a payload of `topic`. `key` fills the window of course
    /// messages that carry it only in the key. Checks values a stage could
    /// not use (non-finite numbers, empty ids, unsorted series).
    pub fn decode(
        &self,
        topic: Topic,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<Message, DecodeError> {
        let json = |source| DecodeError::Json { topic, source };
        let invalid = |reason: String| DecodeError::Invalid { topic, reason };
        let mut msg = match topic {
            Topic::Tweets => Message::Tweet(TweetMsg::from_json(payload).map_err(json)?),
            Topic::CascadeSeries => Message::Series(serde_json::from_slice(payload).map_err(json)?),
            Topic::CascadeProperties => {
                Message::Properties(serde_json::from_slice(payload).map_err(json)?)
            }
            Topic::Samples => Message::Sample(serde_json::from_slice(payload).map_err(json)?),
            Topic::Models => Message::Model(serde_json::from_slice(payload).map_err(json)?),
            Topic::Alerts => Message::Alert(serde_json::from_slice(payload).map_err(json)?),
            Topic::Stats => Message::Stat(serde_json::from_slice(payload).map_err(json)?),
            Topic::Logs => Message::Log(serde_json::from_slice(payload).map_err(json)?),
        };
        fill_window(&mut msg, key).map_err(invalid)?;
        if let Message::Properties(PropertiesMsg::Parameters(p)) = &mut msg {
            self.complete(p).map_err(invalid)?;
        }
        msg.validate().map_err(invalid)?;
        Ok(msg)
    }

    /// Derives what a 2020 parameters message lacks; refuses a derived n*
    /// that leaves no finite prediction.
    fn complete(&self, p: &mut ParametersMsg) -> Result<(), String> {
        if p.complete(self.marks) && (p.n_star.is_nan() || p.n_star >= 1.0) {
            return Err(format!(
                "2020 parameters without n_star: n* = p E[m] = {} * {} = {} >= 1 with the \
                 configured magnitude law (alpha {}, mu {}): no finite prediction",
                p.params[0],
                self.marks.mean(),
                p.n_star,
                self.marks.alpha,
                self.marks.mu
            ));
        }
        Ok(())
    }
}

/// The window a Kafka key names: "600", "600.0"; not "None".
pub fn window_of_key(key: Option<&[u8]>) -> Option<Window> {
    let text = std::str::from_utf8(key?).ok()?;
    let v: f64 = text.trim().parse().ok()?;
    parse_window(v).filter(|&w| w > 0)
}

/// Gives a message without a window in its value the key's.
fn fill_window(msg: &mut Message, key: Option<&[u8]>) -> Result<(), String> {
    let slot = match msg {
        Message::Series(s) => &mut s.t_obs,
        Message::Sample(s) => &mut s.t_obs,
        Message::Alert(a) => &mut a.t_obs,
        Message::Stat(s) => &mut s.t_obs,
        Message::Properties(p) => {
            if p.window().is_none() {
                p.set_window(window_of_key(key).ok_or_else(missing)?);
            }
            return Ok(());
        }
        Message::Tweet(_) | Message::Model(_) | Message::Log(_) => return Ok(()),
    };
    if *slot == 0 {
        *slot = window_of_key(key).ok_or_else(missing)?;
    }
    Ok(())
}

fn missing() -> String {
    "no T_obs (or t_obs) in the value nor a window in the key".into()
}

impl Message {
    /// Reads a payload of `topic` as [`Decoder`] does, completing 2020
    /// parameters with the course's magnitude law (alpha 2.4, mu 10), the
    /// constants the 2020 course predictor hard-codes. A stage configured
    /// with another law reads through its own [`Decoder`].
    pub fn decode(
        topic: Topic,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<Message, DecodeError> {
        Decoder::new(MarkLaw::COURSE).decode(topic, key, payload)
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
