//! Conversions between stored columns and the store's types, shared by the
//! backends (both store times as signed 64-bit integers and text for the rest).
//!
//! This is the one place where a typed value meets its column: instants
//! ([`UnixMillis`]) become milliseconds in an `INTEGER`/`BIGINT` column and
//! back, references ([`Reference`]) are checked again when read.

use std::time::Duration;

use smartex_core::amounts::Amounts;
use smartex_core::derived::Reference;
use smartex_core::status::{KnownStatus, SignedMark, Source, StatusEvent};
use smartex_core::time::UnixMillis;
use smartex_core::{ObjectId, OrderStatus, OrderUid};

use crate::error::{Error, Result};
use crate::model::{DecisionKind, NotificationKey, Resolution};

/// A time or count to store: refused if it does not fit a signed 64-bit column.
pub(crate) fn to_i64(field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::InvalidInput {
        field,
        reason: "is larger than the database can store",
    })
}

/// A stored time or count: never negative when this crate wrote it.
pub(crate) fn to_u64(field: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt {
        field,
        reason: "is negative",
    })
}

/// An instant to store, in milliseconds.
pub(crate) fn instant_to_db(field: &'static str, t: UnixMillis) -> Result<i64> {
    to_i64(field, t.as_millis())
}

/// An optional instant to store.
pub(crate) fn instant_opt_to_db(field: &'static str, t: Option<UnixMillis>) -> Result<Option<i64>> {
    t.map(|t| instant_to_db(field, t)).transpose()
}

/// A stored instant (milliseconds in column `field`).
pub(crate) fn instant(field: &'static str, value: i64) -> Result<UnixMillis> {
    to_u64(field, value).map(UnixMillis::from_millis)
}

/// A stored optional instant.
pub(crate) fn instant_opt(field: &'static str, value: Option<i64>) -> Result<Option<UnixMillis>> {
    value.map(|t| instant(field, t)).transpose()
}

/// The end of a lease of `duration` taken at `now`, to store: whole
/// milliseconds, saturating far in the future.
pub(crate) fn lease_end(now: UnixMillis, duration: Duration) -> Result<i64> {
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    instant_to_db("lease end", now.plus_ms(ms))
}

/// A stored reference (column `reference`): one that does not parse as a
/// [`Reference`] was not written by this crate.
pub(crate) fn reference(value: String) -> Result<Reference> {
    Reference::new(value).map_err(|_| Error::Corrupt {
        field: "reference",
        reason: "is not a valid reference (1 to 64 of A-Z a-z 0-9 - _ . ~)",
    })
}

/// A stored count that fits 32 bits.
pub(crate) fn to_u32(field: &'static str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::Corrupt {
        field,
        reason: "is out of range",
    })
}

/// A stored `orderId`.
pub(crate) fn order_id(value: Option<String>) -> Result<Option<ObjectId>> {
    value
        .map(|s| {
            ObjectId::parse("order_id", &s).map_err(|_| Error::Corrupt {
                field: "order_id",
                reason: "is not a 24-hex-digit id",
            })
        })
        .transpose()
}

/// A stored `uid`.
pub(crate) fn uid(value: Option<String>) -> Result<Option<OrderUid>> {
    value
        .map(|s| {
            OrderUid::parse("uid", &s).map_err(|_| Error::Corrupt {
                field: "uid",
                reason: "is not a positive integer",
            })
        })
        .transpose()
}

/// A stored source (`ipn` / `poll`) with its window.
pub(crate) fn source(value: &str, window_ms: i64) -> Result<Source> {
    match value {
        "ipn" => match window_ms {
            0 => Ok(Source::Ipn),
            999 => Ok(Source::IpnSeconds),
            _ => Err(Error::Corrupt {
                field: "window_ms",
                reason: "is neither 0 nor 999 for an IPN",
            }),
        },
        "poll" => Ok(Source::Poll {
            window_ms: to_u64("window_ms", window_ms)?,
        }),
        _ => Err(Error::Corrupt {
            field: "source",
            reason: "is neither ipn nor poll",
        }),
    }
}

/// The stored known status, if the order has one.
pub(crate) fn known(
    status: Option<String>,
    at_ms: Option<i64>,
    window_ms: i64,
    source_text: Option<String>,
    last_signed: Option<SignedMark>,
) -> Result<Option<KnownStatus>> {
    let Some(status) = status else {
        return Ok(None);
    };
    let source = source(source_text.as_deref().unwrap_or("ipn"), window_ms)?;
    Ok(Some(KnownStatus {
        status: OrderStatus::parse(&status),
        at: instant_opt("at_ms", at_ms)?,
        source,
        last_signed,
    }))
}

/// The stored newest signed change of an order, if it has one.
pub(crate) fn signed_mark(
    status: Option<String>,
    at_ms: Option<i64>,
    window_ms: i64,
) -> Result<Option<SignedMark>> {
    let (Some(status), Some(at_ms)) = (status, at_ms) else {
        return Ok(None);
    };
    Ok(Some(SignedMark {
        status: OrderStatus::parse(&status),
        at: UnixMillis::from_millis(to_u64("signed_at_ms", at_ms)?),
        window_ms: to_u64("signed_window_ms", window_ms)?,
    }))
}

/// Stored amounts (exact text as received).
pub(crate) fn amounts(
    in_amount: Option<String>,
    out_amount: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Amounts {
    Amounts {
        in_amount,
        out_amount,
        from,
        to,
    }
}

/// A stored event.
pub(crate) fn event(
    status: &str,
    at_ms: Option<i64>,
    window_ms: i64,
    source_text: &str,
) -> Result<StatusEvent> {
    Ok(StatusEvent {
        status: OrderStatus::parse(status),
        at: instant_opt("at_ms", at_ms)?,
        source: source(source_text, window_ms)?,
    })
}

/// A stored decision.
pub(crate) fn decision(value: &str) -> Result<DecisionKind> {
    DecisionKind::parse(value).ok_or(Error::Corrupt {
        field: "decision",
        reason: "is not a known decision",
    })
}

/// A stored notification key.
pub(crate) fn key(value: Option<String>) -> Result<Option<NotificationKey>> {
    value.map(NotificationKey::custom).transpose()
}

/// The stored resolution of a held change, on a person's decision's row:
/// all three columns or none.
pub(crate) fn resolution(
    resolves: Option<i64>,
    by: Option<String>,
    at_ms: Option<i64>,
) -> Result<Option<Resolution>> {
    match (resolves, by, at_ms) {
        (None, None, None) => Ok(None),
        (Some(resolves), Some(by), Some(at_ms)) => Ok(Some(Resolution {
            resolves,
            by,
            at: instant("decided_at_ms", at_ms)?,
        })),
        _ => Err(Error::Corrupt {
            field: "resolves_event_id",
            reason: "is stored without who decided and when, or they without it",
        }),
    }
}

/// The most bytes of who decided that the store keeps.
pub(crate) const DECIDED_BY_MAX: usize = 200;

/// Who decided on a held change, checked before it is stored: 1 to 200 bytes
/// of text with something visible and no control character (it ends up on
/// terminals and in logs).
pub(crate) fn decided_by(by: &str) -> Result<()> {
    let reason = if by.trim().is_empty() {
        "must name who decided"
    } else if by.len() > DECIDED_BY_MAX {
        "must be at most 200 bytes"
    } else if by.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        field: "decided by",
        reason,
    })
}
