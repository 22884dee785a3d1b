//! The live dashboard's state: what the `dashboard` binary and `tweetoscope
//! run` show on their web page and terminal. Pure and bounded: fed with
//! alerts, stats and the producers heard, at times the caller gives (no
//! clock, no I/O), and every structure has a fixed capacity, so memory stays
//! flat however long it runs:
//! - [`RecentKeys`]: the recent `(cid, T_obs)` keys, to drop redelivered messages;
//! - [`top`]: the K most popular predicted cascades;
//! - [`median`]: the running median ARE of each window over recent stats;
//! - [`history`]: those medians sampled over time, for the chart;
//! - [`rate`]: alerts and stats per second;
//! - [`health`]: the producing stages and when they were last heard.

pub mod health;
pub mod history;
pub mod median;
pub mod rate;
pub mod top;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dedupe::RecentKeys;
use crate::schema::{AlertMsg, StatMsg, Topic, Window};
use health::{ProducerHealth, Producers};
use history::{History, Point};
use median::RecentMedian;
use rate::Rate;
use top::{Top, TopEntry};

/// The bounds and periods of a [`Board`].
#[derive(Debug, Clone, PartialEq)]
pub struct BoardConfig {
    /// Cascades shown in the top list.
    pub top_k: usize,
    /// A top entry older than this (seconds) leaves the list; `None`: never.
    pub top_ttl: Option<f64>,
    /// `(cid, T_obs)` keys remembered to drop duplicates.
    pub dedupe: usize,
    /// Stats per window behind the running median.
    pub recent: usize,
    /// Windows tracked; stats for further windows are counted and dropped.
    pub windows: usize,
    /// Chart points kept, and seconds between two points.
    pub history: usize,
    pub sample_every: f64,
    /// Seconds over which rates are averaged.
    pub rate_span: u32,
    /// Producers remembered, and the silence (seconds) that makes one stale.
    pub producers: usize,
    pub stale_after: f64,
    /// The pipeline's delivery guarantee (`--delivery`), shown on the page.
    pub delivery: &'static str,
}

impl Default for BoardConfig {
    fn default() -> Self {
        Self {
            top_k: 10,
            top_ttl: Some(600.0),
            dedupe: 100_000,
            recent: 1000,
            windows: 16,
            history: 720,
            sample_every: 2.0,
            rate_span: 10,
            producers: 32,
            stale_after: 30.0,
            delivery: "at-least-once",
        }
    }
}

/// The accuracy of one window.
#[derive(Debug, Clone)]
struct WindowAccuracy {
    scored: u64,
    are: RecentMedian,
    are_hawkes: RecentMedian,
}

/// What became of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New, and (for an alert) now among the top cascades.
    Top,
    /// New.
    Counted,
    /// A redelivery of a `(cid, T_obs)` already counted.
    Duplicate,
    /// A stat for a window past the tracked bound.
    Dropped,
}

#[derive(Debug)]
pub struct Board {
    config: BoardConfig,
    alerts_seen: RecentKeys,
    stats_seen: RecentKeys,
    top: Top,
    windows: BTreeMap<Window, WindowAccuracy>,
    history: History,
    alerts: Rate,
    stats: Rate,
    producers: Producers,
    duplicates: u64,
    dropped: u64,
    last_alert: Option<f64>,
    last_stat: Option<f64>,
    started: Option<f64>,
}

impl Board {
    pub fn new(config: BoardConfig) -> Self {
        Self {
            alerts_seen: RecentKeys::new(config.dedupe),
            stats_seen: RecentKeys::new(config.dedupe),
            // The pool is larger than the list shown so that expired
            // entries are replaced by the next best ones.
            top: Top::new(config.top_k.max(1) * 4),
            windows: BTreeMap::new(),
            history: History::new(config.history, config.sample_every),
            alerts: Rate::new(config.rate_span),
            stats: Rate::new(config.rate_span),
            producers: Producers::new(config.producers),
            duplicates: 0,
            dropped: 0,
            last_alert: None,
            last_stat: None,
            started: None,
            config,
        }
    }

    pub fn config(&self) -> &BoardConfig {
        &self.config
    }

    /// A prediction arrived at `now`.
    pub fn alert(&mut self, a: &AlertMsg, now: f64) -> Outcome {
        self.started.get_or_insert(now);
        if !self.alerts_seen.insert(&(a.cid.as_str(), a.t_obs)) {
            self.duplicates += 1;
            return Outcome::Duplicate;
        }
        self.alerts.record(now);
        self.last_alert = Some(now);
        let shown = self.top.offer(a, now)
            && self
                .top
                .entries()
                .iter()
                .take(self.config.top_k)
                .any(|e| e.cid == a.cid);
        if shown {
            Outcome::Top
        } else {
            Outcome::Counted
        }
    }

