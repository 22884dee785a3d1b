//! What the dashboard prints. On a terminal: the top-K table and the
//! accuracy per window, redrawn in place (ANSI home and clear) at most
//! [`REDRAW_EVERY`] apart. Elsewhere (a pipe, a log file): one line per new
//! alert and a summary line every N stats, as grep and `tail -f` want.

use std::io::{IsTerminal, Write};

use tweetoscope_core::board::{Outcome, Snapshot};
use tweetoscope_core::dashboard::Display;
use tweetoscope_core::schema::{AlertMsg, ColdBasis};

/// Seconds between two redraws of the terminal table.
pub const REDRAW_EVERY: f64 = 0.25;

#[derive(Debug, Clone)]
pub enum View {
    Table { last_draw: f64 },
    Lines { summary_every: u64, stats: u64 },
}

impl View {
    /// The table when stdout is a terminal, lines otherwise.
    pub fn for_stdout(summary_every: u64) -> Self {
        if std::io::stdout().is_terminal() {
            View::Table {
                last_draw: f64::NEG_INFINITY,
            }
        } else {
            View::Lines {
                summary_every,
                stats: 0,
            }
        }
    }
}

impl Display for View {
    /// A new (not redelivered) alert: one structured record (the Grafana
    /// "latest alerts" panel reads them from Loki, so cascade ids stay out
    /// of Prometheus labels), and its line off a terminal.
    fn alert(&mut self, a: &AlertMsg, _: Outcome) {
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
        if let View::Lines { .. } = self {
            println!("{}", alert_line(a));
        }
    }

    /// A new stat, with the board after it.
    fn stat(&mut self, snapshot: &Snapshot) {
        if let View::Lines {
            summary_every,
            stats,
        } = self
        {
            *stats += 1;
            if *summary_every > 0 && stats.is_multiple_of(*summary_every) {
                println!("{}", summary_line(snapshot));
            }
        }
    }

    /// Whether the table should be redrawn at `now`.
    fn due(&self, now: f64) -> bool {
        matches!(self, View::Table { last_draw } if now - *last_draw >= REDRAW_EVERY)
    }

    fn draw(&mut self, snapshot: &Snapshot) {
        if let View::Table { last_draw } = self {
            *last_draw = snapshot.now;
            let mut out = std::io::stdout().lock();
            // A closed terminal is not the dashboard's problem to report.
            let _ = write!(out, "\x1b[H\x1b[2J{}", table(snapshot));
            let _ = out.flush();
        }
    }
}

pub fn alert_line(a: &AlertMsg) -> String {
    format!(
        "alert  cascade {:>8}  window {:>5} s  seen {:>5}  predicted {:>8.0}",
        a.cid,
        a.t_obs,
        a.n_obs.unwrap_or(0),
        a.n_tot
    )
}

/// `stats  600 s: 120 scored, median ARE 0.231 | 1200 s: ...`
pub fn summary_line(s: &Snapshot) -> String {
    let parts: Vec<String> = s
        .windows
        .iter()
        .map(|w| {
            format!(
                "{} s: {} scored, median ARE {}",
                w.window,
                w.scored,
                w.median_are.map_or("-".into(), |m| format!("{m:.3}"))
            )
        })
        .collect();
    format!("stats  {}", parts.join(" | "))
}

