//! A partition's lag, split the way an operator must read it: records the
//! stage has not received yet (`unread`: a backlog that should shrink) and
//! records it has received but not committed (`held`: kept on purpose).
//!
//! A stage commits only up to [`crate::stage::Stage::retained_offset`]:
//! the collector holds the tweets of its open cascades, the learner its
//! training set, so that a restart rebuilds them by replay. Those records
//! sit between the committed offset and the consumed position for as long
//! as the stage needs them; the learner's stay there for ever. Counted as
//! one number they look like a stuck consumer.

/// One partition's lag, in records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Lag {
    /// From the consumed position to the high watermark.
    pub unread: i64,
    /// From the committed offset to the consumed position.
    pub held: i64,
}

impl Lag {
    /// From the high watermark, the consumed position (next offset the
    /// stage will receive) and the committed offset; negative offsets are
    /// unknown (librdkafka's -1, -1001). Without a consumed position every
    /// record past the commit counts as unread; without a commit, the
    /// whole partition would be guessed: `None`.
    pub fn of(high: i64, consumed: i64, committed: i64) -> Option<Lag> {
        if high < 0 {
            return None;
        }
        match (consumed >= 0, committed >= 0) {
            (true, true) => {
                let consumed = consumed.clamp(committed, high.max(committed));
                Some(Lag {
                    unread: (high - consumed).max(0),
                    held: consumed - committed,
                })
            }
            (false, true) => Some(Lag {
                unread: (high - committed).max(0),
                held: 0,
            }),
            (true, false) => Some(Lag {
                unread: (high - consumed).max(0),
                held: 0,
            }),
            (false, false) => None,
        }
    }

    /// Everything past the committed offset.
    pub fn total(&self) -> i64 {
        self.unread + self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_received_but_not_committed_are_held_and_the_rest_unread() {
        let lag = Lag::of(1_000, 900, 700).unwrap();
        assert_eq!(
            lag,
            Lag {
                unread: 100,
                held: 200
            }
        );
        assert_eq!(lag.total(), 300);
    }

    #[test]
    fn a_learner_caught_up_with_its_training_set_has_no_backlog() {
        assert_eq!(
            Lag::of(5_000, 5_000, 3_881),
            Some(Lag {
                unread: 0,
                held: 1_119
            })
        );
    }

    #[test]
    fn unknown_positions_never_make_a_negative_or_invented_lag() {
        assert_eq!(
            Lag::of(100, -1001, 40),
            Some(Lag {
                unread: 60,
                held: 0
            })
        );
        assert_eq!(
            Lag::of(100, 30, -1001),
            Some(Lag {
                unread: 70,
                held: 0
            })
        );
        assert_eq!(Lag::of(100, -1, -1001), None);
        assert_eq!(Lag::of(-1, 5, 5), None);
        // A position reported behind the commit (a reset) holds nothing.
        assert_eq!(
            Lag::of(100, 10, 40),
            Some(Lag {
                unread: 60,
                held: 0
            })
        );
    }
}
