use super::*;
use crate::schema::SeriesMsg;

/// Messages from their JSON: new optional fields do not break these tests.
fn decode(topic: Topic, json: &str) -> Message {
    Message::decode(topic, None, json.as_bytes()).unwrap()
}

fn render(metrics: &Metrics) -> String {
    String::from_utf8(metrics.render()).unwrap()
}

fn stat(are: f64) -> Message {
    let json = format!(
        r#"{{"type":"stat","cid":"cascade-42","T_obs":600,"ARE":{are},"ARE_hawkes":{}}}"#,
        2.0 * are
    );
    decode(Topic::Stats, &json)
}

#[test]
fn stats_out_of_the_predictor_fill_the_are_histograms_per_window_without_cascade_ids() {
    let metrics = Metrics::new().unwrap();
    let mut flow = StageMetrics::new(&metrics, "predictor");
    flow.handled(
        Topic::CascadeProperties,
        Some(600),
        &[stat(0.1), stat(0.3)],
        Duration::ZERO,
    );
    let text = render(&metrics);
    assert!(
        text.contains("tweetoscope_predictor_are_ratio_count{window=\"600\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_predictor_are_ratio_sum{window=\"600\"} 0.4"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_predictor_are_hawkes_ratio_count{window=\"600\"} 2"),
        "{text}"
    );
    assert!(!text.contains("cascade-42"), "{text}");
}

#[test]
fn a_series_without_parameters_out_is_a_failed_fit_and_parameters_are_ok_or_near_critical() {
    let metrics = Metrics::new().unwrap();
    let mut flow = StageMetrics::new(&metrics, "estimator");
    let params = |n_star: f64| {
        let json = format!(
            r#"{{"type":"parameters","cid":"1","msg":"","n_obs":10,"n_supp":12.0,"params":[0.01,0.001],"n_star":{n_star},"G1":3.0,"T_obs":1200}}"#
        );
        decode(Topic::CascadeProperties, &json)
    };
    let d = Duration::from_millis(2);
    flow.handled(Topic::CascadeSeries, Some(1200), &[params(0.5)], d);
    flow.handled(Topic::CascadeSeries, Some(1200), &[params(0.99)], d);
    flow.handled(Topic::CascadeSeries, Some(1200), &[], d);
    let text = render(&metrics);
    for outcome in ["ok", "near_critical", "failed"] {
        let line =
            format!("tweetoscope_estimator_fits_total{{outcome=\"{outcome}\",window=\"1200\"}} 1");
        assert!(text.contains(&line), "{line} not in {text}");
    }
    assert!(
        text.contains(
            "tweetoscope_estimator_fit_duration_seconds_count{outcome=\"ok\",window=\"1200\"} 1"
        ),
        "{text}"
    );
}

#[test]
fn series_and_alerts_are_counted_per_window() {
    let metrics = Metrics::new().unwrap();
    let mut flow = StageMetrics::new(&metrics, "collector");
    let series = Message::Series(SeriesMsg::new(
        "1".into(),
        "m".into(),
        600,
        vec![(0.0, 1.0)],
    ));
    flow.handled(
        Topic::Tweets,
        None,
        &[series.clone(), series],
        Duration::ZERO,
    );
    let alert = decode(
        Topic::Alerts,
        r#"{"type":"alert","cid":"1","msg":"","T_obs":600,"n_tot":5000.0}"#,
    );
    flow.handled(
        Topic::CascadeProperties,
        Some(600),
        &[alert],
        Duration::ZERO,
    );
    let text = render(&metrics);
    assert!(
        text.contains("tweetoscope_collector_series_emitted_total{window=\"600\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_collector_predictions_total{window=\"600\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_collector_predicted_size_bucket{window=\"600\",le=\"3000\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_collector_predicted_size_bucket{window=\"600\",le=\"10000\"} 1"),
        "{text}"
    );
}

#[test]
fn a_stage_counter_is_exported_as_the_stage_counts_it_and_not_counted_twice() {
    let metrics = Metrics::new().unwrap();
    let mut flow = StageMetrics::new(&metrics, "collector");
    flow.counter("late_tweets", "h", &[], 3);
    flow.counter("late_tweets", "h", &[], 3);
    flow.counter("late_tweets", "h", &[], 5);
    flow.gauge("open_cascades", "h", &[], 7.0);
    let text = render(&metrics);
    assert!(
        text.contains("tweetoscope_collector_late_tweets_total 5"),
        "{text}"
    );
    assert!(
        text.contains("tweetoscope_collector_open_cascades 7"),
        "{text}"
    );
}

#[test]
fn an_unbounded_label_such_as_a_cascade_id_is_refused() {
    let metrics = Metrics::new().unwrap();
    let mut flow = StageMetrics::new(&metrics, "predictor");
    flow.gauge("predicted", "h", &[("cid", "42")], 1.0);
    flow.counter("alerts", "h", &[("cascade", "42")], 1);
    let text = render(&metrics);
    assert!(!text.contains("tweetoscope_predictor_predicted"), "{text}");
    assert!(!text.contains("tweetoscope_predictor_alerts"), "{text}");
}