/// The terminal screen: rates, the top-K cascades, accuracy per window.
pub fn table(s: &Snapshot) -> String {
    let mut t = format!(
        "Tweetoscope dashboard: {:.1} alerts/s, {:.1} stats/s ({} alerts, {} stats, {} duplicates dropped)\n\n",
        s.rates.alerts_per_s,
        s.rates.stats_per_s,
        s.rates.alerts_total,
        s.rates.stats_total,
        s.rates.duplicates
    );
    t.push_str("  #  cascade   window  observed  predicted     w  age (s)\n");
    for (i, e) in s.top.iter().enumerate() {
        t.push_str(&format!(
            "{:>3}  {:<8} {:>6} s {:>9} {:>10.0} {:>5.2} {:>8.0}\n",
            i + 1,
            e.cid,
            e.window,
            e.n_obs.map_or("-".into(), |n| n.to_string()),
            e.n_tot,
            e.w.unwrap_or(1.0),
            (s.now - e.at).max(0.0)
        ));
        if let Some(basis) = e.cold_start {
            // Replaces the line's newline: the mark ends the row.
            t.pop();
            t.push_str(match basis {
                ColdBasis::NearCritical => "  near-critical: first generation, no model yet\n",
                ColdBasis::FirstGeneration => "  cold start: first generation\n",
                ColdBasis::CarriedOver => "  cold start: carried-over model\n",
                ColdBasis::Hawkes | ColdBasis::Other => "  cold start: w = 1\n",
            });
        }
    }
    if s.top.is_empty() {
        t.push_str("  (no prediction yet)\n");
    }
    t.push_str("\n window   scored  median ARE   w = 1\n");
    for w in &s.windows {
        let m = |x: Option<f64>| x.map_or("-".into(), |m| format!("{m:.3}"));
        t.push_str(&format!(
            "{:>5} s {:>8} {:>11} {:>7}\n",
            w.window,
            w.scored,
            m(w.median_are),
            m(w.median_are_hawkes)
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use tweetoscope_core::board::{Board, BoardConfig};
    use tweetoscope_core::schema::StatMsg;

    use super::*;

    fn alert(cid: &str, n_tot: f64) -> AlertMsg {
        AlertMsg {
            kind: "alert".into(),
            cid: cid.into(),
            msg: String::new(),
            t_obs: 600,
            n_tot,
            w: Some(0.5),
            n_obs: Some(25),
            n_tot_median: None,
            n_tot_low: None,
            n_tot_high: None,
            cold_start: None,
        }
    }

    fn board() -> Board {
        let mut b = Board::new(BoardConfig::default());
        b.alert(&alert("17", 140.2), 100.0);
        b.alert(&alert("3", 900.0), 101.0);
        for (cid, are) in [("17", 0.1), ("3", 0.3), ("5", 0.2)] {
            let s = StatMsg {
                kind: "stat".into(),
                cid: cid.into(),
                t_obs: 600,
                are,
                are_hawkes: None,
            };
            b.stat(&s, 102.0);
        }
        b
    }

    #[test]
    fn the_table_lists_the_top_cascades_largest_first_and_the_windows() {
        let text = table(&board().snapshot(110.0));
        let expected = "\
  #  cascade   window  observed  predicted     w  age (s)
  1  3           600 s        25        900  0.50        9
  2  17          600 s        25        140  0.50       10

 window   scored  median ARE   w = 1
  600 s        3       0.200   0.200
";
        assert!(text.ends_with(expected), "{text}");
        assert!(
            text.starts_with(
                "Tweetoscope dashboard: 0.1 alerts/s, 0.3 stats/s (2 alerts, 3 stats, 0 duplicates dropped)\n\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn cold_start_and_near_critical_rows_say_so() {
        let mut b = board();
        let mut a = alert("8", 50.0);
        a.cold_start = Some(ColdBasis::NearCritical);
        a.w = Some(0.001);
        b.alert(&a, 103.0);
        let text = table(&b.snapshot(110.0));
        assert!(
            text.contains("  0.00        7  near-critical: first generation, no model yet\n"),
            "{text}"
        );
        let warm = text.lines().find(|l| l.contains(" 17 ")).unwrap();
        assert!(
            !warm.contains("cold") && !warm.contains("critical"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_line_gives_each_windows_median() {
        assert_eq!(
            summary_line(&board().snapshot(103.0)),
            "stats  600 s: 3 scored, median ARE 0.200"
        );
    }

    #[test]
    fn an_alert_line_names_cascade_window_and_sizes() {
        assert_eq!(
            alert_line(&alert("17", 140.2)),
            "alert  cascade       17  window   600 s  seen    25  predicted      140"
        );
    }

    #[test]
    fn the_table_is_redrawn_at_most_a_few_times_a_second() {
        let mut v = View::Table { last_draw: 10.0 };
        assert!(!v.due(10.1));
        assert!(v.due(10.25));
        let lines = View::Lines {
            summary_every: 1,
            stats: 0,
        };
        assert!(!lines.due(1e9), "lines are never redrawn");
        v = View::Table {
            last_draw: f64::NEG_INFINITY,
        };
        assert!(v.due(0.0));
    }
}
