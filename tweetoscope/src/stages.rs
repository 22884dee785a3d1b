//! Options shared by `run` and `eval`: the source and the stages.

use clap::Args;
use tweetoscope_core::collector::Collector;
use tweetoscope_core::config::{self, CollectorArgs, HawkesArgs, LearnerArgs, ReplayArgs};
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::learner::Learner;
use tweetoscope_core::pipeline::Stages;
use tweetoscope_core::predictor::Predictor;

/// The stages' options.
#[derive(Debug, Clone, Args)]
pub struct StageArgs {
    #[command(flatten)]
    pub collector: CollectorArgs,
    #[command(flatten)]
    pub hawkes: HawkesArgs,
    #[command(flatten)]
    pub learner: LearnerArgs,
    /// No learner: every prediction uses w = 1.
    #[arg(long, env = "TWEETOSCOPE_NO_LEARNER")]
    pub no_learner: bool,
}

impl StageArgs {
    /// Checks every option and reports all problems at once.
    pub fn check(&self, replay: &ReplayArgs) -> anyhow::Result<()> {
        let problems = [
            self.hawkes.problems(),
            self.learner.problems(),
            replay.problems(),
        ]
        .concat();
        config::check(problems).map_err(anyhow::Error::msg)
    }

    pub fn build(&self) -> Stages {
        Stages {
            collector: Collector::new(self.collector.config()),
            estimator: Estimator::new(self.hawkes.config()),
            predictor: Predictor::new(self.learner.predictor_config()),
            learner: (!self.no_learner).then(|| Learner::new(self.learner.learner_config())),
        }
    }
}
