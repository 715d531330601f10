//! What to send back, as plain data.

use smartex_core::status::Decision;

use crate::error::Error;

/// The HTTP status and short plain-text body to answer a notification with.
///
/// The platform sends each notification once and never again, whatever the
/// answer, so the answer is for the platform's logs and the merchant's
/// monitoring: success for everything genuine, a precise 4xx for the rest.
///
/// | outcome | status | body |
/// |---|---|---|
/// | verified, [`Decision::Apply`] | 200 | `OK` |
/// | verified, [`Decision::Duplicate`], or [`Error::Replayed`] | 200 | `OK: duplicate` |
/// | verified, [`Decision::Stale`] (older than what the merchant knows) | 200 | `OK: stale, ignored` |
/// | verified, [`Decision::Unexpected`] (not applied; held for a person to look at) | 202 | `Accepted: held for review` |
/// | [`Error::Malformed`] | 400 | `Bad Request: malformed notification` |
/// | [`Error::MissingChecksum`], [`Error::MalformedChecksum`], [`Error::BadChecksum`] | 401 | `Unauthorized: checksum missing or wrong` |
/// | [`Error::UnknownOrder`] | 404 | `Not Found: unknown order` |
/// | [`Error::WrongMethod`] | 405, with `Allow` | `Method Not Allowed` |
/// | [`Error::TooLarge`] | 413 | `Payload Too Large` |
/// | [`Error::WrongContentType`] | 415 | `Unsupported Media Type` |
/// | [`Error::TooOld`], [`Error::InTheFuture`] | 422 | `Unprocessable: timestamp outside the accepted window` |
/// | a replay of a notification the order has moved past ([`Error::answer_knowing`], [`Answer::for_replay`]) | 200 | `OK: stale, ignored` |
/// | the merchant's own processing failed ([`Answer::internal_error`]) | 500 | `Internal Server Error` |
///
/// Why these: a stale or duplicate notification is genuine and was received,
/// so it gets a 200 — there is nothing for anyone to fix. An unexpected one
/// (a final status changing, say) is genuine too, but a person should look at
/// it: 202 says "received, not applied". A timestamp outside the window is a
/// genuine, signed notification that is refused by policy — most likely a
/// replay — hence 422 rather than 400 (nothing is malformed) or 401 (the
/// signature is fine). `UnknownOrder` is 404: the `ipnUrl` may be shared by
/// another shop, or the order was lost.
///
/// ```
/// use smartex_ipn::{Answer, Error, OrderStatus, StatusEvent};
/// use smartex_ipn::Decision;
/// assert_eq!(Answer::for_decision(&Decision::Apply), Answer::OK);
/// assert_eq!(Answer::for_error(&Error::BadChecksum).status, 401);
/// let replay = Error::Replayed {
///     order_id: "5d8e6002b80b7b4cd75a6424".into(),
///     event: StatusEvent::ipn(OrderStatus::Done, smartex_ipn::UnixMillis::from_millis(1_700_000_000_000)),
/// };
/// assert_eq!(Answer::for_error(&replay), Answer::DUPLICATE);
/// let wrong_method = Answer::for_error(&Error::WrongMethod { allowed: &["POST"] });
/// assert_eq!(wrong_method.allow_header().as_deref(), Some("POST"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// A short plain-text body (send it as `text/plain; charset=utf-8`).
    pub body: &'static str,
    /// For 405: the methods to list in the `Allow` header.
    pub allow: Option<&'static [&'static str]>,
}

impl Answer {
    /// 200 `OK`: applied.
    pub const OK: Answer = Answer::new(200, "OK");
    /// 200 `OK: duplicate`.
    pub const DUPLICATE: Answer = Answer::new(200, "OK: duplicate");
    /// 200 `OK: stale, ignored`.
    pub const STALE: Answer = Answer::new(200, "OK: stale, ignored");
    /// 200 `OK: recorded as history`: a genuine change the order's status had
    /// already moved past ([`Decision::Superseded`]).
    pub const SUPERSEDED: Answer = Answer::new(200, "OK: recorded as history");
    /// 202 `Accepted: held for review`.
    pub const HELD: Answer = Answer::new(202, "Accepted: held for review");
    /// 500 `Internal Server Error`: see [`Answer::internal_error`].
    pub const INTERNAL_ERROR: Answer = Answer::new(500, "Internal Server Error");

