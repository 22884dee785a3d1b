//! `tweetoscope reset` (feature `kafka`): moves a stopped group's offsets
//! to replay from a time or skip to the end; see
//! [`tweetoscope_core::kafka::ops::reset`].

use anyhow::{anyhow, bail};
use clap::Args;
use tweetoscope_core::kafka::ops::{self, reset};
use tweetoscope_core::kafka::{KafkaArgs, app};

#[derive(Debug, Clone, Args)]
#[command(mut_args(crate::client_args::hide_stage_only))]
pub struct ResetArgs {
    /// The group whose offsets move (e.g. tweetoscope-collector).
    #[arg(long)]
    pub group: String,
    /// earliest, latest, a time (2026-12-07T10:00:00Z), Unix milliseconds,
    /// or a duration ago (-1h).
    #[arg(long, allow_hyphen_values = true)]
    pub to: reset::To,
    /// Only these topics (default: the inputs of the stage the group is
    /// named after, tweetoscope-<stage>).
    #[arg(long)]
    pub topic: Vec<String>,
    /// Show the moves without committing them.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

pub fn reset(args: ResetArgs) -> anyhow::Result<()> {
    app::check(args.kafka.problems()).map_err(|e| anyhow!(e))?;
    let topics: Vec<String> = if args.topic.is_empty() {
        match ops::inputs_of_group(&args.group) {
            Some(inputs) => inputs
                .iter()
                .map(|t| args.kafka.topics.name(*t).to_owned())
                .collect(),
            None => bail!(
                "{} is not named after a stage (tweetoscope-<stage>): say which topics with --topic",
                args.group
            ),
        }
    } else {
        args.topic.clone()
    };
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let moves = reset::plan(&args.kafka, &args.group, &names, args.to)?;
    for m in &moves {
        let from = m.from.map_or("-".to_owned(), |f| f.to_string());
        println!("{}/{}: {from} -> {}", m.topic, m.partition, m.to);
    }
    if args.dry_run {
        println!("dry run: nothing committed");
        return Ok(());
    }
    reset::apply(&args.kafka, &args.group, &moves)?;
    println!("group {}: {} partition(s) reset", args.group, moves.len());
    Ok(())
}
