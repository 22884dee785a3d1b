//! The board as the page sees it: dedupe, top list, medians, bounds, rates.

use super::*;

fn alert(cid: &str, t_obs: Window, n_tot: f64) -> AlertMsg {
    AlertMsg {
        kind: "alert".into(),
        cid: cid.into(),
        msg: String::new(),
        t_obs,
        n_tot,
        w: Some(0.8),
        n_obs: Some(12),
        n_tot_median: None,
        n_tot_low: None,
        n_tot_high: None,
        cold_start: None,
    }
}

fn stat(cid: &str, t_obs: Window, are: f64) -> StatMsg {
    StatMsg {
        kind: "stat".into(),
        cid: cid.into(),
        t_obs,
        are,
        are_hawkes: Some(are * 2.0),
    }
}

#[test]
fn a_redelivered_alert_or_stat_is_counted_once() {
    let mut b = Board::new(BoardConfig::default());
    assert_eq!(b.alert(&alert("1", 600, 50.0), 0.0), Outcome::Top);
    assert_eq!(b.alert(&alert("1", 600, 50.0), 0.0), Outcome::Duplicate);
    assert_eq!(b.stat(&stat("1", 600, 0.2), 0.0), Outcome::Counted);
    assert_eq!(b.stat(&stat("1", 600, 0.9), 0.0), Outcome::Duplicate);
    let s = b.snapshot(1.0);
    assert_eq!(s.rates.alerts_total, 1);
    assert_eq!(s.rates.stats_total, 1);
    assert_eq!(s.rates.duplicates, 2);
    assert_eq!(s.windows[0].median_are, Some(0.2));
}

#[test]
fn the_top_list_shows_k_cascades_largest_first() {
    let config = BoardConfig {
        top_k: 2,
        ..BoardConfig::default()
    };
    let mut b = Board::new(config);
    b.alert(&alert("small", 600, 10.0), 0.0);
    b.alert(&alert("big", 600, 90.0), 0.0);
    b.alert(&alert("mid", 600, 40.0), 0.0);
    assert_eq!(b.alert(&alert("tiny", 600, 1.0), 0.0), Outcome::Counted);
    let top: Vec<&str> = b.top().iter().map(|e| e.cid.as_str()).collect();
    assert_eq!(top, ["big", "mid"]);
    let s = b.snapshot(0.0);
    assert_eq!(s.top.len(), 2);
    assert_eq!(s.top[0].window, 600);
    assert_eq!(s.top[0].n_obs, Some(12));
}

#[test]
fn expired_top_entries_give_way_to_the_next_best() {
    let config = BoardConfig {
        top_k: 1,
        top_ttl: Some(60.0),
        ..BoardConfig::default()
    };
    let mut b = Board::new(config);
    b.alert(&alert("old", 600, 90.0), 0.0);
    b.alert(&alert("new", 600, 40.0), 50.0);
    assert_eq!(b.top()[0].cid, "old");
    b.tick(70.0);
    assert_eq!(b.top()[0].cid, "new");
}

#[test]
fn the_median_are_is_kept_per_window() {
    let mut b = Board::new(BoardConfig::default());
    for (i, are) in [0.1, 0.3, 0.2].into_iter().enumerate() {
        b.stat(&stat(&i.to_string(), 600, are), 0.0);
    }
    b.stat(&stat("0", 1200, 0.7), 0.0);
    let s = b.snapshot(0.0);
    let by_window: Vec<(Window, u64, Option<f64>, Option<f64>)> = s
        .windows
        .iter()
        .map(|w| (w.window, w.scored, w.median_are, w.median_are_hawkes))
        .collect();
    assert_eq!(
        by_window,
        [
            (600, 3, Some(0.2), Some(0.4)),
            (1200, 1, Some(0.7), Some(1.4))
        ]
    );
}