    /// A prediction error arrived at `now`.
    pub fn stat(&mut self, s: &StatMsg, now: f64) -> Outcome {
        self.started.get_or_insert(now);
        if !self.stats_seen.insert(&(s.cid.as_str(), s.t_obs)) {
            self.duplicates += 1;
            return Outcome::Duplicate;
        }
        if !self.windows.contains_key(&s.t_obs) && self.windows.len() >= self.config.windows {
            self.dropped += 1;
            return Outcome::Dropped;
        }
        self.stats.record(now);
        self.last_stat = Some(now);
        let recent = self.config.recent;
        let w = self
            .windows
            .entry(s.t_obs)
            .or_insert_with(|| WindowAccuracy {
                scored: 0,
                are: RecentMedian::new(recent),
                are_hawkes: RecentMedian::new(recent),
            });
        w.scored += 1;
        w.are.push(s.are);
        w.are_hawkes.push(s.are_hawkes.unwrap_or(s.are));
        self.sample(now);
        Outcome::Counted
    }

    /// `instance` produced a message on `topic` at `now` (called by the
    /// transport, which knows the producer; alerts and stats do not say).
    pub fn heard(&mut self, instance: &str, topic: Topic, now: f64) {
        self.producers.heard(instance, topic, now);
    }

    /// Time passes: samples the chart and expires the top list.
    pub fn tick(&mut self, now: f64) {
        self.sample(now);
        if let Some(ttl) = self.config.top_ttl {
            self.top.expire(now - ttl);
        }
    }

    fn sample(&mut self, now: f64) {
        if self.windows.is_empty() || !self.history.due(now) {
            return;
        }
        let medians = self
            .windows
            .iter()
            .filter_map(|(w, acc)| acc.are.median().map(|m| (*w, m)))
            .collect();
        self.history.push(Point { t: now, medians });
    }

    /// The cascades shown, largest predicted size first.
    pub fn top(&self) -> &[TopEntry] {
        let n = self.config.top_k.min(self.top.entries().len());
        &self.top.entries()[..n]
    }

    /// Everything the page shows, as of `now`.
    pub fn snapshot(&self, now: f64) -> Snapshot {
        let age = |t: Option<f64>| t.map(|t| (now - t).max(0.0));
        Snapshot {
            now,
            delivery: self.config.delivery,
            uptime: age(self.started).unwrap_or(0.0),
            top: self.top().to_vec(),
            windows: self
                .windows
                .iter()
                .map(|(w, acc)| WindowSummary {
                    window: *w,
                    scored: acc.scored,
                    median_are: acc.are.median(),
                    median_are_hawkes: acc.are_hawkes.median(),
                    recent: acc.are.len(),
                })
                .collect(),
            history: self.history.points(),
            rates: Rates {
                alerts_per_s: self.alerts.per_second(now),
                stats_per_s: self.stats.per_second(now),
                alerts_total: self.alerts.total(),
                stats_total: self.stats.total(),
                duplicates: self.duplicates,
                dropped: self.dropped,
            },
            freshness: Freshness {
                alerts_age: age(self.last_alert),
                stats_age: age(self.last_stat),
                stale_after: self.config.stale_after,
            },
            producers: self.producers.health(now, self.config.stale_after),
        }
    }
}

/// The page's data (`/api/state`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub now: f64,
    /// Seconds since the first alert or stat.
    pub uptime: f64,
    pub top: Vec<TopEntry>,
    pub windows: Vec<WindowSummary>,
    pub history: Vec<Point>,
    pub rates: Rates,
    pub freshness: Freshness,
    pub producers: Vec<ProducerHealth>,
    /// See [`BoardConfig::delivery`].
    pub delivery: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSummary {
    pub window: Window,
    /// Stats counted since the start.
    pub scored: u64,
    /// Over the `recent` last stats.
    pub median_are: Option<f64>,
    /// The same for the w = 1 prediction.
    pub median_are_hawkes: Option<f64>,
    pub recent: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rates {
    pub alerts_per_s: f64,
    pub stats_per_s: f64,
    pub alerts_total: u64,
    pub stats_total: u64,
    pub duplicates: u64,
    /// Stats for windows past the tracked bound.
    pub dropped: u64,
}

/// Seconds since the last alert and stat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freshness {
    pub alerts_age: Option<f64>,
    pub stats_age: Option<f64>,
    pub stale_after: f64,
}

#[cfg(test)]
mod tests;
