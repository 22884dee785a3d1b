//! The monitoring files against the binaries: every PromQL expression of
//! the Grafana dashboard and of the alert rules parses and names only
//! metrics that the binaries export on a live `/metrics`; a real
//! Prometheus scrapes a running pipeline; Loki receives what tracing-loki
//! pushes, with the expected labels; the probes and the logs topic behave.
//!
//! Run by scripts/test-observability.sh (feature `observability` of this
//! crate), which installs Prometheus and starts the broker of test.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use serde_json::Value;
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Injector, Proc, bin_dir, read_topic};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    let p = repo().join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn dashboard() -> Value {
    serde_json::from_str(&read("monitoring/grafana/dashboards/tweetoscope.json"))
        .unwrap_or_else(|e| panic!("the dashboard is not JSON: {e}"))
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for p in d["panels"].as_array().cloned().unwrap_or_default() {
        all.extend(p["panels"].as_array().cloned().unwrap_or_default());
        all.push(p);
    }
    all
}

/// (where, expression) of every Prometheus query: dashboard targets and
/// the rules' `expr:` lines.
fn promql_expressions() -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for p in panels(&dashboard()) {
        for t in p["targets"].as_array().cloned().unwrap_or_default() {
            let ds = if t["datasource"].is_object() {
                &t["datasource"]
            } else {
                &p["datasource"]
            };
            if ds["uid"] == "prometheus" {
                let e = t["expr"].as_str().unwrap_or_default().to_owned();
                exprs.push((format!("panel {} {}", p["id"], p["title"]), e));
            }
        }
    }
    let rules = read("monitoring/prometheus/rules.yml");
    let lines: Vec<&str> = rules.lines().map(str::trim).collect();
    let n_rules = lines
        .iter()
        .filter(|l| l.starts_with("- alert:") || l.starts_with("- record:"))
        .count();
    let rule_exprs: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("expr:"))
        .map(|e| e.trim().to_owned())
        .collect();
    assert_eq!(
        rule_exprs.len(),
        n_rules,
        "every rule needs its expr on one `expr:` line"
    );
    exprs.extend(rule_exprs.into_iter().map(|e| ("rules.yml".to_owned(), e)));
    exprs
}

fn selectors(e: &Expr, out: &mut Vec<VectorSelector>) {
    match e {
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::VectorSelector(v) => out.push(v.clone()),
        Expr::MatrixSelector(m) => out.push(m.vs.clone()),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Metric names made by Prometheus itself, not by a binary.
const SYNTHETIC: &[&str] = &["up"];

/// The names a selector must find among `exported`: its name, or the
/// regex of its `__name__` matcher. Returns the problem, if any.
fn unexported(v: &VectorSelector, exported: &BTreeSet<String>) -> Option<String> {
    if let Some(name) = &v.name {
        if SYNTHETIC.contains(&name.as_str()) || exported.contains(name) {
            return None;
        }
        return Some(format!("{name} is not exported"));
    }
    let by_name: Vec<_> = v
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name == "__name__")
        .collect();
    if by_name.is_empty() {
        return Some(format!("{v} selects no metric name"));
    }
    let found = exported
        .iter()
        .any(|n| by_name.iter().all(|m| m.is_match(n)));
    let regex = by_name.iter().all(|m| matches!(m.op, MatchOp::Re(_)));
    (!(found && regex)).then(|| format!("{v}: no exported metric matches"))
}

#[test]
fn every_promql_expression_of_the_dashboard_and_the_rules_parses() {
    let exprs = promql_expressions();
    assert!(exprs.len() >= 20, "{} expressions only", exprs.len());
    for (place, e) in &exprs {
        let parsed =
            parser::parse(e).unwrap_or_else(|err| panic!("{place}: `{e}` does not parse: {err}"));
        let mut sel = Vec::new();
        selectors(&parsed, &mut sel);
        assert!(!sel.is_empty(), "{place}: `{e}` reads no metric");
    }
}

#[test]
fn a_misspelt_metric_would_be_caught_by_the_name_check() {
    let exported: BTreeSet<String> = ["tweetoscope_predictor_are_ratio_bucket".to_owned()].into();
    let mut sel = Vec::new();
    selectors(
        &parser::parse("rate(tweetoscope_predictor_are_ratoi_bucket[5m])").unwrap(),
        &mut sel,
    );
    assert!(unexported(&sel[0], &exported).is_some());
    let mut sel = Vec::new();
    selectors(
        &parser::parse(r#"{__name__=~"tweetoscope_[a-z]+_are_ratio_bucket"}"#).unwrap(),
        &mut sel,
    );
    assert_eq!(unexported(&sel[0], &exported), None);
}

#[test]
fn every_panel_has_a_datasource_by_uid_and_a_unique_id() {
    let sources = read("monitoring/grafana/provisioning/datasources/datasources.yml");
    for uid in ["uid: prometheus", "uid: loki"] {
        assert!(sources.contains(uid), "datasources.yml has no `{uid}`");
    }
    assert!(
        sources.contains("url: http://prometheus:9090")
            && sources.contains("url: http://loki:3100")
    );
    let d = dashboard();
    let mut ids = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for p in panels(&d) {
        let id = p["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel without id: {p}"));
        assert!(ids.insert(id), "panel id {id} appears twice");
        if p["type"] == "row" {
            continue;
        }
        kinds.insert(p["type"].as_str().unwrap_or_default().to_owned());
        let uid = p["datasource"]["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("panel {id} has no datasource uid"));
        assert!(
            uid == "prometheus" || uid == "loki",
            "panel {id}: unknown datasource {uid}"
        );
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {id} has no targets"));
        assert!(!targets.is_empty(), "panel {id} has no query");
        for t in targets {
            assert!(
                t["datasource"]["uid"] == uid,
                "panel {id}: a target's datasource differs"
            );
            if uid == "loki" {
                let q = t["expr"].as_str().unwrap_or_default();
                assert!(
                    q.starts_with("{stage="),
                    "panel {id}: `{q}` must select on the stage label"
                );
                assert!(
                    !q.contains("cid="),
                    "panel {id}: a cascade id is never a label"
                );
            }
        }
    }
    assert!(kinds.contains("logs"), "no Loki logs panel");
}

// ------------------------------------------------------------------ Loki

/// Reads one protobuf varint.
fn varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = buf[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
    }
    v
}

/// The (field, bytes) of the length-delimited fields of a message; other
/// wire types are skipped.
fn fields(buf: &[u8]) -> Vec<(u64, &[u8])> {
    let (mut at, mut out) = (0, Vec::new());
    while at < buf.len() {
        let key = varint(buf, &mut at);
        match key & 7 {
            0 => {
                varint(buf, &mut at);
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let len = varint(buf, &mut at) as usize;
                out.push((key >> 3, &buf[at..at + len]));
                at += len;
            }
            t => panic!("unexpected wire type {t}"),
        }
    }
    out
}

/// A Loki push body: snappy (raw) of a PushRequest { streams = 1:
/// { labels = 1, entries = 2: { timestamp = 1, line = 2 } } }.
fn decode_push(body: &[u8]) -> Vec<(String, String)> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .unwrap_or_else(|e| panic!("the push body is not raw snappy: {e}"));
    let mut lines = Vec::new();
    for (_, stream) in fields(&raw).into_iter().filter(|(f, _)| *f == 1) {
        let parts = fields(stream);
        let labels = parts
            .iter()
            .find(|(f, _)| *f == 1)
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        for (_, entry) in parts.iter().filter(|(f, _)| *f == 2) {
            for (f, b) in fields(entry) {
                if f == 2 {
                    lines.push((labels.clone(), String::from_utf8_lossy(b).into_owned()));
                }
            }
        }
    }
    lines
}

