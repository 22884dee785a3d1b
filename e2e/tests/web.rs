//! The `dashboard` binary's web page on a real pipeline: its JSON state
//! fills with live predictions, accuracy per window and the predictor
//! instance it hears (the `instance` header), and it serves the page with
//! its legend. Without a learner no window has a model, so every alert
//! crosses Kafka saying it is a cold start, and none has an interval. (The
//! page as drawn by a browser: scripts/test-web.sh.)
//! Needs the broker of scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).

use std::time::{Duration, Instant};

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Injector, read_topic};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free local port: {e}"))
}

/// The status and body of `GET path` on the local `port`.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    tweetoscope_e2e::probe::get(&format!("127.0.0.1:{port}"), path)
}

fn state(port: u16) -> Option<serde_json::Value> {
    let (status, body) = get(port, "/api/state")?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

#[test]
fn the_dashboard_page_shows_live_predictions_accuracy_and_the_predictor_it_hears() {
    let d = Deployment::new("web");
    d.create_topics();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut dashboard = d.spawn(
        "dashboard",
        "dashboard",
        &["--web-addr", &addr, "--top", "5"],
    );
    let _c = d.spawn("collector", "collector", &[]);
    let _e = d.spawn("estimator", "estimator", &[]);
    let predictor = d.spawn("predictor", "predictor", &[]);
    let mut g = d.spawn(
        "generator",
        "generator",
        &["--cascades", "150", "--seed", "11"],
    );
    assert!(
        g.wait(Duration::from_secs(120)),
        "generator failed: {}",
        g.log_text()
    );

    // A malformed alert is dead-lettered; the page keeps going.
    let injector = Injector::new(&d.brokers).unwrap();
    injector
        .send(&d.topic(Topic::Alerts), None, None, b"{\"type\":\"alert\"")
        .unwrap();
    injector.flush().unwrap();

    let instance = format!("predictor-{}", predictor.pid());
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let s = state(port);
        let done = s.as_ref().is_some_and(|s| {
            s["top"].as_array().is_some_and(|t| t.len() == 5)
                && s["rates"]["stats_total"].as_u64().unwrap_or(0) > 20
                && s["windows"].as_array().is_some_and(|w| w.len() == 2)
                && s["history"].as_array().is_some_and(|h| !h.is_empty())
                && s["producers"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["instance"] == instance.as_str()))
        });
        if done || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let s = last.unwrap_or_else(|| panic!("no state from {addr}: {}", dashboard.log_text()));
    let top = s["top"].as_array().unwrap();
    assert_eq!(top.len(), 5, "{s}");
    let sizes: Vec<f64> = top.iter().map(|e| e["n_tot"].as_f64().unwrap()).collect();
    assert!(
        sizes.windows(2).all(|p| p[0] >= p[1]),
        "not sorted: {sizes:?}"
    );
    assert!(
        top.iter()
            .all(|e| e["window"] == 600 || e["window"] == 1200),
        "{s}"
    );
    let windows: Vec<u64> = s["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["window"].as_u64().unwrap())
        .collect();
    assert_eq!(windows, [600, 1200], "{s}");
    assert!(
        s["windows"][0]["median_are"].as_f64().is_some(),
        "no median: {s}"
    );
    let heard = s["producers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["instance"] == instance.as_str())
        .unwrap_or_else(|| panic!("{instance} not heard: {s}"));
    assert_eq!(heard["status"], "ok", "{s}");
    assert_eq!(
        heard["topics"],
        serde_json::json!(["alerts", "stats"]),
        "{s}"
    );

    // No learner here: every prediction was made without a model, and says
    // how; none has an interval.
    for e in top {
        assert!(
            e["cold_start"] == "hawkes" || e["cold_start"] == "near_critical",
            "{e}"
        );
        assert!(e["low"].is_null() && e["high"].is_null(), "{e}");
    }

    let (status, page) = get(port, "/").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("id=\"chart\""), "{page}");
    for legend in [
        "id=\"glossary\"",
        "id=\"term-w\"",
        "id=\"term-are\"",
        "id=\"term-interval\"",
        "<b>w = 1</b>",
        "80 % interval",
    ] {
        assert!(page.contains(legend), "the page lacks {legend}: {page}");
    }
    let (_, script) = get(port, "/app.js").unwrap();
    for drawn in ["x-title", "y-title", "mark-near-critical", "intervalCell"] {
        assert!(script.contains(drawn), "the script draws no {drawn}");
    }
    assert_eq!(get(port, "/missing").unwrap().0, 404);

    let dead = read_topic(
        &d.brokers,
        &d.dead_letters(),
        Duration::from_secs(30),
        |r| !r.is_empty(),
    );
    assert_eq!(dead.len(), 1, "dead letters: {dead:#?}");
    assert_eq!(
        dead[0].headers.get("stage").map(String::as_str),
        Some("dashboard")
    );
    let log = dashboard.log_text();
    assert!(log.contains("serving the live web page"), "{log}");
    assert!(dashboard.terminate(Duration::from_secs(15)), "{log}");
}
