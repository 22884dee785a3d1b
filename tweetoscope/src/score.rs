//! How `eval` scores a pipeline's alerts against the true sizes, and the
//! lines it writes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::hawkes;
use tweetoscope_core::pipeline::Sink;
use tweetoscope_core::schema::{AlertMsg, Message, ModelMsg, ParametersMsg, PropertiesMsg, Window};

use crate::report::Report;

/// One prediction, as written to `--out`. Kept as fields until written:
/// its JSON text is about twice its size (NEWS-sized set: 45,607 lines,
/// 20 MB of text held to the end).
#[derive(Debug, Serialize)]
pub struct Line {
    cid: String,
    #[serde(rename = "T_obs")]
    t_obs: Window,
    n_obs: u64,
    /// The alert's n_tot (`--point`: ARE-optimal by default).
    n_pred: f64,
    /// The median of the predictive distribution (= n_pred without a
    /// calibrated model).
    n_pred_median: f64,
    /// The 80 % interval, once the window has a calibrated model.
    #[serde(skip_serializing_if = "Option::is_none")]
    n_pred_low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_pred_high: Option<f64>,
    n_pred_hawkes: f64,
    n_true: usize,
    #[serde(rename = "ARE")]
    are: f64,
    p: f64,
    beta: f64,
    n_star: f64,
    #[serde(rename = "G1")]
    g1: f64,
    w: f64,
}

/// One line of `--out` and where it sorts.
pub struct Scored {
    /// (collector call, window's position in `--windows`, order handled).
    pub key: (u64, usize, u64),
    pub line: Line,
}

impl Scored {
    /// Writes the line's JSON and a line end.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, &self.line)?;
        out.write_all(b"\n")
    }
}

/// Scores the alerts a pipeline emits against the true sizes.
pub struct Scorer {
    set: Arc<Dataset>,
    windows: Vec<Window>,
    pub report: Report,
    params: HashMap<(String, Window), ParametersMsg>,
    warm: BTreeSet<Window>,
    /// The newest model of each window, for `--models-out`.
    pub models: BTreeMap<Window, ModelMsg>,
    predicted: HashSet<(String, Window)>,
    /// Series that are fragments of a forgotten cascade (`is_fragment`)
    /// whose alert is still to come.
    fragments: HashSet<(String, Window)>,
    pub lines: Vec<Scored>,
    /// The collector call whose consequences are being handled (its
    /// [`Sink`] unit).
    unit: u64,
    handled: u64,
}

impl Scorer {
    pub fn new(set: Arc<Dataset>, windows: &[Window]) -> Self {
        Self {
            set,
            windows: windows.to_vec(),
            report: Report::default(),
            params: HashMap::new(),
            warm: BTreeSet::new(),
            models: BTreeMap::new(),
            predicted: HashSet::new(),
            fragments: HashSet::new(),
            lines: Vec::new(),
            unit: 0,
            handled: 0,
        }
    }

    /// Sees every message a pipeline routes.
    fn see_msg(&mut self, msg: &Message) {
        match msg {
            Message::Series(s) => {
                if self.is_fragment(&s.cid, &s.tweets) {
                    self.fragments.insert((s.cid.clone(), s.t_obs));
                } else {
                    self.report.series(&s.cid, s.t_obs);
                }
            }
            Message::Properties(PropertiesMsg::Parameters(p)) => {
                if let Some(w) = p.t_obs {
                    self.params.insert((p.cid.clone(), w), p.clone());
                }
            }
            Message::Model(m) => {
                self.warm.insert(m.t_obs);
                self.models.insert(m.t_obs, m.clone());
            }
            Message::Alert(a) => self.alert(a),
            _ => {}
        }
    }

    /// Whether a series is not its cascade's start: the collector forgot
    /// the cascade (a silence longer than termination + late horizon) and
    /// its next tweets opened it again. Such a fragment is not a cascade of
    /// the set: it is neither predicted nor counted as failed. A cascade's
    /// series is its first tweets, times relative to the first and
    /// magnitudes as in the set (the replay only shifts start times).
    fn is_fragment(&self, cid: &str, tweets: &[(f64, f64)]) -> bool {
        let Some(i) = cid.parse::<usize>().ok().filter(|&i| i < self.set.len()) else {
            return false;
        };
        let (times, marks) = self.set.cascade(i);
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
        tweets.len() > times.len()
            || tweets
                .iter()
                .zip(times.iter().zip(marks))
                .any(|(&(t, m), (&ti, &mi))| !near(t, ti - times[0]) || !near(m, mi))
    }

    fn alert(&mut self, a: &AlertMsg) {
        let key = (a.cid.clone(), a.t_obs);
        if self.fragments.remove(&key) {
            self.params.remove(&key);
            return;
        }
        // Downstream dedupes by (cid, T_obs): a cascade whose fragment is
        // sent after its own series is predicted only once.
        if !self.predicted.insert(key) {
            return;
        }
        let Some(p) = self.params.remove(&(a.cid.clone(), a.t_obs)) else {
            return;
        };
        let set = &self.set;
        let n_true = a
            .cid
            .parse::<usize>()
            .ok()
            .filter(|&i| i < set.len())
            .map_or(0, |i| set.size(i));
        let n_hawkes = hawkes::final_size(p.n_obs as f64, p.g1, p.n_star, 1.0);
        let are = |n: f64| (n - n_true as f64).abs() / n_true.max(1) as f64;
        let line = Line {
            cid: a.cid.clone(),
            t_obs: a.t_obs,
            n_obs: p.n_obs,
            n_pred: a.n_tot,
            n_pred_median: a.n_tot_median.unwrap_or(a.n_tot),
            n_pred_low: a.n_tot_low,
            n_pred_high: a.n_tot_high,
            n_pred_hawkes: n_hawkes,
            n_true,
            are: are(a.n_tot),
            p: p.params[0],
            beta: p.params[1],
            n_star: p.n_star,
            g1: p.g1,
            w: a.w.unwrap_or(1.0),
        };
        let covered = a
            .n_tot_low
            .zip(a.n_tot_high)
            .map(|(lo, hi)| (lo..=hi).contains(&(n_true as f64)));
        self.report.record(
            a.t_obs,
            line.are,
            are(n_hawkes),
            self.warm.contains(&a.t_obs),
            covered,
        );
        let window = self
            .windows
            .iter()
            .position(|w| *w == a.t_obs)
            .unwrap_or(usize::MAX);
        self.handled += 1;
        self.lines.push(Scored {
            key: (self.unit, window, self.handled),
            line,
        });
    }
}

impl Sink for Scorer {
    fn see(&mut self, unit: u64, msg: &Message) {
        self.unit = unit;
        self.see_msg(msg);
    }
}
