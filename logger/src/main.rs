//! The logger as its own process: a terminal tail of the logs topic, where
//! every stage forwards its warnings and errors.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::kafka::{KafkaArgs, app};
use tweetoscope_core::schema::{Message, Topic};
use tweetoscope_core::stage::{Ctx, Stage, StageError};

/// Prints every stage's log records as they arrive.
#[derive(Debug, Parser)]
#[command(name = "logger", version)]
struct Cli {
    #[command(flatten)]
    kafka: KafkaArgs,
}

/// A stage that prints: it goes through the same driver, so a malformed
/// record is dead-lettered like on any other topic.
#[derive(Debug)]
struct Printer;

impl Stage for Printer {
    fn name(&self) -> &'static str {
        "logger"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Logs]
    }

    fn handle(
        &mut self,
        msg: Message,
        _ctx: Ctx,
        _out: &mut Vec<Message>,
    ) -> Result<(), StageError> {
        let Message::Log(log) = msg else {
            return Err(StageError::UnexpectedTopic {
                stage: "logger",
                topic: msg.topic(),
            });
        };
        let fields: Vec<String> = log.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:.3} {:>9} {:>5} {} {}",
            log.t,
            log.source,
            log.level,
            log.message,
            fields.join(" ")
        );
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Its own warnings would come back to it through the topic.
    cli.kafka.log_to_kafka = false;
    app::run_stage(
        cli.kafka.problems(),
        || Printer,
        &cli.kafka,
        &[],
        &[],
        &[],
        &cli,
    )
}
