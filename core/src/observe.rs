//! What each stage reports through [`Stage::observe`](crate::stage::Stage::observe):
//! the counters and levels it keeps anyway, as plain numbers. The
//! telemetry module (feature `telemetry`) turns them into Prometheus
//! metrics; `tweetoscope eval` ignores them.

use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::hawkes::FitError;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::stage::StageReport;

pub fn collector(c: &Collector, r: &mut dyn StageReport) {
    let s = c.stats();
    r.gauge(
        "open_cascades",
        "Cascades open (not yet terminated)",
        &[],
        c.open_cascades() as f64,
    );
    r.counter("tweets", "Tweets and retweets received", &[], s.tweets);
    r.counter(
        "late_tweets",
        "Tweets of an already terminated cascade, dropped",
        &[],
        s.late_tweets,
    );
    r.counter(
        "out_of_order_tweets",
        "Tweets older than their source's clock (kept)",
        &[],
        s.out_of_order,
    );
    r.counter("cascades_opened", "Cascades opened", &[], s.cascades_opened);
    r.counter(
        "cascades_terminated",
        "Cascades terminated (idle for the termination time, or by an end marker)",
        &[],
        s.cascades_terminated,
    );
    r.counter(
        "source_ends",
        "End markers received (each terminates its source's cascades)",
        &[],
        s.ends,
    );
    r.counter(
        "idle_sources_ended",
        "Sources ended for lagging --source-idle behind their partition's newest clock",
        &[],
        s.idle_sources_ended,
    );
    r.counter(
        "series_too_small",
        "Windows that elapsed with too few tweets to send a series",
        &[],
        s.series_too_small,
    );
}

pub fn estimator(e: &Estimator, r: &mut dyn StageReport) {
    let s = e.stats();
    r.counter(
        "fit_iterations",
        "Solver iterations over every successful fit",
        &[],
        s.iterations,
    );
    r.counter(
        "power_law_fallbacks",
        "--kernel power-law: series whose power-law fit failed, published with the exponential fit",
        &[],
        s.power_law_failed,
    );
    for (outcome, n) in [
        ("shifted", s.shifted),
        ("past_window", s.past_window),
        ("repeated", s.repeated),
    ] {
        r.counter(
            "course_series",
            "Course-shaped series normalised before the fit: times shifted to the first tweet, tweets past the window dropped, repeated (cid, T_obs) skipped",
            &[("outcome", outcome)],
            n,
        );
    }
    for (reason, n) in &s.failed_by_reason {
        r.counter(
            "fit_failures",
            "Fits that returned no parameters, by reason",
            &[("reason", reason)],
            *n,
        );
    }
}

/// Help of the predictor's `expired_halves`, one series per outcome.
const EXPIRED_HALVES: &str =
    "Halves dropped unmatched: after the state TTL, or sizes whose parameters can no longer come";

pub fn predictor(p: &Predictor, r: &mut dyn StageReport) {
    let s = p.stats();
    r.gauge(
        "unmatched_halves",
        "Parameters or sizes waiting for their other half",
        &[],
        p.pending() as f64,
    );
    r.counter(
        "expired_halves",
        EXPIRED_HALVES,
        &[("outcome", "parameters")],
        s.expired_parameters,
    );
    r.counter(
        "expired_halves",
        EXPIRED_HALVES,
        &[("outcome", "size")],
        s.expired_sizes,
    );
    r.counter(
        "expired_halves",
        EXPIRED_HALVES,
        &[("outcome", "orphan_size")],
        s.orphan_sizes,
    );
    r.counter(
        "duplicates",
        "Halves dropped as duplicates (at-least-once replays)",
        &[],
        s.duplicates,
    );
    r.counter(
        "near_critical_first_generation",
        "Near-critical fits without a model, predicted by their first generation (n_obs + G1)",
        &[],
        s.near_critical,
    );
    r.counter(
        "features_missing",
        "Feature vectors that could not be built",
        &[],
        s.features_missing,
    );
    r.counter(
        "samples_course_features",
        "Samples sent with the course features because the parameters lacked a configured one",
        &[],
        s.samples_course_features,
    );
    r.counter(
        "samples_not_sent",
        "Completed pairs that gave no sample (G1 = 0, or no finite features)",
        &[],
        s.samples_not_sent,
    );
    r.counter(
        "failed_fits",
        "Fits the estimator reported failed, whose sizes were freed",
        &[],
        s.failed_fits,
    );
    r.counter(
        "models_loaded",
        "Models taken into use",
        &[],
        s.models_loaded,
    );
    r.counter(
        "models_rejected",
        "Models refused (undecodable or older than the one in use)",
        &[],
        s.models_rejected,
    );
    for (window, version) in p.model_versions() {
        r.gauge(
            "model_version_in_use",
            "Version of the model in use, per window",
            &[("window", &window.to_string())],
            version as f64,
        );
    }
}

