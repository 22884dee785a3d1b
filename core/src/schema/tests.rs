// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn roundtrip(topic: Topic, golden: &str) -> Message {
    let msg = Message::decode(topic, None, golden.as_bytes()).unwrap();
    let written = String::from_utf8(msg.encode()).unwrap();
    assert_eq!(written, golden, "golden JSON of {topic} changed");
    msg
}

#[test]
fn tweet_golden_json_round_trips() {
    let msg = roundtrip(
        Topic::Tweets,
        r#"{"type":"tweet","msg":"hello","t":1527,"m":592,"source":2,"info":"cascade=19707"}"#,
    );
    let Message::Tweet(TweetMsg::Tweet(t)) = msg else {
        panic!("not a tweet")
    };
    assert_eq!(t.cascade_id().as_deref(), Some("19707"));
    assert_eq!(t.t, 1527.0);
}

#[test]
fn tweets_of_the_2021_edition_and_unknown_fields_are_read() {
    let raw = r#"{"type":"retweet","msg":"","t":12.0,"m":"88","source":"3","info":"","tweet_id":42,"lang":"fr"}"#;
    let Message::Tweet(TweetMsg::Retweet(t)) =
        Message::decode(Topic::Tweets, None, raw.as_bytes()).unwrap()
    else {
        panic!("not a retweet")
    };
    assert_eq!(
        (t.source, t.m, t.cascade_id().as_deref()),
        (3, 88.0, Some("42"))
    );
}

#[test]
fn watermark_and_end_round_trip() {
    roundtrip(Topic::Tweets, r#"{"type":"watermark","source":2,"t":1800}"#);
    roundtrip(Topic::Tweets, r#"{"type":"end","source":2}"#);
}

#[test]
fn series_golden_json_round_trips() {
    roundtrip(
        Topic::CascadeSeries,
        r#"{"type":"serie","cid":"19707","msg":"m","T_obs":600,"tweets":[[0,592],[31.5,88]]}"#,
    );
}

#[test]
fn properties_golden_json_round_trip() {
    roundtrip(
        Topic::CascadeProperties,
        r#"{"type":"size","cid":"19707","n_tot":127,"t_end":4329,"T_obs":600}"#,
    );
    roundtrip(
        Topic::CascadeProperties,
        r#"{"type":"parameters","cid":"19707","msg":"","n_obs":32,"n_supp":95.2,"params":[0.01,0.002],"n_star":0.71,"G1":27.6,"T_obs":600}"#,
    );
}

#[test]
fn course_properties_take_their_window_from_the_key() {
    let raw = br#"{"type":"size","cid":19707,"n_tot":127,"t_end":4329}"#;
    let msg = Message::decode(Topic::CascadeProperties, Some(b"1200"), raw).unwrap();
    assert_eq!(msg.window(), Some(1200));
    assert!(Message::decode(Topic::CascadeProperties, None, raw).is_err());
}

#[test]
fn sample_alert_stat_golden_json_round_trip() {
    roundtrip(
        Topic::Samples,
        r#"{"type":"sample","cid":"19707","T_obs":600,"X":[0.001,0.7,27.6],"W":0.42}"#,
    );
    roundtrip(
        Topic::Alerts,
        r#"{"type":"alert","cid":"19707","msg":"","T_obs":600,"n_tot":158.0}"#,
    );
    roundtrip(
        Topic::Stats,
        r#"{"type":"stat","cid":"19707","T_obs":600,"ARE":0.093}"#,
    );
}

#[test]
fn a_cold_start_alert_says_how_it_was_made_and_an_unknown_basis_still_decodes() {
    roundtrip(
        Topic::Alerts,
        r#"{"type":"alert","cid":"7","msg":"","T_obs":600,"n_tot":31.0,"w":0.01,"cold_start":"near_critical"}"#,
    );
    let raw =
        br#"{"type":"alert","cid":"7","T_obs":600,"n_tot":31.0,"cold_start":"from_the_future"}"#;
    match Message::decode(Topic::Alerts, None, raw).unwrap() {
        Message::Alert(a) => assert_eq!(a.cold_start, Some(super::ColdBasis::Other)),
        other => panic!("not an alert: {other:?}"),
    }
}

#[test]
fn log_records_keep_structured_fields() {
    let msg = roundtrip(
        Topic::Logs,
        r#"{"t":1700000000.0,"source":"collector","level":"INFO","message":"up","partition":3}"#,
    );
    assert_eq!(msg.key().as_deref(), Some("collector"));
}

#[test]
fn malformed_payloads_are_rejected_with_a_reason() {
    let cases: [(Topic, &[u8]); 6] = [
        (Topic::Tweets, b"not json"),
        (Topic::Tweets, br#"{"type":"tweet","t":1,"m":1,"source":1,"info":""}"#),
        (Topic::CascadeSeries, br#"{"type":"serie","cid":"1","T_obs":600,"tweets":[[5,1],[1,1]]}"#),
        (Topic::CascadeSeries, br#"{"type":"serie","cid":"1","T_obs":"x","tweets":[]}"#),
        (Topic::CascadeProperties, br#"{"type":"parameters","cid":"1","n_obs":3,"n_supp":1,"params":[-1,0.1],"n_star":0.1,"G1":1,"T_obs":600}"#),
        (Topic::Samples, br#"{"type":"sample","cid":"1","T_obs":600,"X":[1],"W":"big"}"#),
    ];
    for (topic, payload) in cases {
        let err = Message::decode(topic, None, payload).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn window_keyed_messages_are_keyed_by_window() {
    let s = Message::Series(SeriesMsg::new(
        "1".into(),
        String::new(),
        600,
        vec![(0.0, 1.0)],
    ));
    assert_eq!(s.key().as_deref(), Some("600"));
    assert!(Topic::CascadeSeries.is_window_keyed() && !Topic::Tweets.is_window_keyed());
}

#[test]
fn failed_fit_golden_json_round_trips() {
    let msg = roundtrip(
        Topic::CascadeProperties,
        r#"{"type":"failed","cid":"19707","T_obs":600,"reason":"series is empty"}"#,
    );
    assert_eq!(msg.window(), Some(600));
}

#[test]
fn a_series_with_another_type_is_refused() {
    let raw = r#"{"type":"unknown","cid":"1","msg":"","T_obs":600,"tweets":[[0,10]]}"#;
    let err = Message::decode(Topic::CascadeSeries, None, raw.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("not a series"), "{err}");
}
