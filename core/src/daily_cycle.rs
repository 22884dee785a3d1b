//! A daily cycle of activity for synthetic feeds: real retweets come
//! faster in the day than at night, so the same cascade unfolds over more
//! wall-clock time when it starts in the quiet hours.
//!
//! Activity r(s) = 1 - a cos(2 pi s / D) at wall time s (D = one day,
//! quietest at s = 0 mod D, busiest half a day later), amplitude a in
//! [0, 1). A cascade simulated in activity time (its own Hawkes clock)
//! is laid on the wall clock by the time change Lambda(s) = integral of r:
//! an event tau after a start S happens at Lambda^-1(Lambda(S) + tau). Its
//! events and sizes are unchanged, only their timing.

use std::f64::consts::TAU;

/// One day, seconds.
pub const DAY: f64 = 86_400.0;

/// The largest amplitude accepted: activity never falls below 5 % of its
/// mean, so the time change stays invertible with a bounded slope.
pub const MAX_AMPLITUDE: f64 = 0.95;

/// Wall-clock time change of a daily cycle of amplitude `a`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyCycle {
    a: f64,
}

impl DailyCycle {
    /// `amplitude` is clamped to [0, [`MAX_AMPLITUDE`]].
    pub fn new(amplitude: f64) -> Self {
        Self {
            a: amplitude.clamp(0.0, MAX_AMPLITUDE),
        }
    }

    /// Activity at wall time `s`, of mean 1 over a day.
    pub fn rate(&self, s: f64) -> f64 {
        1.0 - self.a * (TAU * s / DAY).cos()
    }

    /// Lambda(s): activity accumulated from 0 to wall time `s`.
    pub fn activity(&self, s: f64) -> f64 {
        s - self.a * DAY / TAU * (TAU * s / DAY).sin()
    }

    /// The wall time at which `activity` has accumulated: Lambda^-1.
    /// Newton from `y` inside the bracket Lambda^-1(y) lies in (Lambda
    /// differs from s by at most a D / 2 pi), bisecting when a step leaves
    /// it.
    pub fn wall_time(&self, y: f64) -> f64 {
        let width = self.a * DAY / TAU;
        let (mut lo, mut hi) = (y - width, y + width);
        let mut s = y;
        for _ in 0..100 {
            let f = self.activity(s) - y;
            if f.abs() <= 1e-12 * y.abs().max(1.0) {
                break;
            }
            if f > 0.0 {
                hi = s;
            } else {
                lo = s;
            }
            let next = s - f / self.rate(s);
            s = if next > lo && next < hi {
                next
            } else {
                0.5 * (lo + hi)
            };
        }
        s
    }

    /// Wall time of an event `tau` activity-seconds after a start at wall
    /// time `start`.
    pub fn after(&self, start: f64, tau: f64) -> f64 {
        if self.a == 0.0 {
            return start + tau;
        }
        self.wall_time(self.activity(start) + tau)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_change_inverts_the_accumulated_activity() {
        let c = DailyCycle::new(0.8);
        for s in [0.0, 1.0, 3_600.0, 43_200.0, 100_000.0, 2.5e6] {
            assert!(
                (c.wall_time(c.activity(s)) - s).abs() <= 1e-9 * s.max(1.0),
                "{s}"
            );
        }
    }

    #[test]
    fn a_cascade_started_at_night_is_slower_than_one_started_at_noon() {
        let c = DailyCycle::new(0.8);
        let night = c.after(0.0, 600.0) - 0.0;
        let noon = c.after(DAY / 2.0, 600.0) - DAY / 2.0;
        assert!(night > 3.0 * 600.0 && noon < 600.0, "{night} {noon}");
        // Over whole days the clock keeps time.
        assert!((c.after(5_000.0, DAY) - 5_000.0 - DAY).abs() < 1e-5);
    }

    #[test]
    fn no_amplitude_is_no_change() {
        let c = DailyCycle::new(0.0);
        assert_eq!(c.after(1234.0, 56.0), 1290.0);
    }
}