/// A fake Loki: answers every push with 204 and hands the decoded
/// (labels, line) pairs to the channel.
fn fake_loki() -> (String, mpsc::Receiver<(String, String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let url = format!("http://{addr}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve_pushes(sock, &tx));
        }
    });
    (url, rx)
}

fn serve_pushes(mut sock: TcpStream, tx: &mpsc::Sender<(String, String, String)>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // One request: headers, then Content-Length bytes.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..head_end + len).skip(head_end).collect();
        for (labels, line) in decode_push(&body) {
            let _ = tx.send((path.clone(), labels, line));
        }
        if sock
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn loki_receives_records_labelled_by_stage_instance_and_level_with_ids_in_the_line() {
    use tracing_subscriber::layer::SubscriberExt;
    let (url, rx) = fake_loki();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (layer, controller, task) =
        tweetoscope_core::telemetry::loki::layer(&url, "estimator", tracing::Level::INFO).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    rt.block_on(async {
        let task = tokio::spawn(task);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(cid = "cascade-77", window = 600u64, "fit failed");
            tracing::info!(partitions = 2u64, "consuming");
            tracing::debug!("below the Loki level");
            tracing::error!(target: "tweetoscope_core::kafka::context", "librdkafka");
        });
        controller.shutdown().await;
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the Loki task drains")
            .unwrap();
    });
    let got: Vec<(String, String, String)> = rx.try_iter().collect();
    assert!(
        got.iter().all(|(path, _, _)| path == "/loki/api/v1/push"),
        "{got:?}"
    );
    let line_of = |needle: &str| got.iter().find(|(_, _, line)| line.contains(needle));
    let (_, labels, line) =
        line_of("fit failed").unwrap_or_else(|| panic!("no fit failed record: {got:?}"));
    assert!(labels.contains(r#"stage="estimator""#), "{labels}");
    assert!(labels.contains(r#"level="warn""#), "{labels}");
    assert!(labels.contains("instance="), "{labels}");
    assert!(
        !labels.contains("cascade-77"),
        "a cascade id in labels: {labels}"
    );
    let json: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(
        (json["cid"].as_str(), json["window"].as_u64()),
        (Some("cascade-77"), Some(600))
    );
    let (_, labels, _) = line_of("consuming").unwrap_or_else(|| panic!("no INFO record: {got:?}"));
    assert!(labels.contains(r#"level="info""#), "{labels}");
    assert!(line_of("below the Loki level").is_none(), "{got:?}");
    assert!(
        line_of("librdkafka").is_none(),
        "client records must stay local: {got:?}"
    );
}

// ------------------------------------------------------ the live pipeline

/// GET `path` on `addr`: (status code, body).
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut sock = TcpStream::connect(addr).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // One write, HTTP/1.0: no chunked answer to decode (Prometheus chunks
    // large answers to HTTP/1.1 clients).
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    sock.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    sock.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// The metrics endpoint a stage logged at start.
fn metrics_addr(p: &Proc) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let log = p.log_text();
        if let Some(line) = log.lines().find(|l| l.contains("serving /metrics"))
            && let Some(addr) = line
                .split("addr=")
                .nth(1)
                .and_then(|a| a.split_whitespace().next())
        {
            return addr.to_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} logged no metrics address: {}", p.label, p.log_text());
}

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
