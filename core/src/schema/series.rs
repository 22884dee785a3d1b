//! The `cascade_series` topic: partial cascades for the estimator.

use serde::{Deserialize, Serialize};

use super::codec::{de_cid, de_pairs, de_text, de_window, ser_pairs};
use super::{Lineage, Window};

/// A partial cascade on `cascade_series`: tweets with relative time < `T_obs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMsg {
    #[serde(rename = "type", default = "serie_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default, deserialize_with = "de_text")]
    pub msg: String,
    /// 0 when the value lacks it: [`super::Decoder`] takes the key's.
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        deserialize_with = "de_window"
    )]
    pub t_obs: Window,
    /// `(time relative to the first tweet, magnitude)`, in time order.
    #[serde(serialize_with = "ser_pairs", deserialize_with = "de_pairs")]
    pub tweets: Vec<(f64, f64)>,
    /// Extra: where on `tweets` this record comes from (absent from course
    /// messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
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
            lineage: None,
        }
    }

    /// What makes two series the same fit: (cid, T_obs, run identity from
    /// the lineage). A new run of the same data set is fitted again, a
    /// replay of the same records (or a course collector's resend) is not.
    pub fn fit_key(&self) -> (&str, Window, Option<(i32, i64)>) {
        (self.cid.as_str(), self.t_obs, self.lineage.map(|l| l.run()))
    }
}
