//! Secrets never leave a process: the one place that decides which option
//! or client property is a secret and what is shown in its place.
//!
//! Everything that prints configuration (the effective-configuration
//! record, configuration errors, `tweetoscope check`, Debug dumps of
//! `-X` properties) goes through here, so stderr, the `logs` topic, Loki
//! and the page all see the same `***`. A name marks a secret when it
//! contains `password`, `secret`, `token` or `credential`, is
//! `sasl.jaas.config` or `sasl.oauthbearer.config`, or starts with
//! `ssl.key.` (the private key, its password or its location); a URL's
//! `user:password@` keeps its user only.

/// What a secret value is shown as.
pub const REDACTED: &str = "***";

/// Whether an option or librdkafka property of this name holds a secret
/// (any case; `-` and `_` count as `.`, so flags and variables match too).
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace(['-', '_'], ".");
    const WORDS: &[&str] = &["password", "secret", "token", "credential"];
    const NAMES: &[&str] = &["sasl.jaas.config", "sasl.oauthbearer.config"];
    WORDS.iter().any(|w| name.contains(w))
        || NAMES.iter().any(|n| name.ends_with(n))
        || name.contains("ssl.key.")
}

/// `value`, or [`REDACTED`] when `name` marks a secret.
pub fn value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret(name) { REDACTED } else { value }
}

/// A URL with the password of its `user:password@` replaced (and a token
/// given as the user alone, `token@host`, replaced whole).
pub fn url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED}"),
        None => REDACTED.to_owned(),
    };
    format!("{scheme}://{shown}@{host}{tail}")
}

/// A `key=value` pair (an `-X` property) with its value redacted when the
/// key marks a secret; text without `=` is returned as it is.
pub fn pair(text: &str) -> String {
    match text.split_once('=') {
        Some((k, v)) => format!("{k}={}", value(k.trim(), v)),
        None => text.to_owned(),
    }
}

/// The value of option `name` as it may be shown: secret options and
/// secret `-X` properties redacted, URLs without their password.
pub fn option(name: &str, raw: &str) -> String {
    if is_secret(name) {
        REDACTED.to_owned()
    } else if name == "kafka-property" || name == "properties" {
        pair(raw)
    } else if raw.contains("://") {
        url(raw)
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_mark_a_secret_are_recognised_in_any_spelling() {
        for name in [
            "sasl.password",
            "ssl.keystore.password",
            "ssl.key.password",
            "ssl.key.pem",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "SASL_PASSWORD",
            "api-token",
            "aws.credentials",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "sasl.username",
            "sasl.mechanism",
            "security.protocol",
            "ssl.ca.location",
            "brokers",
            "linger.ms",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn a_url_keeps_its_user_but_not_its_password() {
        assert_eq!(
            url("https://bob:s3cr3t@loki:3100/x?y=1"),
            "https://bob:***@loki:3100/x?y=1"
        );
        assert_eq!(url("http://tok3n@loki:3100"), "http://***@loki:3100");
        assert_eq!(url("http://loki:3100/a@b"), "http://loki:3100/a@b");
        assert_eq!(url("loki:3100"), "loki:3100");
    }

    #[test]
    fn secret_properties_lose_their_value_and_others_keep_it() {
        assert_eq!(pair("sasl.password=s3cr3t"), "sasl.password=***");
        assert_eq!(pair("linger.ms=5"), "linger.ms=5");
        assert_eq!(
            option("kafka-property", "sasl.password=a=b"),
            "sasl.password=***"
        );
        assert_eq!(option("loki-url", "http://u:p@h:1"), "http://u:***@h:1");
        assert_eq!(option("db-password", "x"), REDACTED);
        assert_eq!(option("brokers", "h:9092"), "h:9092");
    }
}
