//! `tweetoscope status` (feature `kafka`): the deployment's state, read
//! from the broker without joining any group; see
//! [`tweetoscope_core::kafka::ops::status`].

use anyhow::anyhow;
use clap::Args;
use tweetoscope_core::kafka::ops::status;
use tweetoscope_core::kafka::{KafkaArgs, app};

#[derive(Debug, Clone, Args)]
#[command(mut_args(crate::client_args::hide_stage_only))]
pub struct StatusArgs {
    /// Print JSON (one object) for scripts instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The stages' group ids, `{stage}` replaced by each stage's name
    /// (the stages' default is tweetoscope-{stage}).
    #[arg(
        long,
        env = "TWEETOSCOPE_GROUP_PATTERN",
        default_value = "tweetoscope-{stage}"
    )]
    pub group_pattern: String,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

pub fn status(args: StatusArgs) -> anyhow::Result<()> {
    app::check(args.kafka.problems()).map_err(|e| anyhow!(e))?;
    let state = status::collect(&args.kafka, &args.group_pattern)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&state)?);
    } else {
        print!("{}", status::render(&state));
    }
    Ok(())
}
