//! Exit codes and the error type of the `smartex` command.

use std::fmt;

use smartex_http::ErrorKind;

/// How a `smartex` command ended: its exit code.
///
/// | code | meaning |
/// |---|---|
/// | 0 | ok: everything checked out |
/// | 1 | a check failed: an IPN did not verify, the demo's checks failed, an endpoint answered with a non-2xx status |
/// | 2 | usage error or malformed input (bad option, an IPN body that does not parse, a request refused before sending) |
/// | 3 | network or platform unavailable: no connection, a timeout, an HTTP error page, maintenance, a port that cannot be bound |
/// | 4 | the platform refused the request (its error envelope: validation, not found, not allowed); for `held accept` / `held dismiss`, the store refused the decision (not a held change, already resolved, the order has moved on since) |
/// | 5 | ambiguous: `order/create` failed after it may have reached the platform (a timeout, a broken connection, an HTTP 5xx other than 503) — the order may exist; look before creating another |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exit {
    /// 0: everything checked out.
    Ok,
    /// 1: a check failed.
    CheckFailed,
    /// 2: usage error or malformed input.
    Usage,
    /// 3: the network or the platform is unavailable.
    Unavailable,
    /// 4: the platform (or, for a decision on a held change, the store)
    /// refused the request.
    Refused,
    /// 5: the call may have taken effect although it failed.
    Ambiguous,
}

impl Exit {
    /// The numeric exit code.
    ///
    /// ```
    /// use smartex_cli::Exit;
    /// assert_eq!(Exit::Ok.code(), 0);
    /// assert_eq!(Exit::Ambiguous.code(), 5);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::CheckFailed => 1,
            Exit::Usage => 2,
            Exit::Unavailable => 3,
            Exit::Refused => 4,
            Exit::Ambiguous => 5,
        }
    }

    /// The exit code for a failed API call, by its [`ErrorKind`].
    pub fn for_http(error: &smartex_http::Error) -> Exit {
        match error.kind() {
            ErrorKind::Invalid | ErrorKind::Auth => Exit::Usage,
            ErrorKind::Api => Exit::Refused,
            ErrorKind::Ambiguous => Exit::Ambiguous,
            // Connect, Transport, Timeout, HttpStatus, Decode, BodyTooLarge,
            // Maintenance, and whatever a later version adds.
            _ => Exit::Unavailable,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// The exit-code table, as `--help` shows it.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  ok: everything checked out
  1  a check failed (an IPN did not verify, the demo's checks failed, a non-2xx answer)
  2  usage error or malformed input
  3  network or platform unavailable (no connection, timeout, HTTP error page, maintenance)
  4  the platform refused the request (validation, not found, not allowed); for `held`,
     the store refused the decision (not held, already resolved, the order moved on)
  5  ambiguous: the order may have been created although the call failed; look before retrying";

/// Why a command failed: a message for people and the [`Exit`] code.
///
/// Messages never contain a secret: they are built from the SDK's errors,
/// whose `Display` leaves secrets out, and from this crate's own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    exit: Exit,
    message: String,
}

impl Error {
    /// An error with this exit code and message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A usage error or malformed input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// The network or the platform is unavailable (exit 3).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Exit::Unavailable, message)
    }

    /// A check failed (exit 1).
    pub fn check(message: impl Into<String>) -> Self {
        Self::new(Exit::CheckFailed, message)
    }

    /// The exit code.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<smartex_http::Error> for Error {
    fn from(e: smartex_http::Error) -> Self {
        // The client's Display never contains a secret, a URL or a body.
        Self::new(Exit::for_http(&e), e.to_string())
    }
}

impl From<smartex_core::Error> for Error {
    fn from(e: smartex_core::Error) -> Self {
        // Core errors name the field, never the value.
        Self::usage(e.to_string())
    }
}

impl From<smartex_sandbox::Error> for Error {
    fn from(e: smartex_sandbox::Error) -> Self {
        Self::unavailable(format!("sandbox: {e}"))
    }
}
