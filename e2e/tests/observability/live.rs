//! The live pipeline: every named metric on a live /metrics, a real
//! Prometheus scraping it, the probes, the logs topic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use promql_parser::parser;
use serde_json::Value;
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::probe::{get, metrics_addr};
use tweetoscope_e2e::{Deployment, Injector, bin_dir, read_topic};

use crate::monitoring::{promql_expressions, selectors, unexported};

/// Names of the samples of a /metrics body.
fn names(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
        .port()
}

fn tool(name: &str, var: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| name.to_owned());
    let found = Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "`{path}` not found: install Debian's prometheus package (scripts/test-observability.sh does) or set {var}"
    );
    path
}

/// Kills Prometheus at the end of the test.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a query through Prometheus's HTTP API; its JSON answer.
fn query(addr: &str, promql: &str) -> Value {
    let mut encoded = String::new();
    for b in promql.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let (_, body) = get(addr, &format!("/api/v1/query?query={encoded}")).unwrap_or_default();
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn scalar_sum(answer: &Value) -> f64 {
    answer["data"]["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0)
}

#[test]
fn a_live_pipeline_exports_every_metric_the_monitoring_names_and_prometheus_scrapes_it() {
    let prometheus = tool("prometheus", "PROMETHEUS");
    let promtool = tool("promtool", "PROMTOOL");
    let d = Deployment::new("obs");
    d.create_topics();
    let mut procs = vec![
        d.spawn("collector", "collector", &[]),
        // Its records must not reach the logs topic.
        d.spawn("estimator", "estimator", &["--log-to-kafka", "false"]),
        d.spawn("predictor", "predictor", &[]),
        d.spawn("learner", "learner", &["--min-samples", "20"]),
        d.spawn("logger", "logger", &["--from-beginning"]),
        d.spawn("dashboard", "dashboard", &[]),
    ];
    let inj = Injector::new(&d.brokers).unwrap();
    inj.send(&d.topic(Topic::Tweets), Some(0), Some("1"), b"not json")
        .unwrap();
    inj.flush().unwrap();
    let mut g = d.spawn(
        "generator",
        "generator",
        &["--cascades", "400", "--seed", "11"],
    );
    let gen_addr = metrics_addr(&g);
    let addrs: BTreeMap<String, String> = procs
        .iter()
        .map(|p| (p.label.clone(), metrics_addr(p)))
        .collect();

    // Prometheus scrapes every stage (its own config, checked by promtool).
    let dir = bin_dir().join("e2e-data").join(&d.prefix);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (stage, addr) in addrs.iter().chain([(&"generator".to_owned(), &gen_addr)]) {
        config.push_str(&format!(
            "  - job_name: {stage}\n    static_configs:\n      - targets: ['{addr}']\n        labels:\n          stage: {stage}\n"
        ));
    }
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, &config).unwrap();
    let check = Command::new(&promtool)
        .arg("check")
        .arg("config")
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "promtool check config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prom_log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prom = Killed(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(prom_log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {prometheus}: {e}")),
    );

    assert!(
        g.wait(Duration::from_secs(180)),
        "generator failed: {}",
        g.log_text()
    );

    // Every metric the dashboard and the rules name appears on a live /metrics.
    let exprs = promql_expressions();
    let mut wanted = Vec::new();
    for (place, e) in &exprs {
        let mut sel = Vec::new();
        selectors(&parser::parse(e).unwrap(), &mut sel);
        wanted.extend(sel.into_iter().map(|s| (place.clone(), s)));
    }
    let deadline = Instant::now() + Duration::from_secs(240);
    let (missing, seen) = loop {
        let mut exported = BTreeSet::new();
        let mut seen = Vec::new();
        for (stage, addr) in &addrs {
            let answer = get(addr, "/metrics");
            let status = answer.as_ref().map(|(s, _)| *s);
            if let Some((200, body)) = answer {
                let found = names(&body);
                seen.push(format!("{stage}: {} names", found.len()));
                exported.extend(found);
            } else {
                seen.push(format!("{stage}: {status:?}"));
            }
        }
        let missing: Vec<String> = wanted
            .iter()
            .filter_map(|(place, s)| unexported(s, &exported).map(|m| format!("{place}: {m}")))
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break (missing, seen);
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        missing.is_empty(),
        "named but not exported:\n{}\nlast scrape: {seen:?}",
        missing.join("\n")
    );

    // Probes: every consumer joined its group and its loop turns.
    for (stage, addr) in &addrs {
        for probe in ["/livez", "/readyz", "/health"] {
            let answer = get(addr, probe);
            assert!(
                matches!(answer, Some((200, _))),
                "{stage} {probe}: {answer:?}"
            );
        }
    }

    // Prometheus has the main series, non-zero, and runs every expression.
    let main = [
        "sum(tweetoscope_collector_consumed_total)",
        "sum(tweetoscope_estimator_fits_total)",
        "sum(tweetoscope_predictor_predictions_total)",
        "sum(tweetoscope_predictor_are_ratio_count)",
        "sum(tweetoscope_predictor_are_ratio_bucket)",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut values = Vec::new();
    while Instant::now() < deadline {
        values = main
            .iter()
            .map(|q| scalar_sum(&query(&prom_addr, q)))
            .collect();
        if values.iter().all(|v| *v > 0.0) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        values.iter().all(|v| *v > 0.0),
        "through Prometheus: {main:?} = {values:?}"
    );
    for (place, e) in &exprs {
        let answer = query(&prom_addr, e);
        assert_eq!(
            answer["status"], "success",
            "{place}: `{e}` fails in Prometheus: {answer}"
        );
    }

    // The logs topic: INFO records of the stages, none of the estimator.
    let logs = read_topic(
        &d.brokers,
        &d.topic(Topic::Logs),
        Duration::from_secs(60),
        |r| {
            r.iter()
                .any(|r| r.json()["source"] == "collector" && r.json()["level"] == "INFO")
        },
    );
    let sources: BTreeSet<String> = logs
        .iter()
        .filter_map(|r| r.json()["source"].as_str().map(str::to_owned))
        .collect();
    assert!(
        sources.contains("collector"),
        "no collector record on logs: {sources:?}"
    );
    assert!(
        !sources.contains("estimator"),
        "--log-to-kafka false still produced: {sources:?}"
    );
    assert!(
        logs.iter().any(|r| r.json()["level"] == "INFO"),
        "no INFO record: the default --kafka-log-level is INFO"
    );

    for p in &mut procs {
        assert!(
            p.terminate(Duration::from_secs(15)),
            "{} did not stop cleanly: {}",
            p.label,
            p.log_text()
        );
    }
}
