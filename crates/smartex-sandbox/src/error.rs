//! The sandbox's error type.

use std::net::SocketAddr;
use std::time::Duration;

use smartex_core::Escaped;

/// What can go wrong when starting or driving a sandbox.
///
/// Messages never contain a secret, and text that came from input (a
/// status name, a route's id) is [escaped](Escaped): it cannot forge a log line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("could not listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is unusable (a route's id, regex or amount, say).
    #[error("invalid sandbox configuration: {}", Escaped(.0))]
    Config(String),
    /// A value given to the sandbox is unusable (a paid amount that is not a
    /// decimal, a script without steps, say).
    #[error("invalid {field}: {}", Escaped(reason))]
    Invalid {
        /// The parameter or field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No order has this uid.
    #[error("no order with uid {0}")]
    UnknownOrder(u64),
    /// The order cannot take this step (it is final, or on hold, say).
    #[error("order {uid}: {}", Escaped(reason))]
    NotAllowed {
        /// The order.
        uid: u64,
        /// Why.
        reason: String,
    },
    /// The order has no IPN with this status to replay.
    #[error(
        "order {uid} has no recorded IPN with status `{}` to replay",
        Escaped(status)
    )]
    NoSuchIpn {
        /// The order.
        uid: u64,
        /// The status asked for.
        status: String,
    },
    /// A wait ran out of time.
    #[error("timed out after {after:?} waiting for {}", Escaped(what))]
    Timeout {
        /// How long it waited.
        after: Duration,
        /// What it waited for.
        what: String,
    },
    /// An in-process call's answer did not decode as the method's output (a
    /// sandbox bug, or a [`ApiCall`](smartex_core::request::ApiCall) whose output
    /// type does not fit what the sandbox answers).
    #[error("the sandbox's answer did not decode: {0}")]
    Decode(#[source] smartex_core::Error),
    /// The sandbox has been shut down.
    #[error("the sandbox has shut down")]
    ShutDown,
}

/// The sandbox's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn input_in_messages_is_escaped() {
        for e in [
            Error::Config("route x\nINFO forged".into()),
            Error::Invalid {
                field: "factor",
                reason: "`1\n2` is not a decimal".into(),
            },
            Error::NotAllowed {
                uid: 1,
                reason: "a\r\nb".into(),
            },
            Error::NoSuchIpn {
                uid: 1,
                status: "done\u{1b}[2J".into(),
            },
            Error::Timeout {
                after: std::time::Duration::from_secs(1),
                what: "x\n".into(),
            },
        ] {
            let shown = e.to_string();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
        }
    }
}
