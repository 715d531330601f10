//! The one error type of `smartex-core`.
//!
//! Every error names the field it is about and says what was wrong with it, but
//! never repeats the offending value: a value may be a secret, and an error message
//! ends up in logs.

use alloc::borrow::Cow;
use alloc::string::String;

/// What was wrong with a field's value.
///
/// The value itself is deliberately not part of the problem: errors are logged,
/// and a value may be a secret or personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The value is empty where a value is required.
    Empty,
    /// The value is longer than the platform accepts.
    TooLong {
        /// The maximum length, in characters.
        max: usize,
    },
    /// The value does not have the expected length.
    WrongLength {
        /// The expected length, in characters.
        expected: usize,
    },
    /// The value is not lowercase or uppercase hexadecimal.
    NotHex,
    /// The value is not a decimal number (`2`, `317.42`, `-0.5`).
    NotADecimal,
    /// The value is not a non-negative integer.
    NotAnInteger,
    /// The integer has more digits than allowed.
    TooManyDigits {
        /// The maximum number of digits.
        max: usize,
    },
    /// The number is zero where a non-zero amount is required.
    Zero,
    /// The value is not an absolute `http://` or `https://` URL.
    NotHttpUrl,
    /// The value must be `true` (the platform refuses orders without agreement).
    MustBeTrue,
    /// The value is not valid UTF-8 once percent-decoding is undone.
    InvalidUtf8,
    /// A `%` is not followed by two hex digits.
    BadPercentEncoding,
    /// The value contains a character that is not allowed here.
    ForbiddenCharacter,
    /// The value is not one of the accepted words.
    NotOneOf {
        /// The accepted words.
        expected: &'static [&'static str],
    },
    /// A value of another shape was expected (e.g. a list where a string came).
    WrongShape {
        /// What was expected.
        expected: &'static str,
    },
    /// Any other rule, described in words.
    Rule(&'static str),
}

impl core::fmt::Display for Problem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Problem::Empty => f.write_str("is empty"),
            Problem::TooLong { max } => write!(f, "is longer than {max} characters"),
            Problem::WrongLength { expected } => write!(f, "must be exactly {expected} characters"),
            Problem::NotHex => f.write_str("is not hexadecimal"),
            Problem::NotADecimal => f.write_str("is not a decimal number"),
            Problem::NotAnInteger => f.write_str("is not a non-negative integer"),
            Problem::TooManyDigits { max } => write!(f, "has more than {max} digits"),
            Problem::Zero => f.write_str("must not be zero"),
            Problem::NotHttpUrl => f.write_str("is not an absolute http(s) URL"),
            Problem::MustBeTrue => f.write_str("must be true"),
            Problem::InvalidUtf8 => f.write_str("is not valid UTF-8"),
            Problem::BadPercentEncoding => f.write_str("has a `%` not followed by two hex digits"),
            Problem::ForbiddenCharacter => f.write_str("contains a character that is not allowed"),
            Problem::NotOneOf { expected } => {
                f.write_str("is not one of ")?;
                for (i, word) in expected.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{word}`")?;
                }
                Ok(())
            }
            Problem::WrongShape { expected } => write!(f, "is not {expected}"),
            Problem::Rule(rule) => f.write_str(rule),
        }
    }
}

/// Text taken from input, made safe to write into an error message or a log
/// line: control characters (`\n`, `\r`, `\t`, ESC, DEL, the C1 controls, the
/// Unicode line and paragraph separators, bidirectional overrides) are written
/// as `\u{..}` escapes (`\n` as `\n`), a backslash as `\\`, and the text is cut
/// after [`Escaped::MAX_CHARS`] characters (marked with `…`). Every `Display`
/// in this SDK that echoes input goes through it, so a `%0A` in a form key
/// cannot forge a log line.
///
/// ```
/// use smartex_core::Escaped;
/// assert_eq!(Escaped("a\nb\u{1b}[31m").to_string(), "a\\nb\\u{1b}[31m");
/// assert_eq!(Escaped("toValues[0][key]").to_string(), "toValues[0][key]");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl Escaped<'_> {
    /// The most characters of input an error message repeats.
    pub const MAX_CHARS: usize = 256;
}

