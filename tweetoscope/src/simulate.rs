//! `tweetoscope simulate`: a synthetic set in NEWS format.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use clap::ValueEnum;
use tweetoscope_core::config::parse_seconds;
use tweetoscope_core::daily_cycle::MAX_AMPLITUDE;
use tweetoscope_core::synthetic::{self, SyntheticConfig, SyntheticKernel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// Exponential delays: the model the estimator fits.
    Exponential,
    /// Mishra et al.'s power-law delays: a law the estimator does not fit.
    PowerLaw,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Number of cascades.
    #[arg(long, env = "TWEETOSCOPE_CASCADES", default_value_t = 20_093)]
    pub cascades: usize,
    #[arg(long, env = "TWEETOSCOPE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Writes PREFIX-data.csv and PREFIX-index.csv.
    #[arg(long, env = "TWEETOSCOPE_SIMULATE_OUT")]
    pub out: PathBuf,
    /// The delay law between a tweet and its retweets.
    #[arg(long, env = "TWEETOSCOPE_SIMULATE_KERNEL", value_enum, default_value_t = KernelArg::Exponential)]
    pub kernel: KernelArg,
    /// Spread the cascades' starts uniformly over this period (e.g. 30d:
    /// a month-long feed, `--cascades` / 30 a day), written in start order;
    /// replay such a set with `--keep-start-times`. 0: every cascade
    /// starts at 0 and the replay spreads them.
    #[arg(long, env = "TWEETOSCOPE_SIMULATE_SPAN", value_parser = parse_seconds, default_value = "0")]
    pub span: f64,
    /// With `--span`: amplitude in [0, 0.95] of a daily cycle of activity
    /// (quietest at 00:00 of the set's clock, busiest at 12:00): 0.8 puts
    /// the night at a fifth of the mean rate, so a cascade started then
    /// unfolds about five times slower on the wall clock. 0: none.
    #[arg(long, env = "TWEETOSCOPE_SIMULATE_DAILY_CYCLE", default_value_t = 0.0)]
    pub daily_cycle: f64,
}

pub fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    if !(0.0..=MAX_AMPLITUDE).contains(&args.daily_cycle) {
        anyhow::bail!(
            "--daily-cycle {} is outside [0, {MAX_AMPLITUDE}]",
            args.daily_cycle
        );
    }
    if args.daily_cycle > 0.0 && args.span <= 0.0 {
        anyhow::bail!("--daily-cycle needs --span: cascades starting at 0 have no time of day");
    }
    let set = synthetic::generate(&SyntheticConfig {
        cascades: args.cascades,
        seed: args.seed,
        kernel: match args.kernel {
            KernelArg::Exponential => SyntheticKernel::Exponential,
            KernelArg::PowerLaw => SyntheticKernel::POWER_LAW,
        },
        span: args.span,
        daily_amplitude: args.daily_cycle,
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
