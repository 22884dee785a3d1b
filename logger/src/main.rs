//! The logger as its own process: a terminal tail of the logs topic, where
//! every stage forwards its records (at its `--kafka-log-level`).
//!
//! Aligned columns with the records' fields, coloured on a terminal and
//! plain otherwise (see [`format`]); filters on level, source and text;
//! from the beginning of the topic or only new records; or the records as
//! JSON lines for another tool.

mod format;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use tweetoscope_core::kafka::args::Property;
use tweetoscope_core::kafka::{KafkaArgs, app};
use tweetoscope_core::schema::{Message, Topic};
use tweetoscope_core::stage::{Ctx, Stage, StageError};

use format::{Filter, Level};

/// Prints every stage's log records as they arrive.
#[derive(Debug, Parser)]
#[command(name = "logger", version)]
struct Cli {
    /// Show records at this level and more severe ones only.
    #[arg(long, env = "TWEETOSCOPE_LOGGER_LEVEL", value_enum)]
    level: Option<Level>,
    /// Show only these sources (stage names); repeatable or comma-separated.
    #[arg(long, env = "TWEETOSCOPE_LOGGER_SOURCE", value_delimiter = ',')]
    source: Vec<String>,
    /// Show only records whose message or fields contain this text (any case).
    #[arg(long, env = "TWEETOSCOPE_LOGGER_GREP")]
    grep: Option<String>,
    /// Read the topic from its beginning; default: follow new records only.
    #[arg(long, env = "TWEETOSCOPE_LOGGER_FROM_BEGINNING")]
    from_beginning: bool,
    /// Print each record as its JSON line, unformatted (filters still apply).
    #[arg(long, env = "TWEETOSCOPE_LOGGER_JSON")]
    json: bool,
    /// Colours: auto (when stdout is a terminal), always or never.
    #[arg(long, env = "TWEETOSCOPE_LOGGER_COLOR", value_enum, default_value_t = Colour::Auto)]
    color: Colour,
    #[command(flatten)]
    kafka: KafkaArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

/// A stage that prints: it goes through the same driver, so a malformed
/// record is dead-lettered like on any other topic.
#[derive(Debug)]
struct Printer {
    filter: Filter,
    json: bool,
    colour: bool,
}

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
        if !self.filter.accepts(&log) {
            return Ok(());
        }
        if self.json {
            println!("{}", String::from_utf8_lossy(&Message::Log(log).encode()));
        } else {
            println!("{}", format::line(&log, self.colour));
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Its own records would come back to it through the topic.
    cli.kafka.telemetry.log_to_kafka = false;
    // Follow: a group of its own that starts at the end of the topic (or
    // at the beginning with --from-beginning), unless --group-id is given.
    if cli.kafka.group_id.is_none() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        cli.kafka.group_id = Some(format!("tweetoscope-logger-{}-{nanos}", std::process::id()));
    }
    let reset = if cli.from_beginning {
        "earliest"
    } else {
        "latest"
    };
    // First, so that a user's -X auto.offset.reset still wins.
    cli.kafka.properties.insert(
        0,
        Property {
            key: "auto.offset.reset".into(),
            value: reset.into(),
        },
    );
    let colour = match cli.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => std::io::stdout().is_terminal(),
    };
    let printer = Printer {
        filter: Filter {
            level: cli.level,
            sources: cli.source.clone(),
            grep: cli.grep.clone(),
        },
        json: cli.json,
        colour,
    };
    app::run_stage(cli.kafka.problems(), || printer, &cli.kafka, &[], &cli)
}
