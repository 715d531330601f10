//! The platform's side of one order, as the audit compares the store with
//! it: the sandbox's history (every status with the instant it was set) and
//! each IPN record tied to the history entry it reports.
//!
//! An IPN is found in the event log by what it signed: its status, its
//! timestamp (an instant in ms, a second in seconds) and its amounts. Two
//! records that agree on all of them carry the same checksum: one
//! notification, whatever anyone does.

use std::collections::BTreeSet;

use smartex::core::status::StatusEvent;
use smartex::store::EventRow;
use smartex_sandbox::{DeliveryResult, IpnKind, IpnRecord, OrderSnapshot};

/// One IPN the sandbox sent (or meant to) for the order.
pub(crate) struct Sent<'a> {
    pub(crate) record: &'a IpnRecord,
    /// The history entry it reports.
    pub(crate) index: usize,
    /// Its signed status and time, as the receiver reads them (an interval
    /// for seconds).
    pub(crate) event: StatusEvent,
}

impl Sent<'_> {
    /// Whether the row records this IPN's signed status and time (the
    /// instant for milliseconds, the second for seconds).
    pub(crate) fn timed_as(&self, row: &EventRow) -> bool {
        row.event == self.event
    }

    /// Whether the row carries this IPN's signed amounts, exactly.
    fn amounts_of(&self, row: &EventRow) -> bool {
        row.amounts.in_amount.as_deref() == Some(self.record.in_amount.as_str())
            && row.amounts.out_amount.as_deref() == Some(self.record.out_amount.as_str())
    }

    /// Whether the receiver answered it with a 2xx: it got it, and said so.
    pub(crate) fn answered_2xx(&self) -> bool {
        matches!(&self.record.outcome, DeliveryResult::Delivered { status, .. } if (200..300).contains(status))
    }
}

/// An order's history and IPNs.
pub(crate) struct Truth<'a> {
    pub(crate) order: &'a OrderSnapshot,
    pub(crate) sent: Vec<Sent<'a>>,
}

impl<'a> Truth<'a> {
    /// Ties each record of `order` (`records`, in the order they were
    /// queued) to its history entry: the sandbox sends one original per
    /// change after `new`, in order; a duplicate or stale delivery carries
    /// an original's body. `Err` says what does not fit (a soak bug).
    pub(crate) fn new(order: &'a OrderSnapshot, records: &[&'a IpnRecord]) -> Result<Self, String> {
        let mut sent: Vec<Sent<'a>> = Vec::with_capacity(records.len());
        let mut originals = 0usize;
        for record in records.iter().copied() {
            let index = match record.kind {
                IpnKind::Original => {
                    originals += 1;
                    originals
                }
                _ => sent
                    .iter()
                    .find(|s| s.record.kind == IpnKind::Original && s.record.body == record.body)
                    .map(|s| s.index)
                    .ok_or_else(|| format!("IPN #{} repeats no original", record.seq))?,
            };
            let change = order
                .history
                .get(index)
                .ok_or_else(|| format!("IPN #{} has no history entry {index}", record.seq))?;
            let timestamp: u64 = record
                .timestamp
                .parse()
                .map_err(|_| format!("IPN #{}: timestamp {:?}", record.seq, record.timestamp))?;
            if change.status != record.status
                || (timestamp != change.at_ms && timestamp != change.at_ms / 1000)
            {
                return Err(format!(
                    "IPN #{} ({} at {timestamp}) is not history entry {index} ({} at {} ms)",
                    record.seq, record.status, change.status, change.at_ms
                ));
            }
            sent.push(Sent {
                record,
                index,
                event: StatusEvent::ipn_timestamp(record.status.clone(), timestamp),
            });
        }
        Ok(Truth { order, sent })
    }

    /// The IPNs an event row records: those that signed its status, time
    /// and amounts (one, unless two changes were signed alike) — or, if
    /// none carried its amounts, its status and time (its amounts were
    /// altered on the way).
    pub(crate) fn sent_as(&self, row: &EventRow) -> Vec<&Sent<'a>> {
        if !row.event.source.is_signed() {
            return Vec::new();
        }
        let timed: Vec<&Sent<'a>> = self.sent.iter().filter(|s| s.timed_as(row)).collect();
        let exact: Vec<&Sent<'a>> = timed
            .iter()
            .copied()
            .filter(|s| s.amounts_of(row))
            .collect();
        if exact.is_empty() { timed } else { exact }
    }

    /// The history entries an event row may stand for: for an IPN, those of
    /// the records it records ([`sent_as`](Self::sent_as)); for a poll, the
    /// entries of its status current at some instant of its window.
    pub(crate) fn candidates(&self, row: &EventRow) -> BTreeSet<usize> {
        if row.event.source.is_signed() {
            return self.sent_as(row).iter().map(|s| s.index).collect();
        }
        let history = &self.order.history;
        let (start, end) = match (row.event.at, row.event.latest()) {
            (Some(start), Some(end)) => (start.as_millis(), end.as_millis()),
            _ => (0, u64::MAX),
        };
        (0..history.len())
            .filter(|&k| history[k].status == row.event.status)
            .filter(|&k| {
                let from = history[k].at_ms;
                let until = history.get(k + 1).map_or(u64::MAX, |next| next.at_ms);
                from <= end && until > start
            })
            .collect()
    }
}
