//! Why a workload option did not parse.

/// Why a key distribution, hot-key placement, read mode or mix did not
/// parse. Each message names the text that was refused and what is expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// A number of a distribution (`zipf:S`, `hotspot:F:S`) is not a finite
    /// number.
    #[error("{what} in '{text}' is not a number: '{raw}'")]
    NotANumber {
        what: &'static str,
        text: String,
        raw: String,
    },
    /// A Zipf or latest exponent outside (0, 10].
    #[error("the Zipf exponent must be in (0, 10], got {s}")]
    ZipfExponent { s: f64 },
    /// A hotspot fraction or share not strictly between 0 and 1.
    #[error("the hotspot {what} must be strictly between 0 and 1, got {value}")]
    HotspotRange { what: &'static str, value: f64 },
    /// No such distribution.
    #[error(
        "unknown distribution '{text}': expected uniform, zipf, zipf:S, latest, latest:S or hotspot:FRACTION:SHARE"
    )]
    UnknownDistribution { text: String },
    /// No such hot-key placement.
    #[error("unknown hot-key placement '{text}': expected scrambled, low-ids or newest")]
    UnknownHotKeys { text: String },
    /// No such read mode.
    #[error("unknown read mode '{text}': expected clone or visit")]
    UnknownReadMode { text: String },
    /// A part of a mix that is not `NAME=PERCENT`.
    #[error("'{part}' in the mix is not NAME=PERCENT")]
    MixPart { part: String },
    /// A mix percentage that is not a whole number from 0 to 100.
    #[error("'{value}' for {name} is not a percentage from 0 to 100")]
    MixPercent { name: String, value: String },
    /// An operation named twice in a mix.
    #[error("{name} appears twice in the mix")]
    MixTwice { name: String },
    /// No such operation.
    #[error(
        "unknown operation '{name}' in the mix: expected read, update, create, delete, get_all or rmw"
    )]
    UnknownOperation { name: String },
    /// A mix whose percentages do not add up to 100.
    #[error("the mix '{text}' sums to {sum}, not 100")]
    MixSum { text: String, sum: u32 },
}
