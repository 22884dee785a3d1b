//! Where the tweets come from and how they are replayed as sources.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::values::parse_seconds;
use crate::data::{Cascades, DataError, DataFile, Dataset};

/// How a data set is replayed as tweet sources (SPEC §3).
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Sources (course: threads) the cascades are dealt to.
    #[arg(long, env = "TWEETOSCOPE_SOURCES", default_value_t = 4)]
    pub sources: usize,
    /// Cascades a source keeps active at once.
    #[arg(long, env = "TWEETOSCOPE_MAX_ACTIVE", default_value_t = 50)]
    pub max_active: usize,
    /// A new cascade starts U[0, this] after the previous one ends.
    #[arg(long, env = "TWEETOSCOPE_START_SPREAD", value_parser = parse_seconds, default_value = "600")]
    pub start_spread: f64,
    /// A quiet source sends a watermark this often (source clock).
    #[arg(long, env = "TWEETOSCOPE_WATERMARK_INTERVAL", value_parser = parse_seconds, default_value = "60")]
    pub watermark_interval: f64,
    /// Seed of the shuffle, the start offsets and the synthetic set.
    #[arg(long, env = "TWEETOSCOPE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Start each cascade at its first tweet's time in the data, in the
    /// file's order, instead of shuffling and spreading them (for sets made
    /// by `simulate --span`; give a large --max-active so that slots do not
    /// delay them).
    #[arg(long, env = "TWEETOSCOPE_KEEP_START_TIMES")]
    pub keep_start_times: bool,
}

impl ReplayArgs {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.sources == 0 || self.max_active == 0 {
            p.push("--sources and --max-active must be >= 1".into());
        }
        if self.watermark_interval <= 0.0 {
            p.push("--watermark-interval must be > 0".into());
        }
        p
    }

    pub fn config(&self) -> crate::generator::ReplayConfig {
        crate::generator::ReplayConfig {
            sources: self.sources,
            max_active: self.max_active,
            start_spread: self.start_spread,
            watermark_interval: self.watermark_interval,
            seed: self.seed,
            format: crate::generator::TweetFormat::Ours,
            keep_start_times: self.keep_start_times,
        }
    }
}

/// Where the tweets come from: a NEWS-format data set, or the synthetic
/// source (seeded by the replay's `--seed`).
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
    pub fn problems(&self) -> Vec<String> {
        if self.data.is_none() && self.cascades == 0 {
            vec!["--cascades must be >= 1 without --data".into()]
        } else {
            Vec::new()
        }
    }

    /// The data set to replay: the data files, checked and then read
    /// cascade by cascade as the replay starts them ([`DataFile`]), or the
    /// synthetic set for `seed`, in memory. The caller checks that it is
    /// not empty.
    pub fn open(&self, seed: u64) -> Result<Arc<dyn Cascades>, DataError> {
        Ok(match (&self.data, &self.index) {
            (Some(data), Some(index)) => Arc::new(DataFile::open(data, index)?),
            _ => self.load(seed)?,
        })
    }

    /// The data set, or the synthetic one for `seed`. The caller checks
    /// that it is not empty (a data file may hold no cascade).
    pub fn load(&self, seed: u64) -> Result<Arc<Dataset>, DataError> {
        let set = match (&self.data, &self.index) {
            (Some(data), Some(index)) => Dataset::load(data, index)?,
            _ => crate::synthetic::generate(&crate::synthetic::SyntheticConfig {
                cascades: self.cascades,
                seed,
                ..crate::synthetic::SyntheticConfig::default()
            }),
        };
        Ok(Arc::new(set))
    }
}
