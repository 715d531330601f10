//! The one error type of `smartex-ipn`.

use std::borrow::Cow;

use smartex_core::status::{KnownStatus, StatusEvent};

/// Why a notification was refused.
///
/// Every variant says precisely what was wrong and which HTTP answer fits
/// ([`Error::answer`]). No variant ever holds a secret, a signing string or
/// the expected checksum: errors are logged, and an expected checksum is as
/// good as a forged notification.
///
/// ```
/// use smartex_ipn::{Error, IpnRequest, Receiver};
/// let receiver = Receiver::new();
/// let err = receiver.parse(&IpnRequest::new("GET", b"")).unwrap_err();
/// assert!(matches!(err, Error::WrongMethod { .. }));
/// assert_eq!(err.answer().status, 405);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request's method is not one the receiver accepts (`POST` by default).
    #[error("method not allowed (allowed: {})", allowed.join(", "))]
    WrongMethod {
        /// The accepted methods.
        allowed: &'static [&'static str],
    },
    /// The request's `Content-Type` is missing or not one the receiver accepts
    /// (`application/x-www-form-urlencoded` by default).
    #[error("content type not accepted (expected {expected})")]
    WrongContentType {
        /// What the receiver accepts, in words.
        expected: &'static str,
    },
    /// The body is longer than the receiver's limit.
    #[error("body larger than {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The body (or the query string) is not a readable notification: a field
    /// is missing, repeated, nested where it should not be or badly encoded, a
    /// key is malformed, or a decoder bound was exceeded. The core error names
    /// the field (never its value).
    #[error("malformed notification: {0}")]
    Malformed(#[source] smartex_core::Error),
    /// No checksum was found in any of the configured places.
    #[error("the notification carries no checksum")]
    MissingChecksum,
    /// A checksum was found but is not 64 hexadecimal digits (and no other
    /// place held a well-formed one).
    #[error("checksum in {location} is not 64 hexadecimal digits")]
    MalformedChecksum {
        /// Where it was found (`body field `hash``, `query parameter …`, `header …`).
        location: Cow<'static, str>,
    },
    /// The checksum does not match the one computed with the order's secret
    /// (or with any of the secrets, during a rotation).
    #[error("checksum does not match")]
    BadChecksum,
    /// The merchant's lookup found no order (hence no secret) for the
    /// notification's `orderId`/`orderUID`.
    #[error("unknown order")]
    UnknownOrder,
    /// The signed `timestamp` is older than the receiver's window allows.
    #[error("notification is {age_ms} ms old, older than the accepted {max_age_ms} ms")]
    TooOld {
        /// How old it is, in milliseconds.
        age_ms: u64,
        /// The largest accepted age, in milliseconds.
        max_age_ms: u64,
    },
    /// The signed `timestamp` is further in the future than the receiver's
    /// window allows (clock skew).
    #[error(
        "notification is {ahead_ms} ms in the future, more than the accepted {max_ahead_ms} ms"
    )]
    InTheFuture {
        /// How far ahead of `now` it is, in milliseconds.
        ahead_ms: u64,
        /// The largest accepted skew, in milliseconds.
        max_ahead_ms: u64,
    },
    /// The replay guard has already seen this notification (same order,
    /// status, timestamp and checksum). Do nothing, and answer success:
    /// [`Error::answer_knowing`] with the order's stored status tells a
    /// resend the order has moved past (stale) from a plain repeat
    /// (duplicate); [`Error::answer`] says duplicate.
    ///
    /// Both fields are verified: the checksum matched before the guard was
    /// asked.
    #[error("notification already received")]
    Replayed {
        /// `orderId`, as signed: which order's status to look up.
        order_id: String,
        /// The status change it reports, for the tracker.
        event: StatusEvent,
    },
}

impl Error {
    /// The wire name of the field this error is about, if it is about one
    /// (`orderId`, `toValues[1][value]`, …).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Malformed(e) => e.field(),
            _ => None,
        }
    }

    /// Whether the notification was genuine but is not to be acted upon
    /// ([`Error::Replayed`]): the sender should be told it was received.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Error::Replayed { .. })
    }

    /// For [`Error::Replayed`], the (verified) `orderId` of the notification
    /// seen again: the order whose stored status [`Error::answer_knowing`]
    /// needs.
    pub fn replayed_order_id(&self) -> Option<&str> {
        match self {
            Error::Replayed { order_id, .. } => Some(order_id),
            _ => None,
        }
    }

    /// The HTTP status and short body to send back; see [`crate::Answer`].
    /// A replay is answered as a duplicate: [`Error::answer_knowing`] can
    /// say stale.
    pub fn answer(&self) -> crate::Answer {
        crate::Answer::for_error(self)
    }

    /// [`Error::answer`], but a replay is decided against `known`, the
    /// status stored for [`Error::replayed_order_id`]: a resend of a
    /// notification the order has moved past is answered
    /// [`Answer::STALE`](crate::Answer::STALE), a plain repeat
    /// [`Answer::DUPLICATE`](crate::Answer::DUPLICATE)
    /// ([`Answer::for_replay`](crate::Answer::for_replay)).
    ///
    /// ```
    /// use smartex_ipn::{Answer, Error, KnownStatus, OrderStatus};
    /// use smartex_ipn::StatusEvent;
    /// let replay = Error::Replayed {
    ///     order_id: "5d8e6002b80b7b4cd75a6424".into(),
    ///     event: StatusEvent::ipn(OrderStatus::WaitPayment, smartex_ipn::UnixMillis::from_millis(1_700_000_000_000)),
    /// };
    /// // The order has been `done` since: the resend is stale.
    /// let done = KnownStatus::after(None, &StatusEvent::ipn(OrderStatus::Done, smartex_ipn::UnixMillis::from_millis(1_700_000_060_000)));
    /// assert_eq!(replay.answer_knowing(Some(&done)), Answer::STALE);
    /// assert_eq!(replay.answer(), Answer::DUPLICATE);
    /// ```
    pub fn answer_knowing(&self, known: Option<&KnownStatus>) -> crate::Answer {
        match self {
            Error::Replayed { event, .. } => {
                crate::Answer::for_replay(&smartex_core::status::decide(known, event))
            }
            other => other.answer(),
        }
    }
}

/// Converts the core's parse errors. A core checksum error becomes
/// [`Error::BadChecksum`] / [`Error::MissingChecksum`]; everything else is
/// [`Error::Malformed`].
impl From<smartex_core::Error> for Error {
    fn from(e: smartex_core::Error) -> Self {
        match e {
            smartex_core::Error::BadChecksum => Error::BadChecksum,
            smartex_core::Error::MissingChecksum => Error::MissingChecksum,
            other => Error::Malformed(other),
        }
    }
}

/// The result type of `smartex-ipn`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
