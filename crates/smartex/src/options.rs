//! Tunables of the reconciler and the outbox, with the defaults a shop
//! deploying a few instances behind a load balancer would pick.

use std::time::Duration;

/// How the [reconciler](crate::Reconciler) polls open orders.
///
/// ```
/// use std::time::Duration;
/// use smartex::ReconcileOptions;
/// let options = ReconcileOptions::default()
///     .scan_every(Duration::from_secs(10))
///     .backoff(Duration::from_secs(5), Duration::from_secs(600))
///     .horizon(Duration::from_secs(3 * 24 * 3600));
/// assert_eq!(options.batch, 32);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReconcileOptions {
    /// How often the store is scanned for orders due a poll (default 15 s).
    pub scan_every: Duration,
    /// The wait before an open order's first poll, growing by half with
    /// each poll of the order (default 5 s) …
    pub first_poll: Duration,
    /// … up to this (default 10 min). The store counts every finished poll,
    /// so the wait does not shrink again after a change.
    pub max_poll: Duration,
    /// An order still not final this long after it was created is no longer
    /// polled, and an event says so (default 7 days: a payout may wait for an
    /// operator for days).
    pub horizon: Duration,
    /// A pending order — checkout recorded it, but `order/create` failed
    /// ambiguously, so neither its uid nor its secret is known and it cannot
    /// be polled — waits this long for its first IPN to bind it, then is
    /// marked abandoned (default 1 h; the platform sends `waitPayment` at
    /// once, and an unpaid order expires).
    pub pending_horizon: Duration,
    /// How long an instance holds an order it is polling before another
    /// instance may take it (default 60 s; longer than a poll's timeout).
    pub lease: Duration,
    /// How many due orders one scan takes (default 32).
    pub batch: usize,
    /// The allowance for the difference between our clock and the platform's
    /// when a poll's answer carries no time of its own (default 5 s): the
    /// observation stands for any instant from the request's start minus the
    /// skew to its answer plus the skew.
    pub clock_skew: Duration,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            scan_every: Duration::from_secs(15),
            first_poll: Duration::from_secs(5),
            max_poll: Duration::from_secs(600),
            horizon: Duration::from_secs(7 * 24 * 3600),
            pending_horizon: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            batch: 32,
            clock_skew: Duration::from_secs(5),
        }
    }
}

impl ReconcileOptions {
    /// Sets [`scan_every`](Self::scan_every).
    #[must_use]
    pub fn scan_every(mut self, every: Duration) -> Self {
        self.scan_every = every;
        self
    }

    /// Sets [`first_poll`](Self::first_poll) and [`max_poll`](Self::max_poll).
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first_poll = first;
        self.max_poll = max.max(first);
        self
    }

    /// Sets [`horizon`](Self::horizon).
    #[must_use]
    pub fn horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// Sets [`pending_horizon`](Self::pending_horizon).
    #[must_use]
    pub fn pending_horizon(mut self, horizon: Duration) -> Self {
        self.pending_horizon = horizon;
        self
    }

    /// Sets [`lease`](Self::lease).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`batch`](Self::batch) (at least 1).
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Sets [`clock_skew`](Self::clock_skew).
    #[must_use]
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The wait after `polls` polls without change: `first_poll × 1.5^polls`,
    /// capped at `max_poll`.
    pub(crate) fn wait_after(&self, polls: u32) -> Duration {
        let mut wait = self.first_poll;
        for _ in 0..polls.min(64) {
            wait = (wait + wait / 2).min(self.max_poll);
            if wait == self.max_poll {
                break;
            }
        }
        wait
    }
}

/// How the [outbox](crate::Outbox) hands applied changes to the merchant's
/// business step.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutboxOptions {
    /// How long a delivery is held by one consumer before another may take
    /// it again (default 60 s): longer than the business step takes.
    pub lease: Duration,
    /// How often the outbox is checked when it was empty (default 1 s).
    pub idle_wait: Duration,
    /// The wait before a failed delivery is offered again (default 5 s).
    pub retry_after: Duration,
    /// How many changes one claim takes (default 16).
    pub batch: usize,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            idle_wait: Duration::from_secs(1),
            retry_after: Duration::from_secs(5),
            batch: 16,
        }
    }
}

impl OutboxOptions {
    /// Sets [`lease`](Self::lease).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`idle_wait`](Self::idle_wait).
    #[must_use]
    pub fn idle_wait(mut self, wait: Duration) -> Self {
        self.idle_wait = wait;
        self
    }

    /// Sets [`retry_after`](Self::retry_after).
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Sets [`batch`](Self::batch) (at least 1).
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_half_up_to_the_cap() {
        let o = ReconcileOptions::default().backoff(Duration::from_secs(2), Duration::from_secs(5));
        assert_eq!(o.wait_after(0), Duration::from_secs(2));
        assert_eq!(o.wait_after(1), Duration::from_secs(3));
        assert_eq!(o.wait_after(2), Duration::from_millis(4500));
        assert_eq!(o.wait_after(3), Duration::from_secs(5));
        assert_eq!(o.wait_after(u32::MAX), Duration::from_secs(5));
    }
}
