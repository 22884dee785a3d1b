//! How the logger shows a record, and which records it shows: pure
//! functions, tested against golden lines.
//!
//! A line is `time  source  level  message  key=value...`, in aligned
//! columns. On a terminal, the level and the source are coloured (a fixed
//! colour per level, and per source name); elsewhere the text is plain.

use serde_json::Value;
use tweetoscope_core::schema::LogMsg;

/// Width of the source column (the longest stage name, `dashboard`).
const SOURCE_WIDTH: usize = 10;
/// Width of the message column; longer messages push the fields right.
const MESSAGE_WIDTH: usize = 28;

/// The field of the effective-configuration record (every option of a
/// stage, `key=value`): `--grep` does not search it, or `--grep model`
/// would match every stage's start through its topic names.
const CONFIG_FIELD: &str = "config";

/// Which records to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Lowest level shown (`None`: all).
    pub level: Option<Level>,
    /// Sources shown (empty: all).
    pub sources: Vec<String>,
    /// Hides the dashboard's one record per alert ([`is_alert`]).
    pub hide_alerts: bool,
    /// Shown only if the message or a field (not the configuration's)
    /// contains this (case-insensitive).
    pub grep: Option<String>,
}

/// Record levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The level of a record; an unknown one counts as INFO.
    pub fn of(text: &str) -> Level {
        match text.to_ascii_uppercase().as_str() {
            "ERROR" | "CRITICAL" | "FATAL" => Level::Error,
            "WARN" | "WARNING" => Level::Warn,
            "DEBUG" => Level::Debug,
            "TRACE" => Level::Trace,
            _ => Level::Info,
        }
    }
}

impl Filter {
    pub fn accepts(&self, log: &LogMsg) -> bool {
        if self.hide_alerts && is_alert(log) {
            return false;
        }
        if self.level.is_some_and(|min| Level::of(&log.level) > min) {
            return false;
        }
        if !self.sources.is_empty() && !self.sources.iter().any(|s| s == &log.source) {
            return false;
        }
        match &self.grep {
            None => true,
            Some(needle) => {
                let needle = needle.to_lowercase();
                log.message.to_lowercase().contains(&needle)
                    || log
                        .fields
                        .iter()
                        .filter(|(k, _)| k.as_str() != CONFIG_FIELD)
                        .any(|(k, v)| {
                            k.to_lowercase().contains(&needle)
                                || value_text(v).to_lowercase().contains(&needle)
                        })
            }
        }
    }
}

/// The dashboard's record of a new alert (for Loki's "latest alerts"):
/// beside a dashboard printing its own alert lines, as in `scripts/up.sh`,
/// it would show every alert twice.
pub fn is_alert(log: &LogMsg) -> bool {
    log.source == "dashboard" && log.message == "alert"
}

/// One aligned line for a record; `colour`: with ANSI colours.
pub fn line(log: &LogMsg, colour: bool) -> String {
    let level = log.level.to_ascii_uppercase();
    let (source, level_text) = if colour {
        (
            paint(&pad(&log.source, SOURCE_WIDTH), source_colour(&log.source)),
            paint(&pad(&level, 5), level_colour(Level::of(&level))),
        )
    } else {
        (pad(&log.source, SOURCE_WIDTH), pad(&level, 5))
    };
    let mut text = format!("{}  {source}  {level_text}  ", timestamp(log.t));
    if log.fields.is_empty() {
        text.push_str(&log.message);
    } else {
        text.push_str(&pad(&log.message, MESSAGE_WIDTH));
        let fields: Vec<String> = log
            .fields
            .iter()
            .map(|(k, v)| {
                let k = if colour { paint(k, DIM) } else { k.clone() };
                format!("{k}={}", quoted(&value_text(v)))
            })
            .collect();
        text.push_str("  ");
        text.push_str(&fields.join(" "));
    }
    text.trim_end().to_owned()
}

