//! Stage metrics: the values a stage reports through
//! [`Stage::observe`](crate::stage::Stage::observe), and what the driver
//! reads from the messages in and out of the stage (fits and their
//! duration, predictions, ARE, models). The stages keep no Prometheus type
//! and nothing is counted twice: a stage's own counters are exported as
//! they are, per-window figures come from the messages.
//!
//! Families are registered on first use, so a stage exports only what it
//! does (a collector has no ARE histogram).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::{LABELS, Metrics};
use crate::hawkes::NEAR_CRITICAL;
use crate::schema::{Message, PropertiesMsg, Topic, Window};
use crate::stage::StageReport;

/// Buckets of the ARE histograms: relative errors from 1 % to 10x.
const ARE_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0];
/// Buckets of predicted final sizes (retweets).
const SIZE_BUCKETS: &[f64] = &[10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 100000.0];
/// Buckets of fit and training durations (seconds).
const DURATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// The stage metrics of one stage, registered lazily in the process
/// registry under `tweetoscope_<stage>_`.
#[derive(Debug)]
pub struct StageMetrics {
    stage: &'static str,
    registry: Registry,
    counters: HashMap<&'static str, IntCounterVec>,
    gauges: HashMap<&'static str, GaugeVec>,
    histograms: HashMap<&'static str, HistogramVec>,
    /// Metrics refused once (bad label, clash): not retried, not relogged.
    refused: HashSet<&'static str>,
}

impl StageMetrics {
    pub fn new(metrics: &Metrics, stage: &'static str) -> Self {
        Self {
            stage,
            registry: metrics.registry().clone(),
            counters: HashMap::new(),
            gauges: HashMap::new(),
            histograms: HashMap::new(),
            refused: HashSet::new(),
        }
    }

    /// What one handled input says: `window` is the input's window (if
    /// any), `outputs` what the stage produced for it and `elapsed` the time
    /// `handle` took (for the estimator, the fit; for the learner, the
    /// training it triggered).
    pub fn handled(
        &mut self,
        input: Topic,
        window: Option<Window>,
        outputs: &[Message],
        elapsed: Duration,
    ) {
        let secs = elapsed.as_secs_f64();
        let mut fitted = false;
        for msg in outputs {
            let w = msg.window().map(|w| w.to_string()).unwrap_or_default();
            let w = w.as_str();
            match msg {
                Message::Series(_) => self.count(
                    "series_emitted",
                    "Partial cascades sent, per window",
                    &[("window", w)],
                ),
                Message::Properties(PropertiesMsg::Size(_)) => self.count(
                    "sizes_emitted",
                    "Final sizes sent, per window",
                    &[("window", w)],
                ),
                Message::Properties(PropertiesMsg::Parameters(p)) => {
                    fitted = true;
                    let outcome = if p.n_star >= NEAR_CRITICAL {
                        "near_critical"
                    } else {
                        "ok"
                    };
                    self.fit(w, outcome, secs);
                }
                Message::Alert(a) => {
                    self.count(
                        "predictions",
                        "Predictions sent as alerts, per window",
                        &[("window", w)],
                    );
                    self.histogram(
                        "predicted_size",
                        "Predicted final size of each alert (retweets), per window",
                        &[("window", w)],
                        SIZE_BUCKETS,
                        a.n_tot,
                    );
                }
                Message::Stat(s) => {
                    self.histogram(
                        "are_ratio",
                        "Absolute relative error of each scored prediction (learned correction), per window",
                        &[("window", w)],
                        ARE_BUCKETS,
                        s.are,
                    );
                    if let Some(h) = s.are_hawkes {
                        self.histogram(
                            "are_hawkes_ratio",
                            "Absolute relative error of the w = 1 (Hawkes only) prediction, per window",
                            &[("window", w)],
                            ARE_BUCKETS,
                            h,
                        );
                    }
                }
                Message::Sample(_) => self.count(
                    "samples_emitted",
                    "Training samples sent, per window",
                    &[("window", w)],
                ),
                Message::Model(m) => {
                    let labels = &[("window", w)];
                    self.set(
                        "model_version",
                        "Version of the latest model published, per window",
                        labels,
                        m.version as f64,
                    );
                    self.set(
                        "model_size_bytes",
                        "Encoded (base64) size of the latest model's regressor, per window",
                        labels,
                        m.regressor.len() as f64,
                    );
                    self.set(
                        "model_samples",
                        "Training samples behind the latest model, per window",
                        labels,
                        m.n_samples as f64,
                    );
                    self.histogram(
                        "training_duration_seconds",
                        "Time to train a model (the handling of the sample that triggered it), per window",
                        labels,
                        DURATION_BUCKETS,
                        secs,
                    );
                }
                // A failed fit: counted below, as every series that gave
                // no parameters.
                Message::Properties(PropertiesMsg::Failed(_)) => {}
                Message::Tweet(_) | Message::Log(_) => {}
            }
        }
        let w = window.map(|w| w.to_string()).unwrap_or_default();
        match input {
            Topic::CascadeSeries if !fitted => self.fit(&w, "failed", secs),
            Topic::Samples => self.count(
                "samples_received",
                "Training samples received, per window",
                &[("window", &w)],
            ),
            _ => {}
        }
    }

