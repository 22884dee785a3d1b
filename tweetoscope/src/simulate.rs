//! `tweetoscope simulate`: a synthetic set in NEWS format.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tweetoscope_core::synthetic::{self, SyntheticConfig};

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Number of cascades.
    #[arg(long, default_value_t = 20_093)]
    pub cascades: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Writes PREFIX-data.csv and PREFIX-index.csv.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let set = synthetic::generate(&SyntheticConfig {
        cascades: args.cascades,
        seed: args.seed,
        ..SyntheticConfig::default()
    });
    let path = |suffix: &str| {
        let mut p = args.out.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    let (data, index) = (path("-data.csv"), path("-index.csv"));
    set.write(&data, &index)
        .with_context(|| format!("cannot write {} / {}", data.display(), index.display()))?;
    let mut sizes: Vec<usize> = (0..set.len()).map(|i| set.size(i)).collect();
    sizes.sort_unstable();
    let q = |f: f64| {
        sizes
            .get(((sizes.len().max(1) - 1) as f64 * f) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{} cascades, {} tweets (sizes: min {}, median {}, mean {:.1}, max {}) written to {} and {}",
        set.len(),
        set.n_tweets(),
        q(0.0),
        q(0.5),
        set.n_tweets() as f64 / set.len().max(1) as f64,
        q(1.0),
        data.display(),
        index.display()
    );
    Ok(())
}