    /// The answer when the merchant's own processing of a genuine
    /// notification failed (the database is down, say): 500.
    ///
    /// The platform never retries, whatever the answer, so this brings the
    /// notification back no more than a 200 would. It is for the platform's
    /// logs and the merchant's monitoring: a failure shows as a failure
    /// instead of a success that hides a lost notification. What recovers
    /// the change is polling the order (`order/get`) until it is final — keep
    /// the order recorded before creating it, so there is something to poll.
    /// If a replay guard recorded the notification, call
    /// [`Receiver::forget`](crate::Receiver::forget) too, so that a resend
    /// by hand goes through.
    ///
    /// ```
    /// use smartex_ipn::Answer;
    /// let answer = Answer::internal_error();
    /// assert_eq!(answer.status, 500);
    /// assert!(!answer.is_success());
    /// ```
    pub const fn internal_error() -> Answer {
        Self::INTERNAL_ERROR
    }

    const fn new(status: u16, body: &'static str) -> Self {
        Self {
            status,
            body,
            allow: None,
        }
    }

    /// The answer to a refusal.
    pub fn for_error(error: &Error) -> Answer {
        match error {
            Error::Replayed { .. } => Self::DUPLICATE,
            Error::Malformed(_) => Self::new(400, "Bad Request: malformed notification"),
            Error::MissingChecksum | Error::MalformedChecksum { .. } | Error::BadChecksum => {
                Self::new(401, "Unauthorized: checksum missing or wrong")
            }
            Error::UnknownOrder => Self::new(404, "Not Found: unknown order"),
            Error::WrongMethod { allowed } => Answer {
                allow: Some(allowed),
                ..Self::new(405, "Method Not Allowed")
            },
            Error::TooLarge { .. } => Self::new(413, "Payload Too Large"),
            Error::WrongContentType { .. } => Self::new(415, "Unsupported Media Type"),
            Error::TooOld { .. } | Error::InTheFuture { .. } => {
                Self::new(422, "Unprocessable: timestamp outside the accepted window")
            }
        }
    }

    /// The answer to a verified notification, given the tracker's decision.
    pub fn for_decision(decision: &Decision) -> Answer {
        match decision {
            Decision::Apply => Self::OK,
            Decision::Duplicate => Self::DUPLICATE,
            Decision::Stale => Self::STALE,
            Decision::Superseded => Self::SUPERSEDED,
            // Received, not applied: for a person to look at.
            Decision::Unexpected { .. } => Self::HELD,
        }
    }

    /// The answer to a replay ([`Error::Replayed`], or a store that knows
    /// the notification's identity), given what the tracker decides for it
    /// now against the order's known status: a resend of a notification the
    /// order has moved past is reported as what it is — stale — rather than
    /// as a duplicate; anything else is a duplicate.
    ///
    /// ```
    /// use smartex_ipn::{Answer, Decision};
    /// assert_eq!(Answer::for_replay(&Decision::Stale), Answer::STALE);
    /// assert_eq!(Answer::for_replay(&Decision::Duplicate), Answer::DUPLICATE);
    /// assert_eq!(Answer::for_replay(&Decision::Apply), Answer::DUPLICATE);
    /// ```
    pub fn for_replay(decision_now: &Decision) -> Answer {
        match decision_now {
            Decision::Stale => Self::STALE,
            _ => Self::DUPLICATE,
        }
    }

    /// The answer to a whole attempt: the decision if verified, else the error.
    pub fn for_result<T>(
        result: &Result<T, Error>,
        decision: impl FnOnce(&T) -> Decision,
    ) -> Answer {
        match result {
            Ok(t) => Self::for_decision(&decision(t)),
            Err(e) => Self::for_error(e),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Allow` header's value, for a 405.
    pub fn allow_header(&self) -> Option<String> {
        self.allow.map(|methods| methods.join(", "))
    }
}

impl From<&Error> for Answer {
    fn from(error: &Error) -> Self {
        Answer::for_error(error)
    }
}

impl From<&Decision> for Answer {
    fn from(decision: &Decision) -> Self {
        Answer::for_decision(decision)
    }
}