/// Whether `c` must not appear raw in a log line.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write as _;
        for (i, c) in self.0.chars().enumerate() {
            if i == Self::MAX_CHARS {
                return f.write_char('…');
            }
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if is_unsafe_char(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Limits of the form decoder, named in [`Error::LimitExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// More `name=value` pairs than [`crate::form::Limits::max_pairs`].
    Pairs,
    /// Deeper bracket nesting than [`crate::form::Limits::max_depth`].
    Depth,
    /// An array index above [`crate::form::Limits::max_index`].
    ArrayIndex,
}

impl core::fmt::Display for Limit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Limit::Pairs => "too many fields",
            Limit::Depth => "brackets nested too deeply",
            Limit::ArrayIndex => "array index too large",
        })
    }
}

/// Everything that can go wrong in `smartex-core`.
///
/// Field names are the platform's wire names (`orderUID`, `toValues[1][value]`,
/// `ipnUrl`), so a message points straight at the offending part of a request or
/// notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A field is present but its value breaks a rule.
    InvalidField {
        /// The wire name of the field.
        field: Cow<'static, str>,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A required field is absent.
    MissingField {
        /// The wire name of the field.
        field: Cow<'static, str>,
    },
    /// A field that must appear once appears more than once.
    DuplicateField {
        /// The wire name of the field.
        field: Cow<'static, str>,
    },
    /// A form key is not well formed (e.g. an unclosed `[`).
    MalformedKey {
        /// The key, as far as it could be decoded (values are never shown).
        key: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A bound of the decoder was exceeded.
    LimitExceeded {
        /// Which bound.
        limit: Limit,
        /// Its value.
        max: usize,
    },
    /// A response body is not the platform's JSON envelope (e.g. an HTML error page).
    NotEnvelope {
        /// Why the body was not accepted.
        reason: String,
        /// The first bytes of the body (bounded, lossily decoded).
        excerpt: String,
    },
    /// The envelope's `data` does not have the expected shape.
    UnexpectedData {
        /// The path of the offending field in `data`, as far as known.
        field: Cow<'static, str>,
        /// The decoder's explanation (no values of secret fields).
        reason: String,
    },
    /// A notification carries no checksum where one was expected.
    MissingChecksum,
    /// A checksum is well formed but does not match the one computed with the
    /// secret (or with any of the secrets). The expected value is never shown.
    BadChecksum,
    /// The state machine refuses a transition that the platform would refuse too.
    TransitionNotAllowed {
        /// The current status.
        from: String,
        /// The requested status.
        to: String,
        /// The platform's rule.
        reason: &'static str,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidField { field, problem } => {
                write!(f, "field `{}` {problem}", Escaped(field))
            }
            Error::MissingField { field } => write!(f, "field `{}` is missing", Escaped(field)),
            Error::DuplicateField { field } => {
                write!(f, "field `{}` appears more than once", Escaped(field))
            }
            Error::MalformedKey { key, problem } => {
                write!(f, "form key `{}` is malformed: {problem}", Escaped(key))
            }
            Error::LimitExceeded { limit, max } => write!(f, "form body: {limit} (limit {max})"),
            Error::NotEnvelope { reason, excerpt } => write!(
                f,
                "response is not the API envelope: {}; body starts with {excerpt:?}",
                Escaped(reason)
            ),
            Error::UnexpectedData { field, reason } => write!(
                f,
                "response field `{}` is not as expected: {}",
                Escaped(field),
                Escaped(reason)
            ),
            Error::MissingChecksum => f.write_str("the notification carries no checksum"),
            Error::BadChecksum => f.write_str("checksum does not match"),
            Error::TransitionNotAllowed { from, to, reason } => write!(
                f,
                "status change from `{}` to `{}` is not allowed: {reason}",
                Escaped(from),
                Escaped(to)
            ),
        }
    }
}

// `core::error::Error`, so that no_std builds have it too; with std it is
// `std::error::Error`.
impl core::error::Error for Error {}

impl Error {
    /// Shorthand for [`Error::InvalidField`].
    pub(crate) fn invalid(field: impl Into<Cow<'static, str>>, problem: Problem) -> Self {
        Error::InvalidField {
            field: field.into(),
            problem,
        }
    }

    /// Shorthand for [`Error::MissingField`].
    pub(crate) fn missing(field: impl Into<Cow<'static, str>>) -> Self {
        Error::MissingField {
            field: field.into(),
        }
    }

    /// The wire name of the field this error is about, if it is about one.
    ///
    /// ```
    /// use smartex_core::ObjectId;
    /// let err = ObjectId::parse("orderId", "nope").unwrap_err();
    /// assert_eq!(err.field(), Some("orderId"));
    /// ```
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidField { field, .. }
            | Error::MissingField { field }
            | Error::DuplicateField { field }
            | Error::UnexpectedData { field, .. } => Some(field),
            Error::MalformedKey { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The result type of `smartex-core`.
pub type Result<T, E = Error> = core::result::Result<T, E>;