#[test]
fn the_chart_gets_a_point_per_period_with_each_windows_median() {
    let config = BoardConfig {
        sample_every: 1.0,
        ..BoardConfig::default()
    };
    let mut b = Board::new(config);
    b.stat(&stat("a", 600, 0.5), 10.0);
    b.stat(&stat("b", 600, 0.1), 10.5); // within the period: no new point
    b.stat(&stat("a", 1200, 0.3), 11.0);
    b.tick(11.5);
    b.tick(12.0);
    let h = b.snapshot(12.0).history;
    let ts: Vec<f64> = h.iter().map(|p| p.t).collect();
    assert_eq!(ts, [10.0, 11.0, 12.0]);
    assert_eq!(h[0].medians, BTreeMap::from([(600, 0.5)]));
    assert_eq!(h[2].medians, BTreeMap::from([(600, 0.3), (1200, 0.3)]));
}

#[test]
fn memory_stays_bounded_over_a_long_stream() {
    let config = BoardConfig {
        top_k: 5,
        dedupe: 1000,
        recent: 50,
        windows: 3,
        history: 20,
        sample_every: 1.0,
        producers: 4,
        ..BoardConfig::default()
    };
    let mut b = Board::new(config);
    for i in 0..100_000u32 {
        let now = f64::from(i) * 0.1;
        let cid = i.to_string();
        // Ten windows: only the first three are tracked.
        let window = 600 * (1 + i % 10);
        b.alert(&alert(&cid, window, f64::from(i % 977)), now);
        b.stat(&stat(&cid, window, f64::from(i % 7) / 10.0), now);
        b.heard(&format!("predictor-{}", i % 9), Topic::Stats, now);
        b.tick(now);
    }
    assert!(b.alerts_seen.len() <= 1000);
    assert!(b.stats_seen.len() <= 1000);
    assert!(b.top.entries().len() <= 20);
    assert_eq!(b.windows.len(), 3);
    assert!(b.windows.values().all(|w| w.are.len() <= 50));
    let s = b.snapshot(10_000.0);
    assert_eq!(s.history.len(), 20);
    assert_eq!(s.producers.len(), 4);
    assert_eq!(s.top.len(), 5);
    assert_eq!(s.rates.dropped, 70_000);
}

#[test]
fn rates_and_freshness_follow_the_clock() {
    let mut b = Board::new(BoardConfig {
        rate_span: 10,
        stale_after: 30.0,
        ..BoardConfig::default()
    });
    for i in 0..20 {
        b.alert(&alert(&i.to_string(), 600, 1.0), 100.0 + f64::from(i) * 0.5);
    }
    b.stat(&stat("1", 600, 0.1), 105.0);
    b.heard("predictor-7", Topic::Alerts, 109.5);
    let s = b.snapshot(109.5);
    assert_eq!(s.rates.alerts_per_s, 2.0);
    assert_eq!(s.rates.stats_per_s, 0.1);
    assert_eq!(s.freshness.alerts_age, Some(0.0));
    assert_eq!(s.freshness.stats_age, Some(4.5));
    assert_eq!(s.producers[0].status, "ok");
    let later = b.snapshot(200.0);
    assert_eq!(later.rates.alerts_per_s, 0.0);
    assert_eq!(later.producers[0].status, "stale");
    assert_eq!(later.uptime, 100.0);
}

#[test]
fn the_snapshot_serialises_to_the_json_the_page_reads() {
    let mut b = Board::new(BoardConfig::default());
    b.alert(&alert("42", 600, 150.0), 1.0);
    b.stat(&stat("42", 600, 0.25), 2.0);
    let json = serde_json::to_value(b.snapshot(3.0)).unwrap();
    assert_eq!(json["top"][0]["cid"], "42");
    assert_eq!(json["top"][0]["n_tot"], 150.0);
    assert_eq!(json["windows"][0]["window"], 600);
    assert_eq!(json["history"][0]["medians"]["600"], 0.25);
    assert_eq!(json["rates"]["alerts_total"], 1);
    assert_eq!(json["freshness"]["stats_age"], 1.0);
}