    fn fit(&mut self, window: &str, outcome: &str, secs: f64) {
        let labels = &[("window", window), ("outcome", outcome)];
        self.count(
            "fits",
            "Fits per window, by outcome (ok, near_critical, failed)",
            labels,
        );
        self.histogram(
            "fit_duration_seconds",
            "Time to fit one partial cascade, per window and outcome",
            labels,
            DURATION_BUCKETS,
            secs,
        );
    }

    fn count(&mut self, noun: &'static str, help: &'static str, labels: &[(&'static str, &str)]) {
        if let Some(c) = self.counter_family(noun, help, labels)
            && let Ok(c) = c.get_metric_with_label_values(&values(labels))
        {
            c.inc();
        }
    }

    fn set(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        if let Some(g) = self.gauge_family(noun, help, labels)
            && let Ok(g) = g.get_metric_with_label_values(&values(labels))
        {
            g.set(value);
        }
    }

    fn histogram(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        buckets: &[f64],
        value: f64,
    ) {
        if !value.is_finite() || self.refused.contains(noun) {
            return;
        }
        if !self.histograms.contains_key(noun) {
            let opts = HistogramOpts::new(self.name(noun), help).buckets(buckets.to_vec());
            let made = HistogramVec::new(opts, &names(labels)).and_then(|h| {
                self.registry.register(Box::new(h.clone()))?;
                Ok(h)
            });
            match made {
                Ok(h) => {
                    self.histograms.insert(noun, h);
                }
                Err(error) => return self.refuse(noun, &error.to_string()),
            }
        }
        if let Some(h) = self.histograms.get(noun)
            && let Ok(h) = h.get_metric_with_label_values(&values(labels))
        {
            h.observe(value);
        }
    }

    fn counter_family(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Option<&IntCounterVec> {
        if self.refused.contains(noun) {
            return None;
        }
        if let Some(bad) = labels.iter().find(|(k, _)| !LABELS.contains(k)) {
            self.refuse(noun, &format!("label `{}` is not a bounded label", bad.0));
            return None;
        }
        if !self.counters.contains_key(noun) {
            let name = format!("{}_total", self.name(noun));
            let made = IntCounterVec::new(Opts::new(name, help), &names(labels)).and_then(|c| {
                self.registry.register(Box::new(c.clone()))?;
                Ok(c)
            });
            match made {
                Ok(c) => {
                    self.counters.insert(noun, c);
                }
                Err(error) => {
                    self.refuse(noun, &error.to_string());
                    return None;
                }
            }
        }
        self.counters.get(noun)
    }

    fn gauge_family(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Option<&GaugeVec> {
        if self.refused.contains(noun) {
            return None;
        }
        if let Some(bad) = labels.iter().find(|(k, _)| !LABELS.contains(k)) {
            self.refuse(noun, &format!("label `{}` is not a bounded label", bad.0));
            return None;
        }
        if !self.gauges.contains_key(noun) {
            let made =
                GaugeVec::new(Opts::new(self.name(noun), help), &names(labels)).and_then(|g| {
                    self.registry.register(Box::new(g.clone()))?;
                    Ok(g)
                });
            match made {
                Ok(g) => {
                    self.gauges.insert(noun, g);
                }
                Err(error) => {
                    self.refuse(noun, &error.to_string());
                    return None;
                }
            }
        }
        self.gauges.get(noun)
    }

    fn name(&self, noun: &str) -> String {
        format!("tweetoscope_{}_{noun}", self.stage)
    }

    fn refuse(&mut self, noun: &'static str, why: &str) {
        if self.refused.insert(noun) {
            tracing::warn!(
                stage = self.stage,
                metric = noun,
                why,
                "metric not exported"
            );
        }
    }
}

impl StageReport for StageMetrics {
    fn counter(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    ) {
        if let Some(c) = self.counter_family(noun, help, labels)
            && let Ok(c) = c.get_metric_with_label_values(&values(labels))
        {
            // The stage's count is the truth; the counter catches up with it.
            c.inc_by(value.saturating_sub(c.get()));
        }
    }

    fn gauge(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.set(noun, help, labels, value);
    }
}

fn names(labels: &[(&'static str, &str)]) -> Vec<&'static str> {
    labels.iter().map(|(k, _)| *k).collect()
}

fn values<'a>(labels: &[(&'static str, &'a str)]) -> Vec<&'a str> {
    labels.iter().map(|(_, v)| *v).collect()
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
