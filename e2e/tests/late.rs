//! Through a real broker, a cascade that resumes after a silence longer
//! than the termination delay is late, not reopened: the collector sends
//! one series per window for it and one size, counting only what came
//! before the silence. Needs the broker of scripts/test.sh
//! (TWEETOSCOPE_TEST_BROKERS).

use std::collections::BTreeMap;
use std::time::Duration;

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Injector, Record, read_topic};

fn retweet(cid: u32, t: f64) -> Vec<u8> {
    format!(
        r#"{{"type":"retweet","msg":"","t":{t},"m":{},"source":1,"info":"cascade={cid}"}}"#,
        100.0 + t
    )
    .into_bytes()
}

/// `field` of every record of `kind`, by cid, in the order read.
fn by_cid(records: &[Record], kind: &str, field: &str) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for v in records.iter().map(Record::json) {
        if v["type"] != kind {
            continue;
        }
        let n = match field {
            "tweets" => v["tweets"].as_array().map_or(0, |a| a.len() as u64),
            f => v[f].as_u64().unwrap_or(u64::MAX),
        };
        out.entry(v["cid"].as_str().unwrap_or("?").to_owned())
            .or_default()
            .push(n);
    }
    out
}

#[test]
fn a_cascade_resuming_after_its_termination_is_late_over_kafka() {
    let mut d = Deployment::new("late");
    d.windows = "600".into();
    d.create_topics();
    let _collector = d.spawn(
        "collector",
        "collector",
        &["--termination", "1800", "--late-horizon", "1800"],
    );
    // Cascade 7: 12 tweets, 2,000 s of silence (it ends at 1,811 and is
    // remembered until 3,611), 12 more; cascade 8, then the end.
    let mut payloads: Vec<Vec<u8>> = (0..12).map(|k| retweet(7, f64::from(k))).collect();
    payloads.extend((0..12).map(|k| retweet(7, 2011.0 + f64::from(k))));
    payloads.extend((0..12).map(|k| retweet(8, 2100.0 + f64::from(k))));
    payloads.push(br#"{"type":"end","source":1}"#.to_vec());
    let inj = Injector::new(&d.brokers).unwrap_or_else(|e| panic!("{e}"));
    let tweets = d.topic(Topic::Tweets);
    for p in &payloads {
        inj.send(&tweets, Some(0), Some("1"), p)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    inj.flush().unwrap_or_else(|e| panic!("{e}"));

    // Cascade 8's size comes with the end, after everything else; the
    // pause lets any other record of that batch land before reading.
    let limit = Duration::from_secs(120);
    let has_8 = |r: &[Record]| by_cid(r, "size", "n_tot").contains_key("8");
    read_topic(&d.brokers, &d.topic(Topic::CascadeProperties), limit, has_8);
    std::thread::sleep(Duration::from_secs(3));
    let props = read_topic(&d.brokers, &d.topic(Topic::CascadeProperties), limit, has_8);
    let series = read_topic(&d.brokers, &d.topic(Topic::CascadeSeries), limit, |r| {
        by_cid(r, "serie", "tweets").contains_key("8")
    });
    let want: BTreeMap<String, Vec<u64>> =
        [("7".to_owned(), vec![12]), ("8".to_owned(), vec![12])].into();
    assert_eq!(by_cid(&series, "serie", "tweets"), want, "series (n_obs)");
    assert_eq!(by_cid(&props, "size", "n_tot"), want, "sizes (n_tot)");
}
