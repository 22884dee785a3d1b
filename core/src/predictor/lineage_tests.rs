//! The predictor's use of [`Lineage`]: orphan sizes and run identity.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::{alerts, at, failed, p_msg, params, run, size, stat};
use super::*;
use crate::schema::{Lineage, Message, PropertiesMsg, Topic};
use crate::stage::Stage;

fn lineage(first: i64, decided: i64) -> Option<Lineage> {
    Some(Lineage {
        partition: 3,
        first,
        decided,
    })
}

fn size_of(cid: &str, n_tot: u64, l: Option<Lineage>) -> Message {
    let mut m = size(cid, n_tot);
    if let Message::Properties(PropertiesMsg::Size(s)) = &mut m {
        s.lineage = l;
    }
    m
}

fn params_of(cid: &str, l: Option<Lineage>) -> Message {
    let mut p = params(cid);
    p.lineage = l;
    p_msg(p)
}

fn failed_of(cid: &str, l: Option<Lineage>) -> Message {
    let mut m = failed(cid);
    if let Message::Properties(PropertiesMsg::Failed(f)) = &mut m {
        f.lineage = l;
    }
    m
}

#[test]
fn a_size_whose_series_was_lost_expires_when_a_later_fit_of_its_window_comes() {
    let mut pr = Predictor::new(PredictorConfig::default());
    // Cascade 1's series (decided at 10) never reached the estimator; its
    // size (decided at 50) waits and holds the commit.
    assert!(run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 0)).is_empty());
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(0));
    // A fit decided before the size proves nothing.
    run(&mut pr, params_of("2", lineage(20, 40)), at(1.0, 1));
    assert_eq!(pr.pending(), 2);
    // One decided after it claims that cascade 1's parameters would have
    // come; a claim, until the next fit confirms it.
    run(&mut pr, params_of("3", lineage(30, 60)), at(2.0, 2));
    assert_eq!(pr.stats().orphan_sizes, 0);
    run(&mut pr, params_of("5", lineage(31, 61)), at(2.0, 3));
    assert_eq!(pr.stats().orphan_sizes, 1);
    assert_eq!(pr.pending(), 3, "2, 3 and 5 still wait for their sizes");
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(1));
    // A later size of an earlier-decided stream is dropped at once.
    assert!(run(&mut pr, size_of("4", 30, lineage(7, 55)), at(3.0, 4)).is_empty());
    assert_eq!(pr.stats().orphan_sizes, 2);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(1));
}

#[test]
fn a_failed_fit_also_orders_its_stream_and_other_streams_are_untouched() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 0));
    // Another tweets partition, and another window: not the size's stream.
    let mut other = params("2");
    other.lineage = Some(Lineage {
        partition: 4,
        first: 1,
        decided: 99,
    });
    run(&mut pr, p_msg(other), at(1.0, 1));
    let mut other_window = params("3");
    other_window.t_obs = Some(1200);
    other_window.lineage = lineage(1, 99);
    run(&mut pr, p_msg(other_window), at(1.0, 2));
    assert_eq!(pr.stats().orphan_sizes, 0);
    run(&mut pr, failed_of("5", lineage(51, 51)), at(2.0, 3));
    run(&mut pr, failed_of("6", lineage(52, 52)), at(2.0, 4));
    assert_eq!(pr.stats().orphan_sizes, 1);
}

#[test]
fn a_size_still_meets_parameters_that_come_after_it_in_order() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 0));
    // Its own parameters: decided when its series was, before the size.
    let out = run(&mut pr, params_of("1", lineage(5, 12)), at(1.0, 1));
    assert!(stat(&out).is_some());
    run(&mut pr, params_of("3", lineage(30, 60)), at(2.0, 2));
    run(&mut pr, params_of("4", lineage(31, 61)), at(2.0, 3));
    assert_eq!(pr.stats().orphan_sizes, 0);
}

#[test]
fn without_lineage_a_lone_size_waits_for_the_state_ttl_as_before() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, size_of("1", 30, None), at(0.0, 0));
    run(&mut pr, params_of("3", lineage(30, 60)), at(1.0, 1));
    run(&mut pr, params_of("4", lineage(31, 61)), at(1.0, 2));
    assert_eq!(pr.stats().orphan_sizes, 0);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(0));
}

#[test]
fn a_revoked_partition_forgets_its_order_so_a_replayed_size_waits_again() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, params_of("3", lineage(30, 60)), at(0.0, 0));
    run(&mut pr, params_of("4", lineage(31, 61)), at(0.0, 1));
    pr.revoke(Topic::CascadeProperties, &[0]);
    run(&mut pr, size_of("1", 30, lineage(5, 50)), at(1.0, 1));
    assert_eq!(pr.stats().orphan_sizes, 0);
    assert_eq!(pr.pending(), 1);
}

