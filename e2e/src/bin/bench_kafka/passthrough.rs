//! The broker's own pass-through on this machine, now: the generator's
//! records produced as fast as it can and read back by a plain consumer
//! (no group, no stages), on a broker of its own. The pipeline's throughput
//! is reported as a share of it, so that runs on different machines (or
//! under different loads) compare.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::read_topic;

use crate::run::{Plan, deploy, generator_args, generator_counts};

/// Tweets per second from the generator's start to the last of its
/// records read back; and the tweets.
pub fn pass_through(plan: &Plan, logs: &std::path::Path) -> (f64, u64) {
    let (broker, d) = deploy(plan, logs);
    // 0 until the generator has said how many records it wrote.
    let want = Arc::new(AtomicU64::new(0));
    let reader = {
        let (want, brokers, topic) = (want.clone(), d.brokers.clone(), d.topic(Topic::Tweets));
        std::thread::spawn(move || {
            let records = read_topic(&brokers, &topic, Duration::from_secs(1800), |r| {
                let w = want.load(Ordering::Relaxed);
                w > 0 && r.len() as u64 >= w
            });
            (records.len(), Instant::now())
        })
    };
    let args = generator_args(plan);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let mut g = d.spawn("generator", "generator", &args);
    assert!(
        g.wait(Duration::from_secs(1800)),
        "generator failed: {}",
        g.log_text()
    );
    let (tweets, records) = generator_counts(&g.log_text());
    want.store(records.max(1), Ordering::Relaxed);
    let (read, done) = reader
        .join()
        .unwrap_or_else(|_| panic!("the pass-through reader panicked"));
    assert!(
        read as u64 >= records,
        "read back {read} of {records} records"
    );
    drop(broker);
    let seconds = done.duration_since(started).as_secs_f64();
    (tweets as f64 / seconds.max(1e-9), tweets)
}
