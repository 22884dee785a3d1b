//! The Grafana dashboard as an operator reads it: every panel described,
//! legends naming the stage, ARE as a fraction everywhere, model versions
//! as dates, dead letters at 0 rather than "No data", a headline row with
//! thresholds, an ARE distribution, lower-case log levels, and datasource
//! inputs so that an import into an existing Grafana finds its own
//! datasources. Checked offline: no Grafana binary is needed.

use serde_json::Value;

use crate::monitoring::{LOKI, PROMETHEUS, dashboard, panels, read};

fn exprs(p: &Value) -> Vec<String> {
    p["targets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t["expr"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn reads(p: &Value, metric: &str) -> bool {
    exprs(p).iter().any(|e| e.contains(metric))
}

fn data_panels() -> Vec<Value> {
    panels(&dashboard())
        .into_iter()
        .filter(|p| p["type"] != "row")
        .collect()
}

#[test]
fn every_panel_says_what_it_shows() {
    let all = data_panels();
    assert!(all.len() >= 20, "{} panels only", all.len());
    for p in &all {
        let text = p["description"].as_str().unwrap_or_default();
        assert!(
            text.len() >= 40,
            "panel {} {} has no description worth the name: {text:?}",
            p["id"],
            p["title"]
        );
    }
}

#[test]
fn legends_name_the_stage_not_an_address() {
    for p in data_panels() {
        for t in p["targets"].as_array().cloned().unwrap_or_default() {
            let legend = t["legendFormat"].as_str().unwrap_or_default();
            assert!(
                !legend.contains("{{instance}}") && !legend.contains("{{job}}"),
                "panel {}: legend {legend:?} shows an address, not the stage",
                p["id"]
            );
        }
        // Per-process panels group by the stage label the scrape adds.
        if reads(&p, "process_") {
            for e in exprs(&p) {
                assert!(e.contains("by (stage)"), "panel {}: `{e}`", p["id"]);
            }
        }
    }
    for scrape in [
        "monitoring/prometheus/prometheus.yml",
        "monitoring/prometheus/prometheus-k8s.yml",
    ] {
        assert!(
            read(scrape).contains("target_label: stage"),
            "{scrape} adds no stage label"
        );
    }
}

#[test]
fn are_is_a_fraction_on_every_panel_and_model_versions_are_dates() {
    let mut are_panels = 0;
    let mut version_panels = 0;
    for p in data_panels() {
        let unit = p["fieldConfig"]["defaults"]["unit"].as_str().unwrap_or("");
        assert_ne!(
            unit, "percentunit",
            "panel {}: ARE is a fraction here",
            p["id"]
        );
        assert_ne!(unit, "percent", "panel {}: ARE is a fraction here", p["id"]);
        if reads(&p, "are_ratio") || reads(&p, "are_hawkes_ratio") {
            are_panels += 1;
            assert_eq!(unit, "none", "panel {}: ARE unit {unit:?}", p["id"]);
        }
        if reads(&p, "model_version") {
            version_panels += 1;
            assert!(
                unit.starts_with("dateTime"),
                "panel {}: versions are millisecond timestamps, unit {unit:?}",
                p["id"]
            );
        }
    }
    assert!(are_panels >= 3, "{are_panels} ARE panels");
    assert!(version_panels >= 1, "no model version panel");
}

#[test]
fn dead_letters_show_zero_rather_than_no_data() {
    let mut found = 0;
    for p in data_panels() {
        if !reads(&p, "dead_letters_total") {
            continue;
        }
        found += 1;
        assert!(
            exprs(&p)
                .iter()
                .any(|e| e.contains("dead_letters_total") && e.ends_with("or vector(0)")),
            "panel {} {}: no series while no record was dead-lettered",
            p["id"],
            p["title"]
        );
    }
    assert!(found >= 2, "{found} dead-letter panels");
}

#[test]
fn a_headline_row_comes_first_with_thresholds_on_each_figure() {
    let d = dashboard();
    let top = d["panels"].as_array().unwrap();
    assert_eq!(top[0]["type"], "row", "{}", top[0]);
    let next_row = top[1..]
        .iter()
        .position(|p| p["type"] == "row")
        .map_or(top.len(), |i| i + 1);
    let headline = &top[1..next_row];
    let wanted = [
        ("alerts/s", "predictions_total"),
        ("median ARE", "are_ratio_bucket"),
        ("lag", "consumer_unread_records"),
        ("dead letters", "dead_letters_total"),
        ("stages up", "up{"),
    ];
    for (what, metric) in wanted {
        let p = headline
            .iter()
            .find(|p| reads(p, metric))
            .unwrap_or_else(|| panic!("no headline figure for {what} ({metric})"));
        assert_eq!(p["type"], "stat", "{what}");
        let steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(steps.len() >= 2, "{what}: no thresholds");
        let colours: Vec<&str> = steps.iter().filter_map(|s| s["color"].as_str()).collect();
        assert!(
            colours.contains(&"red") && colours.contains(&"green"),
            "{what}: thresholds {colours:?}"
        );
    }
    // The lag figure is the backlog: not the whole lag, which counts what
    // the learner and the collector hold on purpose.
    assert!(!headline.iter().any(|p| reads(p, "consumer_lag_records")));
}

#[test]
fn the_are_distribution_is_a_heatmap_of_the_histogram() {
    let heat = data_panels()
        .into_iter()
        .find(|p| p["type"] == "heatmap")
        .expect("no heatmap panel");
    let t = &heat["targets"][0];
    assert_eq!(t["format"], "heatmap", "{heat}");
    let e = t["expr"].as_str().unwrap();
    assert!(
        e.contains("tweetoscope_predictor_are_ratio_bucket") && e.contains("by (le)"),
        "{e}"
    );
    assert_eq!(
        heat["options"]["calculate"], false,
        "buckets come from Prometheus"
    );
}

#[test]
fn the_level_variable_offers_the_levels_tracing_loki_sends() {
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().unwrap();
    let level = vars.iter().find(|v| v["name"] == "level").unwrap();
    let values: Vec<&str> = level["query"].as_str().unwrap().split(',').collect();
    for l in ["error", "warn", "info", "debug"] {
        assert!(values.contains(&l), "{values:?} lacks {l}");
    }
    assert!(
        values.iter().all(|v| *v == v.to_lowercase()),
        "tracing-loki sends lower case: {values:?}"
    );
}

#[test]
fn an_import_asks_for_both_datasources_and_provisioning_finds_them() {
    let d = dashboard();
    let inputs = d["__inputs"].as_array().expect("no __inputs");
    let vars = d["templating"]["list"].as_array().unwrap();
    let sources = read("monitoring/grafana/provisioning/datasources/datasources.yml");
    for (placeholder, plugin, uid) in [
        (PROMETHEUS, "prometheus", "prometheus"),
        (LOKI, "loki", "loki"),
    ] {
        let name = placeholder.trim_start_matches("${").trim_end_matches('}');
        let input = inputs
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no input {name}"));
        assert_eq!(input["type"], "datasource");
        assert_eq!(input["pluginId"], plugin);
        // Provisioned as is, `${DS_...}` is the datasource variable, which
        // defaults to the provisioned datasource's uid.
        let var = vars
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no datasource variable {name}"));
        assert_eq!(var["type"], "datasource");
        assert_eq!(var["query"], plugin);
        assert_eq!(var["current"]["value"], uid);
        assert!(sources.contains(&format!("uid: {uid}")), "{sources}");
    }
    let text = read("monitoring/grafana/dashboards/tweetoscope.json");
    assert!(
        !text.contains("\"uid\": \"prometheus\"") && !text.contains("\"uid\": \"loki\""),
        "a panel still names a fixed datasource uid"
    );
}
