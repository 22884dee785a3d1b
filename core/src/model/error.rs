//! The model message's formats and size budget, and why a correction could
//! not be trained or read: what every file of the model shares.

/// Version of the envelope and of the regressor's byte layout. Bump it when
/// either changes: a predictor refuses formats it does not know rather than
/// misreading them. 2 added the calibration; format 1 (no calibration) is
/// still read, its predictions have no interval and no ARE-optimal shift.
pub const FORMAT_VERSION: u32 = 2;

/// Formats [`super::Correction::from_msg`] reads.
pub const READ_FORMATS: [u32; 2] = [1, 2];

/// Budget for an encoded [`crate::schema::ModelMsg`]: below the broker's default 1 MiB
/// message size with room for the Kafka record's own overhead.
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;

/// Why a correction could not be trained or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no training samples")]
    NoSamples,
    #[error("a model needs at least one feature")]
    NoFeatures,
    #[error("{xs} feature rows but {ys} labels")]
    LabelCount { xs: usize, ys: usize },
    #[error("row {row} has {len} features, the model names {expected}")]
    RowLength {
        row: usize,
        len: usize,
        expected: usize,
    },
    #[error("row {row} holds a non-finite feature or label")]
    NonFinite { row: usize },
    #[error("invalid forest configuration: {0}")]
    Config(String),
    #[error(
        "{n_trees} trees of depth {max_depth} over {n_features} features could encode to \
         {worst} bytes, over the {limit}-byte model message budget"
    )]
    TooLarge {
        n_trees: usize,
        max_depth: u16,
        n_features: usize,
        worst: usize,
        limit: usize,
    },
    #[error("encoding the forest failed: {0}")]
    Encode(#[source] postcard::Error),
    #[error("model format {found} is not a supported format {READ_FORMATS:?}")]
    Format { found: u32 },
    #[error("unknown model target {0:?} (expected \"log_growth\" or \"log_w\")")]
    UnknownTarget(String),
    #[error("regressor is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("regressor bytes do not decode: {0}")]
    Decode(#[source] postcard::Error),
    #[error("regressor is corrupt: {0}")]
    Corrupt(String),
    #[error("the envelope names {envelope} features but the forest was trained on {forest}")]
    FeatureCount { envelope: usize, forest: usize },
    #[error("the calibration holds non-finite numbers or unordered bins")]
    Calibration,
}
