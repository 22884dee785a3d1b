//! Command-line option groups shared by the binaries (clap derive, every
//! flag also readable from a `TWEETOSCOPE_*` environment variable).
//!
//! Each group turns into the plain config struct of the stage it sets up,
//! so the stages themselves know nothing of clap. Durations are human
//! ("1800", "1800s", "30m", "1h 30m").
//!
//! Laid out by concept, every item re-exported here:
//! - `values`: the parsers of option values (durations, windows, feature
//!   lists);
//! - `stages`: the option groups of the stages (collector, Hawkes fit and
//!   magnitude law, learner and predictor);
//! - `replay`: where the tweets come from and how they are replayed;
//! - `redact`: which options are secrets and what is shown instead;
//! - `effective`: the options a binary runs with, as `key=value`.

mod effective;
pub mod redact;
mod replay;
mod stages;
mod values;

pub use effective::{Effective, parse, parse_from};
pub use replay::{ReplayArgs, SourceArgs};
pub use stages::{
    CollectorArgs, HawkesArgs, KernelArg, LearnerArgs, MarkLawArgs, MarkMeanArg, PointArg,
    SolverArg, TargetArg,
};
pub use values::{FeatureList, Windows, parse_seconds};

/// Every configuration problem at once, as one error message; `Ok` when
/// there is none. Shared by every binary so all report alike.
pub fn check(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid configuration:\n  - {}",
            problems.join("\n  - ")
        ))
    }
}

/// The `--version` text of a binary: the package version and the git
/// commit its crate was built from (`TWEETOSCOPE_COMMIT`, set by the build
/// script every binary crate shares, build/commit.rs). A macro, so that
/// `env!` reads the calling crate's build environment.
#[macro_export]
macro_rules! version {
    () => {
        concat!(
            env!("CARGO_PKG_VERSION"),
            " (commit ",
            env!("TWEETOSCOPE_COMMIT"),
            ")"
        )
    };
}
