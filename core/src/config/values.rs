//! Parsers of option values: durations, observation windows, feature lists.

use crate::schema::Window;

/// Seconds from "600", "600s", "10m", "1h 30m" or "0.5".
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("`{s}` is not a duration >= 0"))
        };
    }
    humantime::parse_duration(s)
        .map(|d| d.as_secs_f64())
        .map_err(|e| format!("`{s}` is not a duration (examples: 600, 30m, 1h 30m): {e}"))
}

/// Observation windows, sorted, distinct, positive: "600,1200" or "10m,20m".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(pub Vec<Window>);

impl std::str::FromStr for Windows {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut ws = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let secs = parse_seconds(part)?;
            if secs < 1.0 || secs.fract() != 0.0 || secs > f64::from(Window::MAX) {
                return Err(format!(
                    "window `{part}` must be a whole number of seconds >= 1"
                ));
            }
            ws.push(secs as Window);
        }
        if ws.is_empty() {
            return Err("at least one observation window is needed, e.g. 600,1200".into());
        }
        ws.sort_unstable();
        ws.dedup();
        Ok(Windows(ws))
    }
}

impl std::fmt::Display for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Feature lists by name: "default", "course", or comma-separated names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureList(pub Vec<String>);

impl std::str::FromStr for FeatureList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = match s.trim() {
            "default" => crate::features::DEFAULT.to_vec(),
            "course" => crate::features::COURSE.to_vec(),
            list => list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect(),
        };
        if names.is_empty() {
            return Err("the feature list is empty".into());
        }
        if let Some(bad) = names.iter().find(|n| !crate::features::KNOWN.contains(n)) {
            return Err(format!(
                "unknown feature `{bad}`; known: {}",
                crate::features::KNOWN.join(", ")
            ));
        }
        Ok(FeatureList(names.into_iter().map(str::to_owned).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(parse_seconds("1800").unwrap(), 1800.0);
        assert_eq!(parse_seconds("30m").unwrap(), 1800.0);
        assert_eq!(parse_seconds("1h 30m").unwrap(), 5400.0);
        assert!(
            parse_seconds("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_seconds("-5").is_err());
    }

    #[test]
    fn windows_are_sorted_and_checked() {
        assert_eq!(
            "1200,600,10m".parse::<Windows>().unwrap(),
            Windows(vec![600, 1200])
        );
        assert!("".parse::<Windows>().is_err());
        assert!("0".parse::<Windows>().is_err());
        assert!("1.5".parse::<Windows>().is_err());
    }

    #[test]
    fn feature_lists_by_name_and_unknown_names_refused() {
        assert_eq!(
            "course".parse::<FeatureList>().unwrap().0,
            ["beta", "n_star", "G1"]
        );
        let err = "beta,bogus".parse::<FeatureList>().unwrap_err();
        assert!(err.contains("bogus"), "{err}");
    }
}
