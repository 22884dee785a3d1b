//! A secret given to any binary, as a librdkafka property (in
//! `TWEETOSCOPE_KAFKA_PROPERTIES` or with `-X`) or as the password of the
//! Loki URL, reaches none of its outputs: stderr and stdout, the `logs`
//! topic, the Loki push, `/metrics` and the probes, the dashboard's page
//! and JSON, the logger's tail. Every channel is checked to carry the
//! (redacted) configuration first, so the test fails if one goes silent.
//! Needs the broker of scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{
    Deployment, Proc, bin, free_port, http_get, metrics_port, read_topic, wait_for_log,
};

const ENV_SECRET: &str = "s3cr3t-PLANTED-ENV";
const FLAG_SECRET: &str = "s3cr3t-PLANTED-FLAG";
const LOKI_SECRET: &str = "s3cr3t-PLANTED-LOKI";
const SECRETS: [&str; 3] = [ENV_SECRET, FLAG_SECRET, LOKI_SECRET];

/// The stages that consume (started first), then the generator.
const CONSUMERS: [&str; 6] = [
    "dashboard",
    "logger",
    "learner",
    "predictor",
    "estimator",
    "collector",
];

/// A stand-in Loki: answers every request 204 and keeps each body,
/// snappy-decompressed when it can be (pushes are snappy protobuf).
struct Loki {
    port: u16,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Loki {
    fn start() -> Loki {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Loki { port, bodies }
    }

    fn text(&self) -> String {
        let bodies = self.bodies.lock().unwrap();
        let mut text = String::new();
        for b in bodies.iter() {
            text.push_str(&String::from_utf8_lossy(b));
            text.push('\n');
        }
        text
    }
}

/// One keep-alive connection: requests until the client closes.
fn serve(stream: TcpStream, kept: &Mutex<Vec<Vec<u8>>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            head.extend_from_slice(line.as_bytes());
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .unwrap_or(body);
        head.extend_from_slice(&body);
        kept.lock().unwrap().push(head);
        if writer
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// What each endpoint of a running stage answers, concatenated.
fn endpoints(port: u16, paths: &[&str]) -> String {
    let mut text = String::new();
    for path in paths {
        let (status, body) =
            http_get(port, path).unwrap_or_else(|| panic!("nothing answers {path} on {port}"));
        assert!(status < 500, "{path}: {status}");
        text.push_str(&body);
    }
    text
}

/// Runs every binary once with the secrets planted by `plant`; returns
/// everything they printed and served.
fn run_all(d: &Deployment, loki: &Loki, variant: &str, plant: Plant) -> String {
    let loki_url = format!("http://tweetoscope:{LOKI_SECRET}@127.0.0.1:{}", loki.port);
    let web_port = free_port();
    let web_addr = format!("127.0.0.1:{web_port}");
    let env_props = format!("sasl.password={ENV_SECRET};linger.ms=5");
    let flag_prop = format!("sasl.password={FLAG_SECRET}");
    let env: Vec<(&str, &str)> = match plant {
        Plant::Env => vec![("TWEETOSCOPE_KAFKA_PROPERTIES", env_props.as_str())],
        Plant::Flag => vec![],
    };
    let spawn = |binary: &str, own: &[&str]| {
        let mut extra = vec!["--loki-url", loki_url.as_str()];
        if plant == Plant::Flag {
            extra.extend(["-X", flag_prop.as_str()]);
        }
        extra.extend(own);
        d.spawn_with_env(binary, &format!("{binary}-{variant}"), &extra, &env)
    };
    let mut procs: Vec<Proc> = CONSUMERS
        .iter()
        .map(|&b| match b {
            "dashboard" => spawn(b, &["--web-addr", &web_addr]),
            "logger" => spawn(b, &["--from-beginning"]),
            _ => spawn(b, &[]),
        })
        .collect();
    let ports: Vec<u16> = procs.iter().map(metrics_port).collect();
    let mut generator = spawn("generator", &["--cascades", "30", "--seed", "5"]);
    let generator_port = metrics_port(&generator);
    let mut served = endpoints(generator_port, &["/metrics", "/health"]);
    assert!(
        generator.wait(Duration::from_secs(120)),
        "generator failed: {}",
        generator.log_text()
    );
    // The logger shows the other stages' configuration records.
    let logger = &procs[1];
    assert!(
        wait_for_log(
            logger,
            "effective configuration",
            6,
            Duration::from_secs(60)
        ),
        "the logger never showed the configuration records: {}",
        logger.log_text()
    );
    for port in &ports {
        served.push_str(&endpoints(*port, &["/metrics", "/health", "/livez"]));
    }
    served.push_str(&endpoints(web_port, &["/", "/app.js", "/api/state"]));
    assert!(served.contains("tweetoscope_collector_"), "no metrics read");
    for p in &mut procs {
        p.terminate(Duration::from_secs(15));
    }
    let mut printed = generator.log_text();
    for p in &procs {
        printed.push_str(&p.log_text());
    }
    assert!(
        printed.matches("sasl.password=***").count() >= 7,
        "every binary logs its (redacted) configuration on stderr: {printed}"
    );
    printed + &served
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plant {
    Env,
    Flag,
}

fn assert_clean(channel: &str, text: &str) {
    for secret in SECRETS {
        if let Some(at) = text.find(secret) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            let context: String = text[from..].chars().take(400).collect();
            panic!("{channel} shows the secret {secret}: ...{context}...");
        }
    }
}

#[test]
fn a_planted_secret_reaches_no_output_of_any_binary() {
    let d = Deployment::new("secrets");
    d.create_topics();
    let loki = Loki::start();
    let env_run = run_all(&d, &loki, "env", Plant::Env);
    assert_clean("a binary given the secret in the environment", &env_run);
    let flag_run = run_all(&d, &loki, "flag", Plant::Flag);
    assert_clean("a binary given the secret with -X", &flag_run);

    let logs = read_topic(
        &d.brokers,
        &d.topic(Topic::Logs),
        Duration::from_secs(30),
        |r| {
            r.iter()
                .filter(|r| r.json()["message"] == "effective configuration")
                .count()
                >= 10
        },
    );
    let configs: Vec<serde_json::Value> = logs
        .iter()
        .map(|r| r.json())
        .filter(|v| v["message"] == "effective configuration")
        .collect();
    let sources: std::collections::BTreeSet<&str> = configs
        .iter()
        .filter_map(|v| v["source"].as_str())
        .collect();
    // The consuming stages forward their records through the run loop;
    // the generator's loop does not drain them to `logs` (stderr and Loki
    // only), and the logger never forwards its own.
    for stage in [
        "collector",
        "estimator",
        "predictor",
        "learner",
        "dashboard",
    ] {
        assert!(sources.contains(stage), "{stage}: {sources:?}");
    }
    assert!(
        configs.iter().all(|v| v["config"]
            .as_str()
            .is_some_and(|c| c.contains("sasl.password=***"))),
        "{configs:?}"
    );
    let topic_text: String = logs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
        .collect();
    assert_clean("the logs topic", &topic_text);

    // Loki drains at exit: give the last pushes a moment.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && loki.text().matches("effective configuration").count() < 10 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let pushed = loki.text();
    assert!(
        pushed.matches("effective configuration").count() >= 10,
        "Loki received the configuration records of both runs: {} bytes",
        pushed.len()
    );
    assert_clean("the Loki push", &pushed);
}

#[test]
fn a_refused_secret_property_is_reported_without_its_value() {
    // Not a librdkafka property (it is Java's): refused by the check,
    // which names it but not what it holds.
    let jaas = format!("sasl.jaas.config=org.example.Login required password=\"{FLAG_SECRET}\"");
    let loki = format!("http://u:{LOKI_SECRET}@");
    for binary in ["collector", "generator", "logger"] {
        let out = std::process::Command::new(bin(binary))
            .args(["--check", "-X", &jaas, "--loki-url", &loki])
            .env(
                "TWEETOSCOPE_KAFKA_PROPERTIES",
                format!("sasl.password={ENV_SECRET}"),
            )
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{binary}: {text}");
        assert!(text.contains("sasl.jaas.config=***"), "{binary}: {text}");
        assert!(text.contains("u:***@"), "{binary}: {text}");
        assert_clean(binary, &text);
    }
}
