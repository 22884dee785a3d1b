//! The producers' compression (`--compression`), chosen for what every
//! consumer, the course's Python ones included, can read.

use rdkafka::ClientConfig;

/// How the producers compress record batches (`--compression`).
///
/// gzip is the default because every Kafka client reads it without
/// optional packages: kafka-python, which every course stage uses, needs
/// the `lz4` package for lz4 and `python-snappy` for snappy, and no course
/// requirements file lists them, so an lz4 record kills a course consumer
/// on its first poll (`UnsupportedCodecError`). gzip at level 1: its
/// cost, measured against lz4, is in the compatibility notes (docs); an
/// all-Rust deployment may choose lz4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// Read by every client; the largest records on the wire.
    None,
    /// Read by every client (zlib); the default.
    Gzip,
    /// Needs `python-snappy` in kafka-python.
    Snappy,
    /// Needs the `lz4` package in kafka-python: not course-readable.
    Lz4,
}

impl Compression {
    /// librdkafka's `compression.type`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
        }
    }

    /// Sets it on a producer's config (`compression.type`, and gzip's
    /// level).
    pub fn apply(self, c: &mut ClientConfig) {
        c.set("compression.type", self.name());
        if self == Compression::Gzip {
            // zlib's fastest level: at its default (6) the stages spent
            // 17 to 28 CPU s per million tweets against lz4's 12 to 19,
            // at level 1 14 to 18, and its records are still smaller
            // than lz4's (docs, compatibility: measured 2026-12-07).
            c.set("compression.level", "1");
        }
    }
}
