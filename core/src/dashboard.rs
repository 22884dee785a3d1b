//! The dashboard stage: feeds a shared [`Board`] with alerts and stats
//! and tells its [`Display`] what changed. The `dashboard` binary runs it
//! over Kafka with a terminal view; `tweetoscope run` feeds it the
//! in-process pipeline's outputs with its progress bar. The web page reads
//! the board itself.

use crate::board::{Board, Outcome, Snapshot};
use crate::schema::{AlertMsg, Message, Topic};
use crate::stage::{Ctx, Stage, StageError};
use crate::web::{self, SharedBoard};

/// What shows the board besides the web page: a terminal, a progress bar.
pub trait Display: std::fmt::Debug {
    /// An alert not seen before, and where it went on the board.
    fn alert(&mut self, _alert: &AlertMsg, _outcome: Outcome) {}
    /// A new stat, with the board after it.
    fn stat(&mut self, _snapshot: &Snapshot) {}
    /// Whether the whole board should be drawn again at `now`.
    fn due(&self, _now: f64) -> bool {
        false
    }
    fn draw(&mut self, _snapshot: &Snapshot) {}
}

#[derive(Debug)]
pub struct Dashboard<D> {
    board: SharedBoard,
    display: D,
    /// The page's address, logged once tracing is up (at the first call).
    url: Option<String>,
}

impl<D: Display> Dashboard<D> {
    pub fn new(board: SharedBoard, display: D, url: Option<String>) -> Self {
        Self {
            board,
            display,
            url,
        }
    }

    fn announce(&mut self) {
        if let Some(url) = self.url.take() {
            tracing::info!(url, "serving the live web page");
        }
    }

    fn with_board<T>(&self, f: impl FnOnce(&mut Board) -> T) -> T {
        f(&mut web::lock(&self.board))
    }

    fn redraw(&mut self, now: f64) {
        if self.display.due(now) {
            let snapshot = self.with_board(|b| b.snapshot(now));
            self.display.draw(&snapshot);
        }
    }
}

impl<D: Display> Stage for Dashboard<D> {
    fn name(&self) -> &'static str {
        "dashboard"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Alerts, Topic::Stats]
    }

    fn handle(
        &mut self,
        msg: Message,
        ctx: Ctx,
        _out: &mut Vec<Message>,
    ) -> Result<(), StageError> {
        self.announce();
        let now = ctx.now;
        match msg {
            Message::Alert(a) => {
                let outcome = self.with_board(|b| b.alert(&a, now));
                if outcome != Outcome::Duplicate {
                    self.display.alert(&a, outcome);
                }
            }
            Message::Stat(s) => {
                if self.with_board(|b| b.stat(&s, now)) == Outcome::Counted {
                    let snapshot = self.with_board(|b| b.snapshot(now));
                    self.display.stat(&snapshot);
                }
            }
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: "dashboard",
                    topic: other.topic(),
                });
            }
        }
        self.redraw(now);
        Ok(())
    }

    fn tick(&mut self, now: f64, _out: &mut Vec<Message>) {
        self.announce();
        self.with_board(|b| b.tick(now));
        self.redraw(now);
    }

    fn heard(&mut self, topic: Topic, instance: &str, now: f64) {
        self.with_board(|b| b.heard(instance, topic, now));
    }
}
