//! The predictor as a [`Stage`]: dispatch by message, the expiry tick,
//! retained offsets, revocation and the counters it reports.

use super::state::Key;
use super::{EXPIRED_HALVES, Predictor};
use crate::schema::{Decoder, Message, PropertiesMsg, Topic};
use crate::stage::{Ctx, Origin, Stage, StageError, StageReport};

impl Stage for Predictor {
    fn name(&self) -> &'static str {
        "predictor"
    }

    fn decoder(&self) -> Decoder {
        Decoder::new(self.cfg.marks)
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::CascadeProperties, Topic::Models]
    }

    fn outputs(&self) -> &'static [Topic] {
        &[Topic::Alerts, Topic::Stats, Topic::Samples]
    }

    /// The latest model of each window, before the first prediction.
    fn preload(&self) -> &'static [Topic] {
        &[Topic::Models]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        match msg {
            Message::Properties(PropertiesMsg::Parameters(p)) => self.on_parameters(p, ctx, out),
            Message::Properties(PropertiesMsg::Size(s)) => self.on_size(s, ctx, out),
            Message::Properties(PropertiesMsg::Failed(f)) => self.on_failed(f, ctx),
            Message::Model(m) => self.on_model(m),
            other => Err(StageError::UnexpectedTopic {
                stage: "predictor",
                topic: other.topic(),
            }),
        }
    }

    fn tick(&mut self, now: f64, _out: &mut Vec<Message>) {
        let now = self.advance(now);
        while let Some((born, seq, _)) = self.pending_queue.front() {
            if now - born <= self.cfg.state_ttl {
                break;
            }
            let seq = *seq;
            let Some((_, _, key)) = self.pending_queue.pop_front() else {
                break;
            };
            // A completed or revoked key, or one re-created later, is not ours.
            if self.pending.get(&key).is_some_and(|e| e.seq == seq)
                && let Some(e) = self.remove(&key)
            {
                self.stats.expired_parameters += u64::from(e.predicted.is_some());
                self.stats.expired_sizes += u64::from(e.size.is_some());
            }
        }
        self.done.expire(now);
    }

    /// Only `cascade_properties` holds state: models are re-read from the
    /// start of their compacted topic on every start.
    fn retained_offset(&self, topic: Topic, partition: i32) -> Option<i64> {
        if topic != Topic::CascadeProperties {
            return None;
        }
        self.held
            .get(&partition)
            .and_then(|offsets| offsets.keys().next().copied())
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.gauge(
            "unmatched_halves",
            "Parameters or sizes waiting for their other half",
            &[],
            self.pending() as f64,
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
        for (window, version) in self.model_versions() {
            r.gauge(
                "model_version_in_use",
                "Version of the model in use, per window",
                &[("window", &window.to_string())],
                version as f64,
            );
        }
    }

    fn revoke(&mut self, topic: Topic, partitions: &[i32]) {
        if topic != Topic::CascadeProperties {
            return;
        }
        let revoked = |o: &Option<Origin>| o.is_some_and(|o| partitions.contains(&o.partition));
        let keys: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, e)| {
                revoked(&e.predicted.as_ref().map(|(_, o)| *o))
                    || revoked(&e.size.as_ref().map(|(_, o)| *o))
                    || revoked(&e.failed)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.remove(&key);
        }
        self.done.revoke(partitions);
        // The next owner replays them: what was seen there orders nothing.
        self.decided.retain(|_, (_, p)| !partitions.contains(p));
    }
}
