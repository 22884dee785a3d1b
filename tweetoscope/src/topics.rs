//! `tweetoscope topics create`: creates every topic of the Kafka deployment
//! with its partitions (window-keyed topics: one per window by default;
//! models compacted), as the stages would when they find them missing.

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app, topics};
use tweetoscope_core::schema::Topic;

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Creates the missing topics; existing ones are left as they are.
    Create(CreateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub windows: WindowArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

pub fn run(cmd: TopicsCommand) -> anyhow::Result<()> {
    let TopicsCommand::Create(args) = cmd;
    app::check(args.kafka.problems()).map_err(|e| anyhow!(e))?;
    let specs = topics::specs(&args.kafka, &args.windows.windows.0, &Topic::ALL);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let counts = runtime.block_on(topics::ensure(&args.kafka, &specs))?;
    for spec in &specs {
        let n = counts.get(&spec.name).copied().unwrap_or(0);
        let compact = if spec.compact { " (compacted)" } else { "" };
        println!("{:<24} {n} partition(s){compact}", spec.name);
    }
    Ok(())
}
