//! Metrics of the in-process pipeline (`tweetoscope run --metrics-addr`):
//! the same stage metrics as the Kafka binaries, in the one registry of
//! the process, and a liveness beat from every stage thread.

use std::time::Duration;

use super::{Health, Metrics, StageMetrics};
use crate::pipeline::Watcher;
use crate::schema::{Message, Topic, Window};
use crate::stage::StageReport;

/// One stage loop's watcher: a thread of the in-process pipeline, or a
/// Kafka stage binary.
#[derive(Debug)]
pub struct InProcess {
    flow: StageMetrics,
    health: Health,
}

impl InProcess {
    pub fn new(metrics: &Metrics, health: &Health, stage: &'static str) -> Self {
        Self {
            flow: StageMetrics::new(metrics, stage),
            health: health.clone(),
        }
    }

    /// The watcher maker for [`crate::pipeline::spawn_watched`].
    pub fn watchers(
        metrics: &Metrics,
        health: &Health,
    ) -> impl Fn(&'static str) -> Option<Box<dyn Watcher>> + use<> {
        let (metrics, health) = (metrics.clone(), health.clone());
        move |stage| Some(Box::new(InProcess::new(&metrics, &health, stage)) as Box<dyn Watcher>)
    }
}

impl StageReport for InProcess {
    fn counter(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    ) {
        self.flow.counter(noun, help, labels, value);
    }

    fn gauge(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.flow.gauge(noun, help, labels, value);
    }
}

impl Watcher for InProcess {
    fn handled(
        &mut self,
        input: Topic,
        window: Option<Window>,
        outputs: &[Message],
        elapsed: Duration,
    ) {
        self.flow.handled(input, window, outputs, elapsed);
    }

    fn beat(&mut self) {
        self.health.beat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Envelope, Stages, spawn_watched};

    #[test]
    fn the_in_process_pipeline_exports_the_stage_metrics_of_the_kafka_binaries() {
        let metrics = Metrics::new().unwrap();
        let health = Health::new(Duration::from_secs(30));
        let stages = Stages {
            collector: crate::collector::Collector::new(Default::default()),
            estimator: crate::estimator::Estimator::new(Default::default()),
            predictor: crate::predictor::Predictor::new(Default::default()),
            learner: None,
        };
        let watchers = InProcess::watchers(&metrics, &health);
        let (pipeline, output) = spawn_watched(stages, &watchers);
        let set = crate::synthetic::generate(&crate::synthetic::SyntheticConfig {
            cascades: 60,
            seed: 3,
            ..Default::default()
        });
        for e in crate::generator::Replay::new(std::sync::Arc::new(set), Default::default()) {
            pipeline
                .input
                .send(Envelope::Msg(Message::Tweet(e.msg), e.at))
                .unwrap();
        }
        pipeline.input.send(Envelope::Done).unwrap();
        let drained = std::thread::spawn(move || output.into_iter().count());
        pipeline.join().unwrap();
        drained.join().unwrap();
        let text = String::from_utf8(metrics.render()).unwrap();
        for name in [
            "tweetoscope_collector_series_emitted_total",
            "tweetoscope_collector_tweets_total",
            "tweetoscope_estimator_fits_total",
            "tweetoscope_predictor_predictions_total",
            "tweetoscope_predictor_are_ratio_bucket",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(health.live().ok);
    }
}
