//! The outbox: applied changes reach the merchant's business step at least
//! once, acknowledged after it succeeds.

use std::future::Future;

use smartex_http::Transport;
use smartex_store::{Lease, OrderStore, OutboxItem};

use crate::failures::Failure;
use crate::merchant::{Merchant, ms};

/// Delivers applied status changes to the merchant's business step (ship
/// the goods, refund, e-mail) **at least once**.
///
/// Every applied change — from an IPN or a poll — is written as an outbox
/// item in the same transaction as the change itself. The outbox hands items
/// out under a lease and forgets one only when it is acknowledged, after the
/// business step succeeded. A crash between the apply and the business step,
/// or during it, loses nothing: the lease expires and the item is delivered
/// again (to this instance after a restart, or to another). So the business
/// step must be idempotent — key it by [`OutboxItem::id`] or by the order's
/// reference and status.
///
/// Made by [`Merchant::outbox`]; run [`run`](Self::run) on every instance,
/// or claim and acknowledge by hand ([`claim`](Self::claim),
/// [`ack`](Self::ack), [`retry`](Self::retry)).
pub struct Outbox<S, T> {
    merchant: Merchant<S, T>,
}

impl<S, T> std::fmt::Debug for Outbox<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("instance", &self.merchant.inner.instance)
            .finish_non_exhaustive()
    }
}

impl<S: OrderStore, T: Transport> Merchant<S, T> {
    /// Runs this instance's background work until `shutdown` completes: the
    /// [reconciler](Merchant::reconciler) (a scan at once — what changed
    /// while the instance was down — then one every
    /// [`scan_every`](crate::ReconcileOptions::scan_every)) and the
    /// [outbox](Merchant::outbox), which hands each applied change to
    /// `business_step` as [`Outbox::run`] does. Run it on every instance:
    /// leases keep them from polling one order or delivering one change at
    /// the same time.
    ///
    /// ```no_run
    /// # async fn f(shop: smartex::Merchant<smartex::store::SqliteStore>) {
    /// let ship = |change: smartex::OutboxItem| async move {
    ///     // Idempotently: a change can be delivered again after a crash.
    ///     println!("order {} is now {}", change.reference, change.status);
    ///     Ok::<(), std::io::Error>(())
    /// };
    /// tokio::spawn(async move { shop.run_background(ship, std::future::pending()).await });
    /// # }
    /// ```
    pub async fn run_background<F, Fut, E>(&self, business_step: F, shutdown: impl Future<Output = ()>)
    where
        F: FnMut(OutboxItem) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        // Both loops stop on the one `shutdown`: a watch channel fans it out.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = || {
            let mut stopped = stopped.clone();
            async move {
                // An error means the sender is gone: the stop was sent first.
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let outbox = self.outbox();
        tokio::join!(
            self.reconciler().run(until_stopped()),
            outbox.run(business_step, until_stopped()),
            async move {
                shutdown.await;
                let _ = stop.send(true);
            },
        );
    }
}

impl<S: OrderStore, T: Transport> Merchant<S, T> {
    /// The outbox of this merchant's store.
    pub fn outbox(&self) -> Outbox<S, T> {
        Outbox {
            merchant: self.clone(),
        }
    }
}

impl<S: OrderStore, T: Transport> Outbox<S, T> {
    /// Claims up to [`batch`](crate::OutboxOptions::batch) items due for
    /// delivery, leased to this instance.
    ///
    /// # Errors
    /// The store's error.
    pub async fn claim(&self) -> Result<Vec<OutboxItem>, smartex_store::Error> {
        let inner = &self.merchant.inner;
        inner
            .store
            .claim_outbox(Lease {
                owner: inner.instance.clone(),
                now: inner.now(),
                duration: inner.outbox.lease,
                limit: u32::try_from(inner.outbox.batch).unwrap_or(u32::MAX),
            })
            .await
    }

    /// Acknowledges `item`: its business step succeeded; it is never
    /// delivered again. `false` if it was acknowledged before.
    ///
    /// # Errors
    /// The store's error (the item will then be delivered again).
    pub async fn ack(&self, item: &OutboxItem) -> Result<bool, smartex_store::Error> {
        self.merchant
            .inner
            .store
            .ack_outbox(item.id, self.merchant.inner.now())
            .await
    }

    /// Gives `item` back after its business step failed: delivered again
    /// after [`retry_after`](crate::OutboxOptions::retry_after).
    ///
    /// # Errors
    /// The store's error (the item is then delivered again when its lease
    /// expires).
    pub async fn retry(&self, item: &OutboxItem) -> Result<bool, smartex_store::Error> {
        let inner = &self.merchant.inner;
        let at = inner.now().plus_ms(ms(inner.outbox.retry_after));
        inner.store.retry_outbox(item.id, &inner.instance, at).await
    }

    /// Runs until `shutdown` completes: claims items, calls `handler` on each
    /// and acknowledges it when the handler returns `Ok`; on `Err` the item
    /// is offered again later. Waits [`idle_wait`](crate::OutboxOptions::idle_wait)
    /// when there is nothing to deliver or the store fails.
    pub async fn run<F, Fut, E>(&self, mut handler: F, shutdown: impl Future<Output = ()>)
    where
        F: FnMut(OutboxItem) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        use futures_util::FutureExt as _;
        let inner = &self.merchant.inner;
        let idle = inner.outbox.idle_wait;
        tokio::pin!(shutdown);
        loop {
            let items = match self.claim().await {
                Ok(items) => items,
                Err(e) => {
                    inner.failures.record(
                        Failure::OutboxStore,
                        "outbox claim failed; tried again after the idle wait",
                        &e,
                    );
                    Vec::new()
                }
            };
            let busy = !items.is_empty();
            for item in items {
                // The handler's outcome decides; a store error on ack or retry
                // leaves the lease to expire, and the item comes back. A
                // panic is the merchant's code failing once: caught, counted,
                // the item offered again later, the other items go on.
                let step = std::panic::AssertUnwindSafe(handler(item.clone()));
                let failed = match step.catch_unwind().await {
                    Ok(Ok(())) => {
                        if let Err(e) = self.ack(&item).await {
                            inner.failures.record(
                                Failure::OutboxStore,
                                "outbox acknowledgement failed; the item comes back",
                                &e,
                            );
                        }
                        false
                    }
                    // The merchant's own text: escaped and bounded for the log.
                    Ok(Err(e)) => {
                        inner.failures.record(
                            Failure::BusinessStep,
                            "business step failed; delivered again later",
                            &smartex_core::Escaped(&e.to_string()),
                        );
                        true
                    }
                    Err(panic) => {
                        inner.failures.record(
                            Failure::BusinessStepPanic,
                            "business step panicked; delivered again later",
                            &smartex_core::Escaped(&panic_message(&*panic)),
                        );
                        true
                    }
                };
                if failed && let Err(e) = self.retry(&item).await {
                    inner.failures.record(
                        Failure::OutboxStore,
                        "outbox give-back failed; the item comes back when its lease expires",
                        &e,
                    );
                }
            }
            if busy {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::task::yield_now() => {}
                }
            } else {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(idle) => {}
                }
            }
        }
    }
}

/// The text of a caught panic, when it is a string (it usually is).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
