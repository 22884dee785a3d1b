//! `tweetoscope`: the whole pipeline in one process.
//!
//! - `run` (the default): a paced demo on the synthetic source or a data
//!   set, with live alerts and a final accuracy table.
//! - `eval`: the same pipeline unpaced and deterministic, one JSON line per
//!   prediction.
//! - `simulate`: writes a synthetic set in NEWS format.
//! - `topics create` (feature `kafka`): creates the Kafka deployment's topics.
//! - `status`, `reset` (feature `kafka`): the deployment's groups, lag,
//!   models and dead letters; a stopped group's offsets moved.
//! - `check`: every stage binary's configuration validated, unconnected.
//! - `completions`: the shell completion script.

mod check;
#[cfg(feature = "kafka")]
mod client_args;
mod completions;
mod eval;
mod metrics;
mod progress;
mod report;
#[cfg(feature = "kafka")]
mod reset;
mod run;
mod score;
mod simulate;
mod stages;
#[cfg(feature = "kafka")]
mod status;
#[cfg(feature = "kafka")]
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: `eval` makes messages on the
/// collector's thread and frees them on the window workers', where glibc
/// took its arena locks; with mimalloc `eval` spends 13 % less CPU (perf,
/// 2026-12-05). Built without transparent huge pages (`no_thp`): its 2 MiB
/// pages cost eval about 30 MB of peak RSS (docs/MEASUREMENTS.md, "eval's
/// peak memory"). The Kafka stage binaries keep
/// glibc's: there, an A/B of `bench-kafka` showed no gain in throughput or
/// CPU (within its noise) and twice the RSS of the small stages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Said under `--help` when the Kafka commands were left out of the build
/// (the workspace's default), so that an operator knows how to get them.
const KAFKA_COMMANDS: &str = if cfg!(feature = "kafka") {
    ""
} else {
    "The Kafka operator commands (status, reset, topics) are not in this build: \
     cargo build --release -p tweetoscope --features kafka (the image has them)."
};

#[derive(Debug, Parser)]
#[command(
    name = "tweetoscope",
    version = tweetoscope_core::version!(),
    about = "Predicts, in real time, how popular a tweet will become",
    after_help = KAFKA_COMMANDS
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole pipeline in this process, paced, with live alerts.
    Run(run::RunArgs),
    /// Replays a data set as fast as possible and writes every prediction.
    Eval(eval::EvalArgs),
    /// Writes a synthetic NEWS-format data set.
    Simulate(simulate::SimulateArgs),
    /// Manages the Kafka deployment's topics.
    #[cfg(feature = "kafka")]
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
    /// Shows each stage group's members and lag (split into unread and
    /// held where the broker returns commit metadata: Apache Kafka, not
    /// Tansu), the newest model per window and recent dead letters.
    #[cfg(feature = "kafka")]
    Status(status::StatusArgs),
    /// Moves a stopped group's offsets (replay from a time, or skip).
    #[cfg(feature = "kafka")]
    Reset(reset::ResetArgs),
    /// Validates the stage binaries' configuration without connecting.
    Check(check::CheckArgs),
    /// Prints the shell completion script (bash, zsh, fish...).
    Completions(completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        None | Some(Command::Run(_) | Command::Check(_) | Command::Completions(_))
    );
    init_tracing(if quiet { "warn" } else { "info" });
    let result = match cli.command {
        None => run::run(run::RunArgs::default_args()),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Eval(args)) => eval::eval(args),
        Some(Command::Simulate(args)) => simulate::simulate(args),
        #[cfg(feature = "kafka")]
        Some(Command::Topics(cmd)) => topics::run(cmd),
        #[cfg(feature = "kafka")]
        Some(Command::Status(args)) => status::status(args),
        #[cfg(feature = "kafka")]
        Some(Command::Reset(args)) => reset::reset(args),
        Some(Command::Check(args)) => check::check(args),
        Some(Command::Completions(args)) => completions::completions::<Cli>(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by RUST_LOG (default: `default`).
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