/// `YYYY-MM-DD HH:MM:SS.mmm`, UTC.
pub fn timestamp(t: f64) -> String {
    if !t.is_finite() || t < 0.0 {
        return format!("{:>23}", "?");
    }
    let ms = (t * 1000.0).round() as i64;
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let s = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms_of_day % 1000
    )
}

/// The civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), rounded),
        other => other.to_string(),
    }
}

/// A float as a reader wants it: 3 significant digits, but every digit of
/// its integer part (12345.678 is 12346, 0.0123456 is 0.0123), trailing
/// zeros dropped, and scientific notation below 1e-4.
fn rounded(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if magnitude >= 2 {
        format!("{x:.0}")
    } else if magnitude >= -4 {
        let decimals = usize::try_from(2 - magnitude).unwrap_or(0);
        let text = format!("{x:.decimals$}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.to_owned()
    } else {
        format!("{x:.2e}")
    }
}

/// A value with spaces or quotes is shown quoted, so columns stay readable.
fn quoted(text: &str) -> String {
    if text.is_empty() || text.contains([' ', '"', '=']) {
        format!("{text:?}")
    } else {
        text.to_owned()
    }
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

fn paint(text: &str, colour: &str) -> String {
    format!("{colour}{text}{RESET}")
}

fn level_colour(level: Level) -> &'static str {
    match level {
        Level::Error => "\x1b[1;31m",
        Level::Warn => "\x1b[33m",
        Level::Info => "\x1b[32m",
        Level::Debug => "\x1b[34m",
        Level::Trace => "\x1b[2m",
    }
}

/// A fixed colour per source name: the stages get distinct ones, other
/// names one picked by a hash of the name.
fn source_colour(source: &str) -> &'static str {
    const PALETTE: [&str; 6] = [
        "\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[33m", "\x1b[32m", "\x1b[96m",
    ];
    let index = match source {
        "generator" => 0,
        "collector" => 1,
        "estimator" => 2,
        "predictor" => 3,
        "learner" => 4,
        "dashboard" => 5,
        other => {
            other
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
                % PALETTE.len()
        }
    };
    PALETTE[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> LogMsg {
        serde_json::from_str(json).unwrap()
    }

    fn sample() -> Vec<LogMsg> {
        vec![
            record(
                r#"{"t":1700000000,"source":"collector","level":"INFO","message":"consuming","group":"tweetoscope-collector","topics":"tweets"}"#,
            ),
            record(
                r#"{"t":1700000000.25,"source":"estimator","level":"WARN","message":"fit failed","cid":"17","window":600,"error":"solver did not converge"}"#,
            ),
            record(
                r#"{"t":1700000001.5,"source":"predictor","level":"ERROR","message":"cannot deliver"}"#,
            ),
            record(
                r#"{"t":1700000002,"source":"collector","level":"DEBUG","message":"commit requested","offsets":"tweets/0@10"}"#,
            ),
        ]
    }

    #[test]
    fn records_print_as_aligned_plain_columns_off_a_terminal() {
        let lines: Vec<String> = sample().iter().map(|l| line(l, false)).collect();
        let golden = [
            "2023-11-14 22:13:20.000  collector   INFO   consuming                     group=tweetoscope-collector topics=tweets",
            "2023-11-14 22:13:20.250  estimator   WARN   fit failed                    cid=17 error=\"solver did not converge\" window=600",
            "2023-11-14 22:13:21.500  predictor   ERROR  cannot deliver",
            "2023-11-14 22:13:22.000  collector   DEBUG  commit requested              offsets=tweets/0@10",
        ];
        assert_eq!(lines, golden);
    }

    #[test]
    fn on_a_terminal_the_level_and_source_are_coloured() {
        let l = line(&sample()[1], true);
        assert_eq!(
            l,
            "2023-11-14 22:13:20.250  \x1b[34mestimator \x1b[0m  \x1b[33mWARN \x1b[0m  fit failed                    \x1b[2mcid\x1b[0m=17 \x1b[2merror\x1b[0m=\"solver did not converge\" \x1b[2mwindow\x1b[0m=600"
        );
        assert_ne!(source_colour("collector"), source_colour("predictor"));
    }

    #[test]
    fn the_level_filter_keeps_that_level_and_more_severe_ones() {
        let f = Filter {
            level: Some(Level::Warn),
            ..Filter::default()
        };
        let kept: Vec<String> = sample()
            .into_iter()
            .filter(|l| f.accepts(l))
            .map(|l| l.level)
            .collect();
        assert_eq!(kept, ["WARN", "ERROR"]);
    }

    #[test]
    fn the_source_filter_keeps_only_the_named_sources() {
        let f = Filter {
            sources: vec!["collector".into()],
            ..Filter::default()
        };
        let messages: Vec<String> = sample()
            .into_iter()
            .filter(|l| f.accepts(l))
            .map(|l| l.message)
            .collect();
        assert_eq!(messages, ["consuming", "commit requested"]);
    }

    #[test]
    fn grep_searches_messages_and_fields_ignoring_case() {
        let f = Filter {
            grep: Some("CONVERGE".into()),
            ..Filter::default()
        };
        let messages: Vec<String> = sample()
            .into_iter()
            .filter(|l| f.accepts(l))
            .map(|l| l.message)
            .collect();
        assert_eq!(messages, ["fit failed"]);
        let f = Filter {
            grep: Some("deliver".into()),
            level: Some(Level::Error),
            sources: vec!["predictor".into()],
            hide_alerts: false,
        };
        assert_eq!(sample().iter().filter(|l| f.accepts(l)).count(), 1);
    }

    #[test]
    fn floats_print_with_three_significant_digits_and_integers_whole() {
        let log = record(
            r#"{"t":0,"source":"learner","level":"INFO","message":"model published","oob_error":0.123456789,"n_star":12.3456,"seconds":1234.5678,"tiny":0.0000123456,"version":1765100000123,"w":-0.5}"#,
        );
        let shown = line(&log, false);
        assert!(
            shown.ends_with(
                "n_star=12.3 oob_error=0.123 seconds=1235 tiny=1.23e-5 version=1765100000123 w=-0.5"
            ),
            "{shown}"
        );
    }

    #[test]
    fn hidden_alerts_are_the_dashboards_alert_records_only() {
        let alert = record(
            r#"{"t":0,"source":"dashboard","level":"INFO","message":"alert","cid":"7","window":600}"#,
        );
        let other = record(r#"{"t":0,"source":"predictor","level":"INFO","message":"alert"}"#);
        let f = Filter {
            hide_alerts: true,
            ..Filter::default()
        };
        assert!(!f.accepts(&alert));
        assert!(f.accepts(&other));
        assert!(Filter::default().accepts(&alert));
    }

    #[test]
    fn grep_does_not_search_the_configuration_record() {
        let config = record(
            r#"{"t":0,"source":"predictor","level":"INFO","message":"effective configuration","config":"topic-models=models brokers=k:9092"}"#,
        );
        let published = record(
            r#"{"t":0,"source":"learner","level":"INFO","message":"model published","window":600}"#,
        );
        let f = Filter {
            grep: Some("model".into()),
            ..Filter::default()
        };
        assert!(!f.accepts(&config));
        assert!(f.accepts(&published));
        let f = Filter {
            grep: Some("configuration".into()),
            ..Filter::default()
        };
        assert!(f.accepts(&config), "the message itself is still searched");
    }

    #[test]
    fn times_are_utc_dates_and_bad_times_do_not_break_the_columns() {
        assert_eq!(timestamp(0.0), "1970-01-01 00:00:00.000");
        assert_eq!(timestamp(951_782_400.5), "2000-02-29 00:00:00.500");
        assert_eq!(timestamp(f64::NAN).len(), 23);
        assert_eq!(Level::of("warning"), Level::Warn);
        assert_eq!(Level::of("whatever"), Level::Info);
    }
}
