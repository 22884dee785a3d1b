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
    // One decided after it does: cascade 1's parameters would have come.
    run(&mut pr, params_of("3", lineage(30, 60)), at(2.0, 2));
    assert_eq!(pr.stats().orphan_sizes, 1);
    assert_eq!(pr.pending(), 2, "2 and 3 still wait for their sizes");
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(1));
    // A later size of an earlier-decided stream is dropped at once.
    assert!(run(&mut pr, size_of("4", 30, lineage(7, 55)), at(3.0, 3)).is_empty());
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
    assert_eq!(pr.stats().orphan_sizes, 0);
}

#[test]
fn without_lineage_a_lone_size_waits_for_the_state_ttl_as_before() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, size_of("1", 30, None), at(0.0, 0));
    run(&mut pr, params_of("3", lineage(30, 60)), at(1.0, 1));
    assert_eq!(pr.stats().orphan_sizes, 0);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(0));
}

#[test]
fn a_revoked_partition_forgets_its_order_so_a_replayed_size_waits_again() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, params_of("3", lineage(30, 60)), at(0.0, 0));
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
    // Halves without lineage keep the old rule: (cid, T_obs) only.
    assert!(run(&mut pr, params_of("1", None), at(3.0, 6)).is_empty());
}
