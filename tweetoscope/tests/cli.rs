//! The `tweetoscope` command as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tweetoscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tweetoscope"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("tweetoscope runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tweetoscope-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn simulate(dir: &Path, cascades: usize) -> (String, String) {
    let prefix = dir.join("set");
    let out = tweetoscope(&[
        "simulate",
        "--cascades",
        &cascades.to_string(),
        "--seed",
        "5",
        "--out",
        prefix.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = |s: &str| format!("{}{s}", prefix.display());
    (p("-data.csv"), p("-index.csv"))
}

fn eval(data: &str, index: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "eval",
        "--data",
        data,
        "--index",
        index,
        "--out",
        out.to_str().unwrap(),
        "--min-samples",
        "20",
    ];
    args.extend_from_slice(extra);
    tweetoscope(&args)
}

#[test]
fn eval_twice_on_the_same_input_and_seed_gives_identical_bytes() {
    let dir = scratch("determinism");
    let (data, index) = simulate(&dir, 400);
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    for out in [&a, &b] {
        let run = eval(
            &data,
            &index,
            out,
            &["--windows", "600,1200,3600", "--seed", "9"],
        );
        assert!(
            run.status.success(),
            "eval failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(!a.is_empty(), "no prediction written");
    assert!(a == b, "two eval runs differ");
}

#[test]
fn eval_writes_the_same_bytes_on_one_thread_and_with_window_workers() {
    let dir = scratch("workers");
    let (data, index) = simulate(&dir, 400);
    let mut files = Vec::new();
    for workers in ["0", "1", "3"] {
        let out = dir.join(format!("w{workers}.jsonl"));
        let run = eval(
            &data,
            &index,
            &out,
            &[
                "--windows",
                "600,1200,3600",
                "--termination",
                "7200",
                "--workers",
                workers,
            ],
        );
        assert!(
            run.status.success(),
            "eval --workers {workers} failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        files.push(std::fs::read_to_string(out).unwrap());
    }
    // Every window predicted, some with a learnt correction (a 2-hour
    // termination ends cascades, and so trains models, within the replay):
    // the workers had models to compute and lines of several windows to
    // order.
    for window in ["600", "1200", "3600"] {
        assert!(
            files[0].contains(&format!("\"T_obs\":{window},")),
            "no prediction for window {window}"
        );
    }
    assert!(
        files[0].lines().any(|l| !l.contains("\"w\":1.0")),
        "no prediction used a learnt correction"
    );
    assert!(files[1] == files[0], "--workers 1 differs from --workers 0");
    assert!(files[2] == files[0], "--workers 3 differs from --workers 0");
}

#[test]
fn eval_lines_carry_every_field_and_the_true_size_from_the_index() {
    let dir = scratch("lines");
    let (data, index) = simulate(&dir, 300);
    let out = dir.join("p.jsonl");
    let run = eval(&data, &index, &out, &["--windows", "600,1200"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sizes: Vec<usize> = std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (s, e) = l.split_once(',').unwrap();
            e.trim().parse::<usize>().unwrap() - s.trim().parse::<usize>().unwrap() + 1
        })
        .collect();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "cid",
            "T_obs",
            "n_obs",
            "n_pred",
            "n_pred_hawkes",
            "n_true",
            "ARE",
            "p",
            "beta",
            "n_star",
            "G1",
            "w",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        let cid: usize = v["cid"].as_str().unwrap().parse().unwrap();
        assert_eq!(v["n_true"].as_u64().unwrap() as usize, sizes[cid], "{line}");
        let (n_pred, n_true) = (v["n_pred"].as_f64().unwrap(), v["n_true"].as_f64().unwrap());
        assert!((v["ARE"].as_f64().unwrap() - (n_pred - n_true).abs() / n_true).abs() < 1e-9);
        assert!(v["n_obs"].as_u64().unwrap() >= 10);
        lines += 1;
    }
    assert!(lines > 50, "only {lines} predictions");
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(
        table.contains("window") && table.contains("\n    600") && table.contains("\n   1200"),
        "{table}"
    );
}

#[test]
fn a_malformed_data_row_stops_eval_with_the_file_and_line() {
    let dir = scratch("malformed");
    let data = dir.join("bad-data.csv");
    let index = dir.join("bad-index.csv");
    std::fs::write(&data, "time,magnitude\n0,10\n5,abc\n9,3\n").unwrap();
    std::fs::write(&index, "start_ind,end_ind\n1,3\n").unwrap();
    let run = eval(
        data.to_str().unwrap(),
        index.to_str().unwrap(),
        &dir.join("o.jsonl"),
        &[],
    );
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("bad-data.csv") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn invalid_options_are_all_reported_and_exit_non_zero() {
    let dir = scratch("options");
    let (data, index) = simulate(&dir, 20);
    let run = eval(
        &data,
        &index,
        &dir.join("o.jsonl"),
        &["--alpha", "1.5", "--prior-corr", "3"],
    );
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("--alpha") && err.contains("--prior-corr"),
        "{err}"
    );
    let run = tweetoscope(&["eval", "--data", &data, "--index", &index, "--windows", "0"]);
    assert!(!run.status.success());
}

#[test]
fn run_replays_the_synthetic_source_to_its_table() {
    let run = tweetoscope(&[
        "run",
        "--cascades",
        "300",
        "--speed",
        "100000000",
        "--min-samples",
        "20",
        "--web-addr",
        "127.0.0.1:0",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("Live page: http://127.0.0.1:"), "{out}");
    assert!(out.contains("Most popular predicted cascades"), "{out}");
    assert!(out.contains("ARE learned"), "{out}");
    assert!(
        out.contains("\n    600") && out.contains("\n   1200"),
        "{out}"
    );
}

#[test]
fn run_on_a_taken_web_address_stops_and_says_how_to_fix_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = tweetoscope(&[
        "run",
        "--cascades",
        "10",
        "--speed",
        "100000000",
        "--web-addr",
        &addr,
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains(&addr), "{err}");
    assert!(
        err.contains("--web-addr") && err.contains("--no-web"),
        "{err}"
    );
}

#[test]
fn run_falls_back_to_a_free_port_when_the_default_one_is_taken() {
    // Held by this test, or already by another process: taken either way.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let run = Command::new(env!("CARGO_BIN_EXE_tweetoscope"))
        .args(["run", "--cascades", "10", "--speed", "100000000"])
        .env_remove("TWEETOSCOPE_WEB_ADDR")
        .env_remove("TWEETOSCOPE_NO_WEB")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.contains("Live page: http://127.0.0.1:"), "{out}");
    assert!(!out.contains("Live page: http://127.0.0.1:8080/"), "{out}");
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = tweetoscope(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let commit = text
        .trim()
        .strip_prefix(concat!(
            "tweetoscope ",
            env!("CARGO_PKG_VERSION"),
            " (commit "
        ))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = tweetoscope(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["tweetoscope", "simulate", "eval", "check"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    assert!(!tweetoscope(&["completions", "cmd.exe"]).status.success());
}

#[test]
fn check_reports_every_problem_of_a_stage_at_once_without_connecting() {
    // The stage binaries sit beside this one (cargo build --workspace --bins).
    let out = tweetoscope(&[
        "check",
        "collector",
        "--",
        "--brokers",
        "nowhere.invalid:1",
        "--session-timeout",
        "0.1",
        "--partitions",
        "0",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("collector: invalid"), "{text}");
    assert!(text.contains("--session-timeout"), "{text}");
    assert!(text.contains("--partitions"), "{text}");

    let out = tweetoscope(&["check", "-v", "estimator", "predictor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("estimator: configuration OK"), "{text}");
    assert!(text.contains("predictor: configuration OK"), "{text}");
    assert!(text.contains("  brokers="), "{text}");
}

/// Cascade 0: 5 tweets (too few for a series), 3,000 s of silence, then 15
/// more; cascade 1: 15 tweets.
fn resumed_set(dir: &Path) -> (String, String) {
    let mut rows = String::from("time,magnitude\n");
    for t in [0, 2, 5, 9, 14] {
        rows.push_str(&format!("{t},{}\n", 100 + t));
    }
    for k in 0..15 {
        rows.push_str(&format!("{},{}\n", 3000 + 7 * k, 200 + k));
    }
    for k in 0..15 {
        rows.push_str(&format!("{},{}\n", 11 * k, 300 + k));
    }
    let (data, index) = (dir.join("resumed-data.csv"), dir.join("resumed-index.csv"));
    std::fs::write(&data, rows).unwrap();
    std::fs::write(&index, "start_ind,end_ind\n1,20\n21,35\n").unwrap();
    (
        data.to_str().unwrap().to_owned(),
        index.to_str().unwrap().to_owned(),
    )
}

#[test]
fn a_cascade_resuming_after_its_termination_is_not_a_cascade_in_evals_table() {
    let dir = scratch("resumed");
    let (data, index) = resumed_set(&dir);
    // 1800: remembered until 14 + 1800 + 1800, the resumption is late;
    // 600: forgotten at 2414, the resumption opens a fragment, which eval
    // must not take for cascade 0.
    for late in ["1800", "600"] {
        let out = dir.join(format!("late-{late}.jsonl"));
        let run = eval(
            &data,
            &index,
            &out,
            &[
                "--windows",
                "600",
                "--termination",
                "1800",
                "--late-horizon",
                late,
                "--no-learner",
            ],
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let cids: Vec<String> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["cid"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(cids.iter().all(|c| c == "1"), "late {late}: {cids:?}");
        let table = String::from_utf8_lossy(&run.stdout);
        let row: Vec<&str> = table
            .lines()
            .find(|l| l.trim_start().starts_with("600 "))
            .unwrap_or_else(|| panic!("no 600 row: {table}"))
            .split_whitespace()
            .collect();
        let (predicted, failed): (usize, usize) =
            (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert_eq!(
            predicted + failed,
            1,
            "late {late}: one cascade sent\n{table}"
        );
        assert_eq!(predicted, cids.len());
    }
}

/// The lines of a predictions file with and without an interval.
fn with_and_without_interval(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let with = text.lines().filter(|l| l.contains("n_pred_low")).count();
    (with, text.lines().count() - with)
}

#[test]
fn an_evals_models_carried_over_predict_the_next_evals_cold_start() {
    let dir = scratch("carried");
    let (data, index) = simulate(&dir, 400);
    let (first, second) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    let models = dir.join("models.jsonl");
    let windows = ["--windows", "600,1200"];
    let models_out = ["--models-out", models.to_str().unwrap()];
    let run = eval(&data, &index, &first, &[&windows[..], &models_out].concat());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let saved: Vec<serde_json::Value> = std::fs::read_to_string(&models)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let saved_windows: Vec<u64> = saved.iter().map(|m| m["T_obs"].as_u64().unwrap()).collect();
    assert_eq!(saved_windows, [600, 1200]);
    // Cold predictions have no interval; with the carried-over models
    // every prediction has one.
    let (_, cold) = with_and_without_interval(&first);
    assert!(cold > 0, "the first run has a cold start");
    let initial = ["--initial-model", models.to_str().unwrap()];
    let run = eval(&data, &index, &second, &[&windows[..], &initial].concat());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (with, without) = with_and_without_interval(&second);
    assert_eq!((with > 0, without), (true, 0));

    // A file that is not models stops eval with what to fix.
    let run = eval(&data, &index, &second, &["--initial-model", &data]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("--initial-model") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn a_daily_cycle_needs_a_span_and_an_amplitude_below_one() {
    let dir = scratch("daily-cycle");
    let out = |extra: &[&str]| {
        let prefix = dir.join("set");
        let mut args = vec![
            "simulate",
            "--cascades",
            "5",
            "--out",
            prefix.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        tweetoscope(&args)
    };
    let no_span = out(&["--daily-cycle", "0.8"]);
    assert!(!no_span.status.success());
    assert!(String::from_utf8_lossy(&no_span.stderr).contains("needs --span"));
    let too_wide = out(&["--span", "1d", "--daily-cycle", "1.2"]);
    assert!(!too_wide.status.success());
    assert!(String::from_utf8_lossy(&too_wide.stderr).contains("outside"));
    let fine = out(&["--span", "1d", "--daily-cycle", "0.8"]);
    assert!(
        fine.status.success(),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
