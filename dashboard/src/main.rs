//! The dashboard as its own process: consumes `alerts` and `stats`, keeps
//! a bounded [`Board`] of them, serves it as a live web page
//! (`--web-addr`), and shows it in the terminal: a top-K table redrawn in
//! place on a terminal, alert and summary lines otherwise. On start it
//! reads back the last hour of both topics (see
//! `tweetoscope_core::kafka::preload`), so a restart forgets nothing shown.
//!
//! The stage is [`tweetoscope_core::dashboard::Dashboard`], which
//! `tweetoscope run` runs too; [`view`] is what it shows on the terminal
//! (the renderings are pure functions of a snapshot).

mod view;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use tweetoscope_core::board::{Board, BoardConfig};
use tweetoscope_core::config::parse_seconds;
use tweetoscope_core::dashboard::Dashboard;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::web;

use crate::view::View;

/// Shows alerts, the most popular predicted cascades and the running ARE of
/// each window, on a web page and in the terminal.
#[derive(Debug, Parser)]
#[command(name = "dashboard", version = tweetoscope_core::version!())]
struct Cli {
    /// Where to serve the live web page (port 0: any free port; the address
    /// is logged at start).
    #[arg(long, env = "TWEETOSCOPE_WEB_ADDR", default_value = "127.0.0.1:8080")]
    web_addr: SocketAddr,
    /// How many of the most popular predicted cascades to show.
    #[arg(long, env = "TWEETOSCOPE_TOP", default_value_t = 10)]
    top: usize,
    /// A cascade leaves the top list this long after its last prediction.
    #[arg(long, env = "TWEETOSCOPE_TOP_TTL", value_parser = parse_seconds, default_value = "10m")]
    top_ttl: f64,
    /// Off a terminal: print a summary line every this many stats.
    #[arg(long, env = "TWEETOSCOPE_SUMMARY_EVERY", default_value_t = 100)]
    summary_every: u64,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let (cli, effective) = tweetoscope_core::config::parse::<Cli>();
    let mut problems = cli.kafka.problems();
    if cli.top == 0 {
        problems.push("--top 0 shows nothing: give at least 1".into());
    }
    let board = Arc::new(Mutex::new(Board::new(BoardConfig {
        top_k: cli.top,
        top_ttl: Some(cli.top_ttl),
        delivery: cli.kafka.delivery.delivery.label(),
        ..BoardConfig::default()
    })));
    // Bound before the stage starts, so that a taken address is reported
    // with the other configuration problems (not by --check: the running
    // dashboard it may be checked beside holds that address).
    let bound = match cli.kafka.check {
        true => Ok(cli.web_addr),
        false => web::bind(cli.web_addr).and_then(|l| web::serve(l, board.clone())),
    };
    let url = match bound {
        Ok(addr) => Some(format!("http://{addr}/")),
        Err(error) => {
            problems.push(error.to_string());
            None
        }
    };
    let view = View::for_stdout(cli.summary_every);
    let stage = || Dashboard::new(board, view, url);
    app::run_stage(
        problems,
        stage,
        &cli.kafka,
        &cli.windows.windows.0,
        &effective,
    )
}
