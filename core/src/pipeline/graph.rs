//! The pipeline's graph, built once from what each stage declares
//! ([`Stage::inputs`] and [`Stage::outputs`]), read by every in-process
//! runner: where a message goes ([`SyncPipeline`](super::SyncPipeline),
//! the threaded router), who hands the end of the stream to whom and how
//! many ends a stage waits for (the threaded pipeline). The Kafka driver
//! reads the same declarations from the stage itself.
//!
//! Stages are numbered in the order they are given, upstream first. Two
//! rules make the in-process graph from the declarations:
//! - a topic goes to every stage that reads it and does not write it: a
//!   stage reading its own output (the learner reads `models`) reads what
//!   other instances published, and in one process there are none;
//! - the end of the stream flows downstream only, from a stage to those
//!   after it: an edge back (the learner's models to the predictor) is a
//!   loop, not waited for.

use crate::schema::Topic;
use crate::stage::Stage;

/// Who reads each topic, who hands its end of stream to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    names: Vec<&'static str>,
    /// Per topic (in [`Topic::ALL`] order), the stages it goes to.
    consumers: Vec<Vec<usize>>,
    /// Per stage, the later stages it feeds.
    downstream: Vec<Vec<usize>>,
    /// Per stage, how many ends of stream it waits for.
    upstreams: Vec<usize>,
}

impl Graph {
    /// The graph of `stages`, upstream first.
    pub fn new(stages: &[&dyn Stage]) -> Self {
        let consumers: Vec<Vec<usize>> = Topic::ALL
            .iter()
            .map(|topic| {
                (0..stages.len())
                    .filter(|&i| {
                        stages[i].inputs().contains(topic) && !stages[i].outputs().contains(topic)
                    })
                    .collect()
            })
            .collect();
        let downstream: Vec<Vec<usize>> = stages
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                let mut next: Vec<usize> = stage
                    .outputs()
                    .iter()
                    .flat_map(|t| consumers[index(*t)].iter().copied())
                    .filter(|&j| j > i)
                    .collect();
                next.sort_unstable();
                next.dedup();
                next
            })
            .collect();
        // A stage nobody upstream feeds reads the pipeline's input: one end.
        let upstreams = (0..stages.len())
            .map(|j| downstream.iter().filter(|d| d.contains(&j)).count().max(1))
            .collect();
        Self {
            names: stages.iter().map(|s| s.name()).collect(),
            consumers,
            downstream,
            upstreams,
        }
    }

    /// How many stages.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Stage `i`'s name.
    pub fn name(&self, i: usize) -> &'static str {
        self.names[i]
    }

    /// The stages a message of `topic` goes to; none: it leaves the
    /// pipeline (alerts, stats, logs).
    pub fn consumers(&self, topic: Topic) -> &[usize] {
        &self.consumers[index(topic)]
    }

    /// The later stages stage `i` feeds: those it hands its end of stream.
    pub fn downstream(&self, i: usize) -> &[usize] {
        &self.downstream[i]
    }

    /// How many ends of stream stage `i` waits for before its own.
    pub fn upstreams(&self, i: usize) -> usize {
        self.upstreams[i]
    }
}

fn index(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{Collector, CollectorConfig};
    use crate::estimator::Estimator;
    use crate::learner::Learner;
    use crate::predictor::{Predictor, PredictorConfig};

    fn graph(with_learner: bool) -> Graph {
        let c = Collector::new(CollectorConfig::default());
        let e = Estimator::new(Default::default());
        let p = Predictor::new(PredictorConfig::default());
        let l = Learner::new(Default::default());
        let mut stages: Vec<&dyn Stage> = vec![&c, &e, &p];
        if with_learner {
            stages.push(&l);
        }
        Graph::new(&stages)
    }

    #[test]
    fn each_topic_goes_to_the_stage_that_reads_it() {
        let g = graph(true);
        assert_eq!(g.consumers(Topic::Tweets), [0]);
        assert_eq!(g.consumers(Topic::CascadeSeries), [1]);
        assert_eq!(g.consumers(Topic::CascadeProperties), [2]);
        assert_eq!(g.consumers(Topic::Samples), [3]);
        for leaves in [Topic::Alerts, Topic::Stats, Topic::Logs] {
            assert!(g.consumers(leaves).is_empty(), "{leaves}");
        }
    }

    #[test]
    fn the_learner_does_not_read_back_its_own_models() {
        assert_eq!(graph(true).consumers(Topic::Models), [2]);
    }

    #[test]
    fn the_end_of_stream_flows_downstream_and_not_round_the_model_loop() {
        let g = graph(true);
        assert_eq!(g.downstream(0), [1, 2]);
        assert_eq!(g.downstream(1), [2]);
        assert_eq!(g.downstream(2), [3]);
        assert!(g.downstream(3).is_empty());
        let waits: Vec<usize> = (0..g.len()).map(|i| g.upstreams(i)).collect();
        assert_eq!(waits, [1, 1, 2, 1]);
    }

    #[test]
    fn without_a_learner_samples_leave_the_pipeline() {
        let g = graph(false);
        assert_eq!(g.len(), 3);
        assert!(g.consumers(Topic::Samples).is_empty());
        assert!(g.downstream(2).is_empty());
    }
}
