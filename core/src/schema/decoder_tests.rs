// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::schema::{SizeMsg, TweetMsg};

fn course() -> Decoder {
    Decoder::new(MarkLaw::COURSE)
}

fn params(key: &str, raw: &str) -> ParametersMsg {
    match course().decode(
        Topic::CascadeProperties,
        Some(key.as_bytes()),
        raw.as_bytes(),
    ) {
        Ok(Message::Properties(PropertiesMsg::Parameters(p))) => p,
        other => panic!("{raw}: {other:?}"),
    }
}

#[test]
fn parameters_with_a_null_or_numeric_msg_are_read() {
    for msg in ["null", "0", "false", "\"hi\""] {
        let raw = format!(
            r#"{{"cid":"196","msg":{msg},"n_obs":10,"n_supp":87.8,"params":[0.0097,0.00027],"n_star":0.34,"G1":57.9,"type":"parameters"}}"#
        );
        let p = params("600", &raw);
        assert_eq!((p.cid.as_str(), p.n_obs, p.t_obs), ("196", 10, Some(600)));
        assert_eq!((p.n_star, p.g1), (0.34, 57.9), "{raw}");
    }
    assert_eq!(params("600", r#"{"cid":"1","msg":null,"n_obs":10,"n_supp":1,"params":[0.01,0.001],"n_star":0.3,"G1":1,"type":"parameters"}"#).msg, "");
}

#[test]
fn parameters_of_2020_get_n_star_and_g1_from_the_mark_law() {
    let raw = r#"{"cid":"59","msg":"","n_obs":11,"n_supp":110.6,"params":[0.0193,0.000202],"type":"parameters"}"#;
    let p = params("1200", raw);
    // E[m] = 10 (2.4 - 1) / (2.4 - 2) = 35.
    let n_star = 0.0193 * 35.0;
    assert!((p.n_star - n_star).abs() < 1e-12, "{}", p.n_star);
    assert!((p.g1 - 110.6 * (1.0 - n_star)).abs() < 1e-9, "{}", p.g1);
    assert_eq!(p.t_obs, Some(1200));
    // The completed message says n_supp = G1 / (1 - n*) again.
    assert!((p.g1 / (1.0 - p.n_star) - p.n_supp).abs() < 1e-9);
}

#[test]
fn the_configured_mark_law_is_the_one_that_completes_2020_parameters() {
    let n_star = |decoder: Decoder, raw: &[u8]| match decoder.decode(
        Topic::CascadeProperties,
        Some(b"600"),
        raw,
    ) {
        Ok(Message::Properties(PropertiesMsg::Parameters(p))) => Ok(p.n_star),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.to_string()),
    };
    let raw = br#"{"cid":"59","msg":"","n_obs":11,"n_supp":100,"params":[0.01,0.001],"type":"parameters"}"#;
    let course_n = n_star(course(), raw).unwrap();
    let mishra_n = n_star(Decoder::new(MarkLaw::MISHRA), raw).unwrap();
    assert!((course_n - 0.01 * 35.0).abs() < 1e-12, "{course_n}");
    // Mishra et al.: E[m] = 1 (2.016 - 1) / (2.016 - 2) = 63.5.
    assert!((mishra_n - 0.01 * 63.5).abs() < 1e-9, "{mishra_n}");
    // p E[m] = 0.2 * 35 = 7: no finite prediction, refused saying why.
    let raw = br#"{"cid":"59","msg":"","n_obs":11,"n_supp":100,"params":[0.2,0.001],"type":"parameters"}"#;
    let err = n_star(course(), raw).unwrap_err();
    assert!(err.contains("n* = p E[m]") && err.contains(">= 1"), "{err}");
}

#[test]
fn parameters_that_carry_n_star_and_g1_keep_them() {
    let p = params(
        "600",
        r#"{"type":"parameters","cid":"tw23981","msg":"blah blah","n_obs":32,"n_supp":120,"params":[0.0123,0.0031],"n_star":0.43,"G1":68.4}"#,
    );
    assert_eq!((p.n_star, p.g1, p.n_supp), (0.43, 68.4, 120.0));
}

#[test]
fn course_sizes_read_numeric_ids_and_take_the_window_from_the_key() {
    let raw = br#"{"type":"size","cid":196,"n_tot":127.0,"t_end":4329}"#;
    let msg = course()
        .decode(Topic::CascadeProperties, Some(b"1200"), raw)
        .unwrap();
    let Message::Properties(PropertiesMsg::Size(SizeMsg {
        cid, n_tot, t_obs, ..
    })) = msg
    else {
        panic!()
    };
    assert_eq!((cid.as_str(), n_tot, t_obs), ("196", 127, Some(1200)));
}

#[test]
fn course_samples_take_the_window_from_the_key() {
    let raw = br#"{"W":0.16,"X":[0.00055,0.717,31.8],"cid":"96","type":"sample"}"#;
    let Message::Sample(s) = course().decode(Topic::Samples, Some(b"1200"), raw).unwrap() else {
        panic!()
    };
    assert_eq!((s.cid.as_str(), s.t_obs, s.w), ("96", 1200, 0.16));
    assert_eq!(s.x, [0.00055, 0.717, 31.8]);
    assert!(s.features.is_empty());
    let err = course()
        .decode(Topic::Samples, Some(b"None"), raw)
        .unwrap_err();
    assert!(err.to_string().contains("nor a window in the key"), "{err}");
}

#[test]
fn samples_read_w_in_either_case_and_refuse_two_that_disagree() {
    let read = |raw: &str| course().decode(Topic::Samples, Some(b"600"), raw.as_bytes());
    for raw in [
        r#"{"type":"sample","cid":"9","X":[1,2,3],"w":0.5}"#,
        r#"{"type":"sample","cid":"9","X":[1,2,3],"W":0.5}"#,
        r#"{"type":"sample","cid":"9","X":[1,2,3],"W":0.5,"w":0.5}"#,
    ] {
        let Ok(Message::Sample(s)) = read(raw) else {
            panic!("{raw}")
        };
        assert_eq!((s.w, s.t_obs), (0.5, 600), "{raw}");
    }
    let err = read(r#"{"type":"sample","cid":"9","X":[1],"W":0.5,"w":0.7}"#).unwrap_err();
    assert!(err.to_string().contains("disagree"), "{err}");
    let err = read(r#"{"type":"sample","cid":"9","X":[1]}"#).unwrap_err();
    assert!(err.to_string().contains("neither W nor w"), "{err}");
}

#[test]
fn four_element_params_carry_n_star_and_g1() {
    let p = params(
        "600",
        r#"{"type":"parameters","cid":"3","msg":"","n_obs":10,"n_supp":80,"params":[0.01,0.0003,0.35,52]}"#,
    );
    assert_eq!((p.params, p.n_star, p.g1), ([0.01, 0.0003], 0.35, 52.0));
    // With the fields too, they must agree.
    let p = params(
        "600",
        r#"{"type":"parameters","cid":"3","n_obs":10,"n_supp":80,"params":[0.01,0.0003,0.35,52],"n_star":0.35,"G1":52}"#,
    );
    assert_eq!((p.n_star, p.g1), (0.35, 52.0));
    for raw in [
        r#"{"type":"parameters","cid":"3","n_obs":10,"n_supp":80,"params":[0.01,0.0003,0.35,52],"G1":50}"#,
        r#"{"type":"parameters","cid":"3","n_obs":10,"n_supp":80,"params":[0.01,0.0003,0.35]}"#,
    ] {
        let err = course()
            .decode(Topic::CascadeProperties, Some(b"600"), raw.as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("params"), "{raw}: {err}");
    }
}

#[test]
fn alerts_and_stats_of_2020_read_lowercase_t_obs() {
    let Message::Alert(a) = course()
        .decode(
            Topic::Alerts,
            None,
            br#"{"cid":"196","msg":"","n_tot":412,"t_obs":600,"type":"alert"}"#,
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((a.cid.as_str(), a.t_obs, a.n_tot), ("196", 600, 412.0));
    let Message::Stat(s) = course()
        .decode(
            Topic::Stats,
            None,
            br#"{"ARE":2.40,"cid":"96","t_obs":600,"type":"stat"}"#,
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((s.cid.as_str(), s.t_obs, s.are), ("96", 600, 2.4));
}

#[test]
fn official_2021_alerts_and_stats_are_read() {
    let raw = br#"{"type":"alert","cid":"tw23981","msg":"blah blah","T_obs":600,"n_tot":158}"#;
    assert_eq!(
        course().decode(Topic::Alerts, None, raw).unwrap().window(),
        Some(600)
    );
    let raw = br#"{"type":"stat","cid":"tw23981","T_obs":1200,"ARE":0.93}"#;
    assert_eq!(
        course().decode(Topic::Stats, None, raw).unwrap().window(),
        Some(1200)
    );
}

#[test]
fn series_keyed_none_read_their_window_from_the_value() {
    let raw = br#"{"type":"serie","cid":196,"msg":null,"T_obs":600,"tweets":[[1500,592],[1531,88],[2300,10]]}"#;
    let Message::Series(s) = course()
        .decode(Topic::CascadeSeries, Some(b"None"), raw)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((s.cid.as_str(), s.t_obs, s.tweets.len()), ("196", 600, 3));
}

#[test]
fn tweets_of_2021_carry_tweet_id_and_a_null_msg() {
    let raw = br#"{"type":"tweet","msg":null,"t":1234,"m":1234,"source":0,"info":"blabla","tweet_id":1111}"#;
    let Message::Tweet(TweetMsg::Tweet(t)) = course().decode(Topic::Tweets, None, raw).unwrap()
    else {
        panic!()
    };
    assert_eq!(t.cascade_id().as_deref(), Some("1111"));
}

#[test]
fn keys_name_windows_as_integers_or_integral_floats_only() {
    assert_eq!(window_of_key(Some(b"600")), Some(600));
    assert_eq!(window_of_key(Some(b" 1200.0 ")), Some(1200));
    for bad in [&b"None"[..], b"", b"0", b"600.5", b"-600"] {
        assert_eq!(window_of_key(Some(bad)), None, "{bad:?}");
    }
    assert_eq!(window_of_key(None), None);
}

#[test]
fn pickled_course_models_are_refused_with_a_reason() {
    // The first bytes of a Python pickle (protocol 4), as course learners
    // publish their forests.
    let pickle = b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x08sklearn";
    let err = course()
        .decode(Topic::Models, Some(b"600"), pickle)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("not a valid models message"),
        "{err}"
    );
}
