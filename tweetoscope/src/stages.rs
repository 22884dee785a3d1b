//! Options shared by `run` and `eval`: the source and the stages.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use tweetoscope_core::collector::Collector;
use tweetoscope_core::config::{CollectorArgs, HawkesArgs, LearnerArgs, ReplayArgs};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::learner::Learner;
use tweetoscope_core::pipeline::Stages;
use tweetoscope_core::predictor::Predictor;
use tweetoscope_core::synthetic::{self, SyntheticConfig};

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
        let problems: Vec<String> = [
            self.hawkes.problems(),
            self.learner.problems(),
            replay.problems(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            bail!("invalid configuration:\n  - {}", problems.join("\n  - "));
        }
        Ok(())
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

/// Where the tweets come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// NEWS-format data file (time,magnitude rows); needs --index.
    #[arg(long, env = "TWEETOSCOPE_DATA", requires = "index")]
    pub data: Option<PathBuf>,
    /// NEWS-format index file (start_ind,end_ind rows); needs --data.
    #[arg(long, env = "TWEETOSCOPE_INDEX", requires = "data")]
    pub index: Option<PathBuf>,
    /// Synthetic cascades, when no --data is given.
    #[arg(long, env = "TWEETOSCOPE_CASCADES", default_value_t = 3000)]
    pub cascades: usize,
}

impl SourceArgs {
    pub fn load(&self, seed: u64) -> anyhow::Result<Arc<Dataset>> {
        let set = match (&self.data, &self.index) {
            (Some(data), Some(index)) => Dataset::load(data, index).with_context(|| {
                format!(
                    "cannot read the data set {} / {}",
                    data.display(),
                    index.display()
                )
            })?,
            _ => synthetic::generate(&SyntheticConfig {
                cascades: self.cascades,
                seed,
                ..SyntheticConfig::default()
            }),
        };
        if set.is_empty() {
            bail!("the data set has no cascade");
        }
        Ok(Arc::new(set))
    }
}
