//! The durable reconciler: every open order in the store is polled until
//! final, through the same exactly-once apply as IPNs.

use std::future::Future;

use smartex_core::request::OrderViewKind;
use smartex_core::status::StatusEvent;
use smartex_http::Transport;
use smartex_store::{ApplyOutcome, Lease, Observation, OrderKey, OrderRecord, OrderStore};

use crate::failures::Failure;
use crate::merchant::{Merchant, ms};

/// What one [`Reconciler::run_once`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Orders claimed (due, and leased to this instance).
    pub claimed: usize,
    /// Polls sent (`order/get`).
    pub polled: usize,
    /// Polls that applied a change (an IPN was lost, late or not yet here).
    pub applied: usize,
    /// Polls that failed (the platform unreachable, …): retried later.
    pub failed: usize,
    /// Orders no longer polled: final, past the horizon, or pending past
    /// the pending horizon.
    pub finished: usize,
    /// Pending orders (no uid or secret yet) given up at the pending horizon.
    pub abandoned: usize,
}

/// Polls every non-final order in the store until it is final.
///
/// Made by [`Merchant::reconciler`]. Run it in the background on every
/// instance ([`run`](Self::run)); the database hands each due order to one
/// instance at a time (a lease: `FOR UPDATE SKIP LOCKED` on PostgreSQL, a
/// write-locked transaction on SQLite), so instances share the work without
/// polling an order twice at once, and an instance killed mid-poll only
/// delays the order until its lease expires. Everything it needs is in the
/// store, so it resumes after a restart.
///
/// Per order:
///
/// - **Known uid and secret**: `order/get`; the answer is an observation
///   timed by the request's start and end on our clock, widened by the
///   configured clock skew, applied exactly once like an IPN (so a poll
///   never moves an order backwards, nor lets a late IPN do so). The next
///   poll waits `first_poll × 1.5^polls` up to `max_poll`; final orders and
///   orders older than the horizon are not polled again. A final status the
///   tracker finds unexpected (say, an operator's change the lifecycle does
///   not know) is logged in the event log for review, and polling stops:
///   the platform will not change it again.
/// - **No uid or secret** — a checkout whose `order/create` failed
///   ambiguously (or a record that only an IPN bound: IPNs carry neither
///   the uid signed nor the secret). `order/get` cannot be called: the
///   platform has no lookup by reference, and this SDK invents none. The
///   order's first IPN binds it (its secret is derived from the reference);
///   the reconciler only waits, and gives the record up at the pending
///   horizon (counted as abandoned; no more scans).
pub struct Reconciler<S, T> {
    merchant: Merchant<S, T>,
}

impl<S, T> std::fmt::Debug for Reconciler<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("instance", &self.merchant.inner.instance)
            .finish_non_exhaustive()
    }
}

impl<S: OrderStore, T: Transport> Merchant<S, T> {
    /// The reconciler of this merchant's store.
    pub fn reconciler(&self) -> Reconciler<S, T> {
        Reconciler {
            merchant: self.clone(),
        }
    }
}

impl<S: OrderStore, T: Transport> Reconciler<S, T> {
    /// Runs until `shutdown` completes: a scan at once, then one every
    /// [`scan_every`](crate::ReconcileOptions::scan_every). A scan that fails
    /// (the store is down) is tried again at the next one.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let every = self.merchant.inner.reconcile.scan_every;
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_once().await {
                self.merchant.inner.failures.record(
                    Failure::ReconcileScan,
                    "reconcile scan failed; the next scan tries again",
                    &e,
                );
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One scan: claims the orders due a poll, batch after batch, until none
    /// is due, and handles each.
    ///
    /// # Errors
    /// The store's error, if claiming fails.
    pub async fn run_once(&self) -> Result<ReconcileReport, smartex_store::Error> {
        let inner = &self.merchant.inner;
        let mut report = ReconcileReport::default();
        // Bounded: a batch is re-claimed only while it came back full, and
        // every handled order's next poll lies in the future.
        for _ in 0..1000 {
            let lease = Lease {
                owner: inner.instance.clone(),
                now: inner.now(),
                duration: inner.reconcile.lease,
                limit: u32::try_from(inner.reconcile.batch).unwrap_or(u32::MAX),
            };
            let due = inner.store.claim_due(lease).await?;
            let full = due.len() >= inner.reconcile.batch;
            report.claimed += due.len();
            for order in due {
                self.handle(order, &mut report).await;
            }
            if !full {
                break;
            }
        }
        Ok(report)
    }

    async fn handle(&self, order: OrderRecord, report: &mut ReconcileReport) {
        let inner = &self.merchant.inner;
        let options = &inner.reconcile;
        let now = inner.now();
        let age = now.millis_since(order.created_at);
        let wait = ms(options.wait_after(order.poll_attempts));
        let next = match (order.uid, order.order_secret.as_ref()) {
            _ if order.is_final() => None,
            (Some(uid), Some(secret)) => {
                report.polled += 1;
                let sent = inner.now();
                let answer = inner
                    .client
                    .get_order(uid, secret, OrderViewKind::Order)
                    .await;
                let received = inner.now();
                let mut is_final = false;
                match answer {
                    Ok(view) => {
                        // The polled amounts travel with the observation.
                        let amounts = smartex_core::amounts::Amounts {
                            in_amount: view.order.in_amount.as_ref().map(|a| a.as_str().to_owned()),
                            out_amount: view
                                .order
                                .out_amount
                                .as_ref()
                                .map(|a| a.as_str().to_owned()),
                            from: None,
                            to: None,
                        };
                        let status = view.order.status;
                        is_final = status.is_final();
                        let event = StatusEvent::polled_between(
                            status,
                            sent,
                            received,
                            ms(options.clock_skew),
                        );
                        let observation = Observation::poll(event, received).with_amounts(amounts);
                        match inner
                            .store
                            .apply(OrderKey::Reference(&order.reference), observation)
                            .await
                        {
                            Ok(outcome @ ApplyOutcome::Decided { .. }) if outcome.is_applied() => {
                                report.applied += 1;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                report.failed += 1;
                                is_final = false;
                                inner.failures.record(
                                    Failure::Poll,
                                    "a poll's answer could not be applied; polled again later",
                                    &e,
                                );
                            }
                        }
                    }
                    Err(e) => {
                        report.failed += 1;
                        inner
                            .failures
                            .record(Failure::Poll, "order/get failed; polled again later", &e);
                    }
                }
                if is_final || age > ms(options.horizon) {
                    None
                } else {
                    Some(received.plus_ms(wait))
                }
            }
            _ => {
                let horizon = ms(options.pending_horizon);
                if age >= horizon {
                    report.abandoned += 1;
                    None
                } else {
                    let until_horizon = horizon - age;
                    Some(now.plus_ms(wait.min(until_horizon)))
                }
            }
        };
        if next.is_none() {
            report.finished += 1;
        }
        // `false`: the lease expired and another instance took the order;
        // it sets the next poll itself.
        if let Err(e) = inner
            .store
            .finish_poll(&order.reference, &inner.instance, next)
            .await
        {
            // The lease expires and the order is polled again: nothing lost.
            inner.failures.record(
                Failure::Poll,
                "a poll's end could not be recorded; the order's lease expires",
                &e,
            );
        }
    }
}