pub fn learner(l: &Learner, r: &mut dyn StageReport) {
    let s = l.stats();
    r.counter(
        "samples_rejected",
        "Samples it cannot use, dead-lettered with the reason",
        &[],
        s.samples_rejected,
    );
    r.counter(
        "samples_course_features",
        "Samples with the course features, trained in a window's course set",
        &[],
        s.samples_course_features,
    );
    r.counter(
        "models_withheld_course_predictor",
        "Trainings skipped: samples of a course predictor, which cannot load our models",
        &[],
        s.models_withheld_course_predictor,
    );
    r.counter(
        "duplicate_samples",
        "Samples already in the training set",
        &[],
        s.duplicates,
    );
    r.counter(
        "models_trained",
        "Models trained and published",
        &[],
        s.models_trained,
    );
    r.counter("train_errors", "Trainings that failed", &[], s.train_errors);
    r.counter(
        "models_withheld",
        "Trainings not published: the models topic holds one with more samples for the window",
        &[],
        s.models_withheld,
    );
    for window in l.windows() {
        r.gauge(
            "training_set_size",
            "Samples in the training set, per window",
            &[("window", &window.to_string())],
            l.samples(window) as f64,
        );
    }
}

/// A bounded label for why a fit failed.
pub fn fit_failure_reason(e: &FitError) -> &'static str {
    match e {
        FitError::Empty => "empty",
        FitError::NonFinite
        | FitError::LengthMismatch { .. }
        | FitError::Unsorted { .. }
        | FitError::AfterWindow { .. } => "bad_input",
        FitError::MarkMean(_)
        | FitError::PBounds { .. }
        | FitError::BetaBounds(..)
        | FitError::Prior(_) => "bad_config",
        FitError::NotConverged { .. } | FitError::Argmin(_) => "not_converged",
        FitError::NonFiniteEstimate { .. } => "non_finite_estimate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Records what a stage reports, by name and labels.
    #[derive(Default)]
    struct Recorder(BTreeMap<String, f64>);

    impl StageReport for Recorder {
        fn counter(
            &mut self,
            noun: &'static str,
            _: &'static str,
            labels: &[(&'static str, &str)],
            value: u64,
        ) {
            self.0.insert(format!("{noun}{labels:?}"), value as f64);
        }
        fn gauge(
            &mut self,
            noun: &'static str,
            _: &'static str,
            labels: &[(&'static str, &str)],
            value: f64,
        ) {
            self.0.insert(format!("{noun}{labels:?}"), value);
        }
    }

    #[test]
    fn a_fresh_predictor_reports_zero_counters_and_no_model_version() {
        let p = Predictor::new(crate::predictor::PredictorConfig::default());
        let mut r = Recorder::default();
        crate::stage::Stage::observe(&p, &mut r);
        assert_eq!(r.0["unmatched_halves[]"], 0.0);
        assert_eq!(r.0["expired_halves[(\"outcome\", \"size\")]"], 0.0);
        assert!(
            !r.0.keys().any(|k| k.starts_with("model_version_in_use")),
            "{:?}",
            r.0
        );
    }

    #[test]
    fn a_failed_fit_is_reported_under_its_reason() {
        use crate::schema::{Message, SeriesMsg};
        let mut e = Estimator::new(crate::hawkes::FitConfig::default());
        let series = SeriesMsg::new("1".into(), "m".into(), 600, vec![]);
        let _ = crate::stage::Stage::handle(
            &mut e,
            Message::Series(series),
            Default::default(),
            &mut Vec::new(),
        );
        let mut r = Recorder::default();
        crate::stage::Stage::observe(&e, &mut r);
        assert_eq!(
            r.0["fit_failures[(\"reason\", \"empty\")]"], 1.0,
            "{:?}",
            r.0
        );
        assert_eq!(r.0["power_law_fallbacks[]"], 0.0, "{:?}", r.0);
    }
}
