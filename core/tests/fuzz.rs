//! Fuzzing with proptest: arbitrary bytes, and JSON that looks like the real
//! messages with arbitrary values, through the decoder of every topic and
//! into the stages that consume it, and arbitrary files through the NEWS
//! loader. Nothing may panic: bad input is an error, never a crash.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tweetoscope_core::collector::{Collector, CollectorConfig};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::hawkes::FitConfig;
use tweetoscope_core::learner::{Learner, LearnerConfig};
use tweetoscope_core::predictor::{Predictor, PredictorConfig};
use tweetoscope_core::schema::{Message, Topic};
use tweetoscope_core::stage::{Ctx, Origin, Stage};

/// Numbers that break things: huge, tiny, negative, non-integers, zero.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e308".to_owned()),
        Just("-1e308".to_owned()),
        Just("1e-320".to_owned()),
        Just("1700000000000".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("\"12\"".to_owned()),
        Just("null".to_owned()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN", |v| v.is_finite())
            .prop_map(|v| format!("{v:e}")),
    ]
}

/// A JSON object with the fields of any topic's messages, each present or
/// not, with odd values.
fn message_like() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        Just("tweet"),
        Just("retweet"),
        Just("watermark"),
        Just("end"),
        Just("serie"),
        Just("size"),
        Just("parameters"),
        Just("sample"),
        Just("model"),
        Just("unknown"),
    ];
    let field = prop_oneof![
        Just("t"),
        Just("m"),
        Just("source"),
        Just("T_obs"),
        Just("n_tot"),
        Just("t_end"),
        Just("n_obs"),
        Just("n_supp"),
        Just("n_star"),
        Just("G1"),
        Just("W"),
        Just("version"),
    ];
    let series = proptest::collection::vec((number(), number()), 0..6).prop_map(|v| {
        let items: Vec<String> = v.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
        format!("[{}]", items.join(","))
    });
    (
        kind,
        proptest::collection::vec((field, number()), 0..10),
        series,
        any::<bool>(),
    )
        .prop_map(|(kind, fields, series, with_cid)| {
            let mut parts = vec![format!("\"type\":\"{kind}\"")];
            parts.extend(fields.iter().map(|(k, v)| format!("\"{k}\":{v}")));
            parts.push(format!("\"tweets\":{series}"));
            parts.push(format!("\"params\":{series}"));
            parts.push(format!("\"X\":[1,2,{}]", fields.len()));
            if with_cid {
                parts.push("\"cid\":\"7\",\"info\":\"cascade=7\",\"msg\":\"m\"".into());
            }
            format!("{{{}}}", parts.join(",")).into_bytes()
        })
}

/// Decodes `payload` on every input topic and feeds what decodes to the
/// stages that consume it.
fn decode_and_handle(payload: &[u8], key: Option<&[u8]>, offset: i64) {
    let mut collector = Collector::new(CollectorConfig::default());
    let mut estimator = Estimator::new(FitConfig::default());
    let mut predictor = Predictor::new(PredictorConfig::default());
    let mut learner = Learner::new(LearnerConfig::default());
    let ctx = Ctx {
        now: 1.0,
        origin: Origin {
            partition: 0,
            offset,
        },
    };
    for topic in Topic::ALL {
        let Ok(msg) = Message::decode(topic, key, payload) else {
            continue;
        };
        let mut out = Vec::new();
        let stages: [&mut dyn Stage; 4] =
            [&mut collector, &mut estimator, &mut predictor, &mut learner];
        for stage in stages {
            if stage.inputs().contains(&topic) {
                let _ = stage.handle(msg.clone(), ctx, &mut out);
                stage.tick(1e9, &mut out);
            }
        }
        for m in &out {
            assert!(!m.encode().is_empty(), "an output encoded to nothing");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_on_any_topic_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
    ) {
        decode_and_handle(&payload, key.as_deref(), 0);
    }

    #[test]
    fn message_like_json_with_odd_values_never_panics(
        payload in message_like(),
        key in proptest::option::of(prop_oneof![Just(b"600".to_vec()), Just(b"x".to_vec())]),
    ) {
        decode_and_handle(&payload, key.as_deref(), 3);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_news_files_load_or_fail_with_an_error(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(
                prop_oneof![Just(b"1,2\n".to_vec()), Just(b"1e400,-3\n".to_vec()), Just(b"x\n".to_vec()), Just(b"0,1,z\r\n".to_vec())],
                0..10,
            ).prop_map(|rows| [b"time,magnitude\n".to_vec(), rows.concat()].concat()),
        ],
        index in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..100),
            proptest::collection::vec((0i64..12, -2i64..12), 0..5).prop_map(|rows| {
                let mut s = String::from("start_ind,end_ind\n");
                for (a, b) in rows {
                    s.push_str(&format!("{a},{b}\n"));
                }
                s.into_bytes()
            }),
        ],
    ) {
        let dir = std::env::temp_dir().join(format!("tweetoscope-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (d, i) = (dir.join("data.csv"), dir.join("index.csv"));
        std::fs::write(&d, &data).unwrap();
        std::fs::write(&i, &index).unwrap();
        if let Ok(set) = Dataset::load(&d, &i) {
            for c in 0..set.len() {
                let (times, marks) = set.cascade(c);
                prop_assert_eq!(times.len(), marks.len());
            }
        }
    }
}
