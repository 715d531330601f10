//! One scripted IPN history and the decisions it must get — the same from
//! every implementation of the receive path: the core's `Tracker`, the store
//! (SQLite and PostgreSQL) and the `smartex ipn listen` receiver. Included
//! with `#[path]` by each of their test suites, so the history and its
//! expected decisions exist once.
//!
//! Each step is a signed IPN of one order: its status, its time as an offset
//! in milliseconds from a base instant the test picks (second-aligned, within
//! the receivers' time window), whether it is signed in whole seconds, and
//! the decision. The steps catch the rules a copy of the transition would
//! get wrong: a late change older than a recorded signed change (stale), a
//! revisit of the current status signed after it (applied again), a
//! timestamp in seconds read as its whole second, a final status changing.

// Not every includer uses every item.
#![allow(dead_code)]

use smartex_core::OrderStatus::{self, *};
use smartex_core::status::Decision;

/// One step of the history.
pub(crate) struct Step {
    /// The status the IPN reports.
    pub(crate) status: OrderStatus,
    /// Its time: milliseconds after the base instant.
    pub(crate) offset_ms: u64,
    /// Signed as `Math.floor(ms / 1000)` instead of milliseconds.
    pub(crate) in_seconds: bool,
    /// The decision every implementation must make.
    pub(crate) decision: Decision,
}

const fn step(status: OrderStatus, offset_ms: u64, in_seconds: bool, decision: Decision) -> Step {
    Step {
        status,
        offset_ms,
        in_seconds,
        decision,
    }
}

/// The history, in arrival order.
pub(crate) fn history() -> Vec<Step> {
    let held = Decision::Unexpected {
        reason: "the order's status is final",
    };
    vec![
        step(WaitPayment, 1_000, false, Decision::Apply),
        step(InProgress, 2_000, false, Decision::Apply),
        // Sent before inProgress, arrived after: older than a signed change.
        step(WaitPayment, 1_500, false, Decision::Stale),
        step(InProgressPayout, 3_000, false, Decision::Apply),
        // The same status again, signed later: the order left it (an
        // errorPayout whose IPN was lost) and came back.
        step(InProgressPayout, 6_000, false, Decision::Apply),
        // The lost errorPayout, late: older than the revisit just applied.
        // (A receiver that forgets the revisit's time applies it: a regression.)
        step(ErrorPayout, 4_000, false, Decision::Stale),
        step(ErrorPayout, 7_000, false, Decision::Apply),
        step(InProgressPayout, 7_400, false, Decision::Apply),
        // `done` signed in seconds, in the same second as the inProgressPayout
        // before it: read as the whole second, it may follow it (and only
        // that way round), so it is applied — read as the second's first
        // millisecond it would look older, and be lost.
        step(Done, 7_600, true, Decision::Apply),
        // A final status never changes: held for a person.
        step(InProgress, 9_000, false, held),
    ]
}

/// The signed `timestamp` text of `step` for a history based at `base_ms`
/// (a multiple of 1000).
pub(crate) fn timestamp(step: &Step, base_ms: u64) -> String {
    let at = base_ms + step.offset_ms;
    if step.in_seconds {
        (at / 1000).to_string()
    } else {
        at.to_string()
    }
}
