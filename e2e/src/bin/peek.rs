//! Prints a topic from the beginning, one JSON line per record with its
//! partition, offset, timestamp and headers: for looking into a test run.
//!   peek BROKERS TOPIC [SECONDS]

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(brokers), Some(topic)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: peek BROKERS TOPIC [SECONDS]");
        std::process::exit(2);
    };
    let secs = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    for r in tweetoscope_e2e::read_topic(brokers, topic, Duration::from_secs(secs), |_| false) {
        let line = serde_json::json!({
            "p": r.partition, "o": r.offset, "ts": r.timestamp_ms,
            "key": r.key.as_deref().map(String::from_utf8_lossy),
            "h": r.headers, "v": r.json(),
        });
        println!("{line}");
    }
}
