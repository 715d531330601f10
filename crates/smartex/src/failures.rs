//! What the background work met: every failure of the reconciler, the
//! outbox and an IPN's store work finishing after its answer is logged through `tracing` (feature `tracing`) and counted, so
//! that nothing fails silently — [`Merchant::failures`] reads the counts.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Merchant;

/// Counts of the failures the background work met since the merchant was
/// built: [`Merchant::failures`]. Each is also a `tracing` event (`warn`;
/// `error` for a panicking business step) with the error, never a secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailureCounts {
    /// Reconciler scans that failed as a whole (the store could not be
    /// read): the next scan tries again.
    pub reconcile_scans: u64,
    /// Polls of one order that failed (`order/get`, or the store applying
    /// its answer): polled again at the next due time.
    pub polls: u64,
    /// Store failures of the outbox (claiming, acknowledging, giving back):
    /// the item comes back when its lease expires.
    pub outbox_store: u64,
    /// Business steps that returned an error: the item is delivered again
    /// after the outbox's `retry_after`.
    pub business_steps: u64,
    /// Business steps that panicked: counted here and as a failed step, the
    /// item delivered again later; the outbox and the reconciler go on.
    pub business_step_panics: u64,
    /// IPNs answered 500 at their store deadline whose store work then
    /// failed as well: the reconciler recovers them by polling.
    pub ipn_store: u64,
}

/// The counters behind [`FailureCounts`].
#[derive(Debug, Default)]
pub(crate) struct Failures {
    reconcile_scans: AtomicU64,
    polls: AtomicU64,
    outbox_store: AtomicU64,
    business_steps: AtomicU64,
    business_step_panics: AtomicU64,
    ipn_store: AtomicU64,
}

/// Which failure.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure {
    ReconcileScan,
    Poll,
    OutboxStore,
    BusinessStep,
    BusinessStepPanic,
    IpnStore,
}

impl Failures {
    /// Counts one failure of `kind` and logs it with `error` (its `Display`,
    /// which in this SDK never holds a secret and escapes received text).
    pub(crate) fn record(&self, kind: Failure, what: &str, error: &dyn std::fmt::Display) {
        let counter = match kind {
            Failure::ReconcileScan => &self.reconcile_scans,
            Failure::Poll => &self.polls,
            Failure::OutboxStore => &self.outbox_store,
            Failure::BusinessStep => &self.business_steps,
            Failure::BusinessStepPanic => &self.business_step_panics,
            Failure::IpnStore => &self.ipn_store,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        match kind {
            Failure::BusinessStepPanic | Failure::IpnStore => {
                tracing::error!(error = %error, "{what}")
            }
            _ => tracing::warn!(error = %error, "{what}"),
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (what, error);
    }

    fn counts(&self) -> FailureCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FailureCounts {
            reconcile_scans: get(&self.reconcile_scans),
            polls: get(&self.polls),
            outbox_store: get(&self.outbox_store),
            business_steps: get(&self.business_steps),
            business_step_panics: get(&self.business_step_panics),
            ipn_store: get(&self.ipn_store),
        }
    }
}

impl<S, T> Merchant<S, T> {
    /// What the background work (reconciler, outbox) of this merchant met so
    /// far: every failure counted, none silent.
    pub fn failures(&self) -> FailureCounts {
        self.inner.failures.counts()
    }
}