#[test]
fn a_new_run_of_the_same_data_is_predicted_again_a_replay_is_not() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let first_run = lineage(5, 12);
    assert_eq!(
        alerts(&run(&mut pr, params_of("1", first_run), at(0.0, 0))).len(),
        1
    );
    let out = run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 1));
    assert!(stat(&out).is_some());
    // The same records replayed: duplicates.
    assert!(run(&mut pr, params_of("1", first_run), at(1.0, 2)).is_empty());
    assert!(run(&mut pr, size_of("1", 30, lineage(5, 50)), at(1.0, 3)).is_empty());
    assert_eq!(pr.stats().duplicates, 2);
    // The data set sent again: its first tweet is at another offset.
    let out = run(&mut pr, params_of("1", lineage(905, 912)), at(2.0, 4));
    assert_eq!(alerts(&out).len(), 1, "a new run is predicted");
    let out = run(&mut pr, size_of("1", 30, lineage(905, 950)), at(2.0, 5));
    assert!(stat(&out).is_some(), "and scored");
}

#[test]
fn a_forged_decided_among_a_clean_stream_expires_no_size() {
    let mut pr = Predictor::new(PredictorConfig::default());
    // Sizes of cascades 1 to 3 wait for their parameters (estimator lag).
    for (i, cid) in ["1", "2", "3"].into_iter().enumerate() {
        let i = i as i64;
        run(
            &mut pr,
            size_of(cid, 30, lineage(10 * i, 100 + i)),
            at(0.0, i),
        );
    }
    // A well-formed series claiming to be decided at 10^15.
    let out = run(
        &mut pr,
        params_of("forged", lineage(0, 1_000_000_000_000_000)),
        at(1.0, 3),
    );
    assert_eq!(alerts(&out).len(), 1, "its own alert is not lost either");
    assert_eq!(pr.stats().orphan_sizes, 0);
    // The real parameters come, in their order, and each meets its size.
    for (i, cid) in ["1", "2", "3"].into_iter().enumerate() {
        let i = i as i64;
        let out = run(
            &mut pr,
            params_of(cid, lineage(10 * i, 10 * i + 5)),
            at(2.0, 4 + i),
        );
        assert!(stat(&out).is_some(), "cascade {cid} is scored");
    }
    assert_eq!(pr.stats().orphan_sizes, 0);
    assert_eq!(pr.stats().lineage_regressions, 1);
    // A clean stream afterwards on the same partition loses nothing.
    run(&mut pr, size_of("7", 30, lineage(200, 300)), at(3.0, 10));
    let out = run(&mut pr, params_of("7", lineage(200, 210)), at(3.0, 11));
    assert!(stat(&out).is_some());
    assert_eq!(pr.stats().orphan_sizes, 0);
}

#[test]
fn a_data_set_sent_again_while_its_first_run_waits_is_scored_twice() {
    let mut pr = Predictor::new(PredictorConfig::default());
    // Run 1's size waits for its parameters when run 2's size comes.
    run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 0));
    assert!(run(&mut pr, size_of("1", 31, lineage(905, 950)), at(0.0, 1)).is_empty());
    assert_eq!(pr.stats().duplicates, 0, "another run is not a duplicate");
    assert_eq!(pr.pending(), 2);
    let out = run(&mut pr, params_of("1", lineage(5, 12)), at(1.0, 2));
    assert_eq!(
        stat(&out).map(|s| s.are),
        Some(10.0 / 30.0),
        "run 1 with its own size"
    );
    let out = run(&mut pr, params_of("1", lineage(905, 912)), at(1.0, 3));
    assert_eq!(
        stat(&out).map(|s| s.are),
        Some(9.0 / 31.0),
        "run 2 with its own size"
    );
    // Replays of either run stay duplicates, in any order.
    for (m, offset) in [
        (params_of("1", lineage(5, 12)), 4),
        (size_of("1", 31, lineage(905, 950)), 5),
        (size_of("1", 30, lineage(5, 50)), 6),
    ] {
        assert!(run(&mut pr, m, at(2.0, offset)).is_empty());
    }
    assert_eq!((pr.stats().duplicates, pr.stats().stats), (3, 2));
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), None);
}

#[test]
fn a_half_without_lineage_pairs_with_one_that_has_it_and_its_replay_is_a_duplicate() {
    let mut pr = Predictor::new(PredictorConfig::default());
    // A course estimator (no lineage) beside our collector (lineage).
    run(&mut pr, params_of("1", None), at(0.0, 0));
    let out = run(&mut pr, size_of("1", 30, lineage(5, 50)), at(0.0, 1));
    assert!(stat(&out).is_some());
    // And the other way round.
    run(&mut pr, size_of("2", 30, lineage(6, 51)), at(0.0, 2));
    let out = run(&mut pr, params_of("2", None), at(0.0, 3));
    assert!(stat(&out).is_some());
    for (m, offset) in [
        (params_of("1", None), 4),
        (size_of("1", 30, lineage(5, 50)), 5),
        (params_of("2", None), 6),
        (size_of("2", 30, lineage(6, 51)), 7),
    ] {
        assert!(run(&mut pr, m, at(1.0, offset)).is_empty());
    }
    assert_eq!(pr.stats().duplicates, 4);
    assert_eq!(pr.pending(), 0);
}
