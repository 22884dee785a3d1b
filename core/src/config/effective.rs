//! The effective configuration of a binary, as operators read it: one
//! `key=value` per option (the long flag's name, the value given, read from
//! the environment or defaulted), secrets redacted (see [`super::redact`]).
//!
//! Built from clap's matches rather than from the parsed structs, so every
//! option of every binary is listed without each struct spelling itself
//! out, and a new flag shows up without more code.

use clap::{ArgMatches, Command, Parser};

use super::redact;

/// Every option and its (redacted) value, in the order of `--help`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective(Vec<(String, String)>);

impl Effective {
    /// The options of `command` found in `matches`.
    pub fn new(command: &Command, matches: &ArgMatches) -> Self {
        let mut pairs = Vec::new();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            // Actions, not settings.
            if matches!(id, "help" | "version" | "check") {
                continue;
            }
            let Ok(Some(raw)) = matches.try_get_raw(id) else {
                continue;
            };
            let name = arg.get_long().unwrap_or(id);
            let values: Vec<String> = raw
                .map(|v| redact::option(name, &v.to_string_lossy()))
                .collect();
            pairs.push((name.to_owned(), values.join(",")));
        }
        Self(pairs)
    }

    /// The pairs, redacted.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// `key=value key=value ...`; a value with a space or a quote is quoted.
impl std::fmt::Display for Effective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if v.is_empty() || v.contains([' ', '"', '\t']) {
                write!(f, "{k}={v:?}")?;
            } else {
                write!(f, "{k}={v}")?;
            }
        }
        Ok(())
    }
}

/// Parses the process's arguments as `C::parse()` does (exiting with
/// clap's message on an error), and keeps what was given, redacted.
pub fn parse<C: Parser>() -> (C, Effective) {
    let command = C::command();
    let matches = command.clone().get_matches();
    match C::from_arg_matches(&matches) {
        Ok(cli) => (cli, Effective::new(&command, &matches)),
        Err(error) => error.format(&mut C::command()).exit(),
    }
}

/// As [`parse`], from given arguments (tests, subcommands).
pub fn parse_from<C: Parser, I, T>(args: I) -> Result<(C, Effective), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let command = C::command();
    let matches = command.clone().try_get_matches_from(args)?;
    let cli = C::from_arg_matches(&matches)?;
    Ok((cli, Effective::new(&command, &matches)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[arg(long, default_value = "localhost:9092")]
        brokers: String,
        #[arg(short = 'X', long = "kafka-property")]
        properties: Vec<String>,
        #[arg(long)]
        loki_url: Option<String>,
        #[arg(long)]
        client_secret: Option<String>,
        #[arg(long, default_value = "a b")]
        label: String,
    }

    #[test]
    fn every_option_is_listed_as_key_value_with_secrets_redacted() {
        let (_, effective) = parse_from::<Cli, _, _>([
            "x",
            "-X",
            "sasl.password=s3cr3t",
            "-X",
            "linger.ms=5",
            "--loki-url",
            "http://u:pw@loki:3100",
            "--client-secret",
            "hush",
        ])
        .unwrap();
        let line = effective.to_string();
        assert_eq!(
            line,
            "brokers=localhost:9092 kafka-property=sasl.password=***,linger.ms=5 \
             loki-url=http://u:***@loki:3100 client-secret=*** label=\"a b\""
        );
        for secret in ["s3cr3t", "pw@", "hush"] {
            assert!(!line.contains(secret), "{line}");
        }
    }
}
