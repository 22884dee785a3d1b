//! Which training set a sample goes to, or why the learner cannot use it.
//!
//! A window's samples come in three shapes:
//! - with this learner's feature names: its configured set;
//! - with the course features `[beta, n_star, G1]`, named (our predictor
//!   fell back to them: the parameters came from a course estimator) or
//!   unnamed (a course predictor wrote them): the window's course set,
//!   trained on those features with the `log_w` target, which every course
//!   sample can give (it carries `W` only). The predictor falls back the
//!   same way, so its samples are never lost for want of features;
//! - anything else: unusable, refused with the reason
//!   ([`Unusable::reason`]).
//!
//! An unnamed sample also says who reads the models: a course predictor,
//! which `pickle.loads` them (see the learner module).

use crate::features;
use crate::model::Target;
use crate::schema::SampleMsg;

/// The training set of a window a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// This learner's features and target.
    Configured,
    /// The course features with `log_w`, when the learner is configured
    /// with others.
    Course,
}

/// A sample as a training set takes it.
#[derive(Debug)]
pub struct Usable {
    pub kind: Kind,
    pub x: Vec<f64>,
    pub y: f64,
    /// Unnamed: written by a course predictor.
    pub from_course_predictor: bool,
}

/// Why a sample cannot be used; the same reason for every sample of a
/// misconfiguration, so that it is logged once per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub reason: String,
}

/// The features and target of each kind of set, for a learner configured
/// with `features` and `target`.
pub fn schema(kind: Kind, features: &[String], target: Target) -> (Vec<&str>, Target) {
    match kind {
        Kind::Configured => (features.iter().map(String::as_str).collect(), target),
        Kind::Course => (features::COURSE.to_vec(), Target::LogW),
    }
}

fn is_course(names: &[String]) -> bool {
    names
        .iter()
        .map(String::as_str)
        .eq(features::COURSE.iter().copied())
}

/// Where `s` goes for a learner configured with `features` and `target`.
pub fn classify(s: &SampleMsg, features: &[String], target: Target) -> Result<Usable, Unusable> {
    let unusable = |reason: String| Err(Unusable { reason });
    let unnamed = s.features.is_empty();
    let kind = if !unnamed && s.features == features {
        Kind::Configured
    } else if unnamed || is_course(&s.features) {
        if is_course(features) {
            Kind::Configured
        } else {
            Kind::Course
        }
    } else {
        return unusable(format!(
            "features {:?} are neither this learner's (--features) nor the course's {:?}",
            s.features,
            features::COURSE
        ));
    };
    let (names, target) = schema(kind, features, target);
    if s.x.len() != names.len() {
        let named = if unnamed {
            "an unnamed (course) X"
        } else {
            "X"
        };
        return unusable(format!(
            "{named} of {} values, {} expected ({names:?})",
            s.x.len(),
            names.len()
        ));
    }
    if s.x.iter().any(|v| !v.is_finite()) {
        return unusable("X holds a non-finite value".into());
    }
    let Some(y) = target.label(s) else {
        return unusable(match target {
            Target::LogGrowth => "the log_growth target needs n_obs >= 1 and n_tot >= n_obs, \
                                  which course samples lack (--target log-w trains on W)"
                .into(),
            Target::LogW => format!("W = {} gives no finite log W", s.w),
        });
    };
    Ok(Usable {
        kind,
        x: s.x.clone(),
        y,
        from_course_predictor: unnamed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn sample(features: &[&str], x: Vec<f64>) -> SampleMsg {
        SampleMsg {
            kind: "sample".into(),
            cid: "1".into(),
            t_obs: 600,
            x,
            w: 0.5,
            features: names(features),
            n_obs: None,
            n_tot: None,
            n_hawkes: None,
        }
    }

    #[test]
    fn course_samples_fall_back_to_the_course_set_with_log_w() {
        let ours = names(features::DEFAULT);
        for (s, unnamed) in [
            (sample(&[], vec![0.001, 0.5, 20.0]), true),
            (sample(features::COURSE, vec![0.001, 0.5, 20.0]), false),
        ] {
            let u = classify(&s, &ours, Target::LogGrowth).unwrap();
            assert_eq!(u.kind, Kind::Course);
            assert_eq!(u.from_course_predictor, unnamed);
            assert!((u.y - 0.5f64.ln()).abs() < 1e-12);
        }
    }

    #[test]
    fn a_course_learner_takes_course_samples_in_its_own_set() {
        let course = names(features::COURSE);
        let s = sample(&[], vec![0.001, 0.5, 20.0]);
        assert_eq!(
            classify(&s, &course, Target::LogW).unwrap().kind,
            Kind::Configured
        );
        let err = classify(&s, &course, Target::LogGrowth).unwrap_err();
        assert!(err.reason.contains("--target log-w"), "{}", err.reason);
    }

    #[test]
    fn unusable_samples_say_why() {
        let ours = names(features::DEFAULT);
        let cases = [
            (sample(&["p", "q"], vec![1.0, 2.0]), "neither"),
            (
                sample(&[], vec![1.0, 2.0]),
                "unnamed (course) X of 2 values",
            ),
            (
                sample(features::COURSE, vec![1.0, f64::NAN, 2.0]),
                "non-finite",
            ),
        ];
        for (s, why) in cases {
            let err = classify(&s, &ours, Target::LogGrowth).unwrap_err();
            assert!(err.reason.contains(why), "{}", err.reason);
        }
    }
}
