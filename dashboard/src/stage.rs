//! The dashboard stage: feeds the shared board and redraws the terminal.

use tweetoscope_core::board::{Board, Outcome};
use tweetoscope_core::schema::{Message, Topic};
use tweetoscope_core::stage::{Ctx, Stage, StageError};
use tweetoscope_core::web::{self, SharedBoard};

use crate::view::View;

#[derive(Debug)]
pub struct Dashboard {
    board: SharedBoard,
    view: View,
    /// The page's address, logged once tracing is up (at the first call).
    url: Option<String>,
}

impl Dashboard {
    pub fn new(board: SharedBoard, view: View, url: Option<String>) -> Self {
        Self { board, view, url }
    }

    fn announce(&mut self) {
        if let Some(url) = self.url.take() {
            tracing::info!(url, "serving the live web page");
        }
    }

    fn with_board<T>(&self, f: impl FnOnce(&mut Board) -> T) -> T {
        f(&mut web::lock(&self.board))
    }
}

impl Stage for Dashboard {
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
                if self.with_board(|b| b.alert(&a, now)) != Outcome::Duplicate {
                    // One structured record per new alert: the Grafana
                    // "latest alerts" panel reads them from Loki, so cascade
                    // ids stay out of Prometheus labels.
                    tracing::info!(
                        target: "alert",
                        cid = %a.cid,
                        window = a.t_obs,
                        n_obs = a.n_obs,
                        predicted = a.n_tot,
                        low = a.n_tot_low,
                        high = a.n_tot_high,
                        "alert"
                    );
                    self.view.alert(&a);
                }
            }
            Message::Stat(s) => {
                if self.with_board(|b| b.stat(&s, now)) == Outcome::Counted {
                    let snapshot = self.with_board(|b| b.snapshot(now));
                    self.view.stat(&snapshot);
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

impl Dashboard {
    fn redraw(&mut self, now: f64) {
        if self.view.due(now) {
            let snapshot = self.with_board(|b| b.snapshot(now));
            self.view.draw(&snapshot);
        }
    }
}
