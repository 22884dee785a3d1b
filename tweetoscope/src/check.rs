//! `tweetoscope check`: validates the configuration each stage binary
//! would start with (flags, the `TWEETOSCOPE_*` environment, data files),
//! every problem at once, without connecting to anything.
//!
//! Each stage binary owns its options, so this runs `STAGE --check` for
//! each named stage (default: all seven), found beside this executable,
//! and gathers their answers.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;

/// The stage binaries, in the pipeline's order.
pub const STAGES: [&str; 7] = [
    "generator",
    "collector",
    "estimator",
    "predictor",
    "learner",
    "dashboard",
    "logger",
];

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Stages to check (default: all seven).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(STAGES))]
    pub stages: Vec<String>,
    /// Options given to every checked stage, after `--`
    /// (e.g. `tweetoscope check collector -- --windows 300,600`).
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Also print each valid stage's effective configuration.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Where the stage binaries are: beside this executable.
fn stage_binary(stage: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate this executable")?;
    let path = exe.with_file_name(stage);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: `tweetoscope check` runs the stage binaries installed beside it (cargo build --workspace --bins)",
        path.display()
    );
    Ok(path)
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let stages: Vec<&str> = match args.stages.is_empty() {
        true => STAGES.to_vec(),
        false => args.stages.iter().map(String::as_str).collect(),
    };
    let mut failed = Vec::new();
    for stage in stages {
        let out = Command::new(stage_binary(stage)?)
            .arg("--check")
            .args(&args.args)
            .output()
            .with_context(|| format!("cannot run {stage} --check"))?;
        if out.status.success() {
            println!("{stage}: configuration OK");
            if args.verbose {
                let text = String::from_utf8_lossy(&out.stdout);
                for line in text.lines().skip(1) {
                    println!("  {line}");
                }
            }
        } else {
            let text = String::from_utf8_lossy(&out.stderr);
            println!("{stage}: invalid");
            for line in text.lines() {
                println!("  {}", line.strip_prefix("error: ").unwrap_or(line));
            }
            failed.push(stage);
        }
    }
    if !failed.is_empty() {
        bail!("invalid configuration for {}", failed.join(", "));
    }
    Ok(())
}
