//! The monitoring files, and the metric names their queries need.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use serde_json::Value;

/// The datasources, as the dashboard's inputs: an import asks for them,
/// provisioning fills them from the datasource variables of the same name.
pub const PROMETHEUS: &str = "${DS_PROMETHEUS}";
pub const LOKI: &str = "${DS_LOKI}";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn read(path: &str) -> String {
    let p = repo().join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

pub fn dashboard() -> Value {
    serde_json::from_str(&read("monitoring/grafana/dashboards/tweetoscope.json"))
        .unwrap_or_else(|e| panic!("the dashboard is not JSON: {e}"))
}

/// Every panel, rows' nested panels included.
pub fn panels(d: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for p in d["panels"].as_array().cloned().unwrap_or_default() {
        all.extend(p["panels"].as_array().cloned().unwrap_or_default());
        all.push(p);
    }
    all
}

/// (where, expression) of every Prometheus query: dashboard targets and
/// the rules' `expr:` lines.
pub fn promql_expressions() -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for p in panels(&dashboard()) {
        for t in p["targets"].as_array().cloned().unwrap_or_default() {
            let ds = if t["datasource"].is_object() {
                &t["datasource"]
            } else {
                &p["datasource"]
            };
            if ds["uid"] == PROMETHEUS {
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

pub fn selectors(e: &Expr, out: &mut Vec<VectorSelector>) {
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
pub fn unexported(v: &VectorSelector, exported: &BTreeSet<String>) -> Option<String> {
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
fn every_panel_has_a_datasource_input_and_a_unique_id() {
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
            uid == PROMETHEUS || uid == LOKI,
            "panel {id}: datasource {uid} is neither input: a fixed uid breaks an import"
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
            if uid == LOKI {
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
