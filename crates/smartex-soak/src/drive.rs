//! The orders: each checked out through a live instance and driven to a
//! final status on the sandbox by its own task, with random faults on its
//! IPNs — the soak's "platform side".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use smartex::core::{OrderStatus, OrderUid};
use smartex_sandbox::Sandbox;

use crate::lb;

/// A small xorshift generator: the soak's randomness, reproducible from
/// `--seed`.
#[derive(Debug)]
pub(crate) struct Rng(Mutex<u64>);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(Mutex::new(seed.max(1)))
    }

    pub(crate) fn next(&self) -> u64 {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *s = x;
        x
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A duration in `[lo, hi]` milliseconds.
    pub(crate) fn ms(&self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

/// How a checkout request ended, from the orchestrator's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CheckoutEnd {
    /// Created and bound: the store has its uid and secret.
    Created(OrderUid),
    /// The platform may have created it (the facade said so).
    Ambiguous,
    /// Refused by the platform: nothing was created.
    NotCreated,
    /// The instance died (or answered nonsense) mid-checkout.
    Lost,
}

/// What the drivers and the chaos did, counted for the summary.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) checkouts_ok: AtomicU64,
    pub(crate) checkouts_ambiguous: AtomicU64,
    /// Answered "not created": refused, or nothing sent (the API key's
    /// turn did not come within the attempt's timeout).
    pub(crate) checkouts_not_created: AtomicU64,
    pub(crate) checkouts_lost: AtomicU64,
    pub(crate) not_created: AtomicU64,
    pub(crate) faults_drop: AtomicU64,
    pub(crate) faults_duplicate: AtomicU64,
    pub(crate) faults_delay: AtomicU64,
    pub(crate) faults_stale: AtomicU64,
    pub(crate) faults_create_5xx: AtomicU64,
    pub(crate) faults_stall: AtomicU64,
    pub(crate) kills: AtomicU64,
}

/// Counts one.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The count so far.
pub(crate) fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// What the order drivers share.
pub(crate) struct Soak {
    pub(crate) sb: Arc<Sandbox>,
    pub(crate) rng: Rng,
    pub(crate) tally: Tally,
    pub(crate) backends: Arc<lb::Backends>,
    pub(crate) client: reqwest::Client,
    pub(crate) run_id: String,
    /// How each order's checkout ended, by reference: only those that
    /// answered "created" have uid and secret in the store.
    pub(crate) ends: Mutex<BTreeMap<String, CheckoutEnd>>,
    /// The instances' client timeout: a stall longer than it makes a call
    /// ambiguous.
    pub(crate) timeout_ms: u64,
}

impl Soak {
    fn reference(&self, i: usize) -> String {
        format!("soak-{}-{i}", self.run_id)
    }

    /// Checks out order `i` through a live instance, then drives it to a
    /// final status on the sandbox with random faults.
    pub(crate) async fn order(self: Arc<Self>, i: usize) {
        let reference = self.reference(i);
        if self.rng.chance(6) {
            bump(&self.tally.faults_create_5xx);
            self.sb.fail_next_create(500);
        } else if self.rng.chance(2) {
            // Longer than the instances' client timeout: an ambiguous
            // create (or a slow poll) of whichever call comes next.
            bump(&self.tally.faults_stall);
            self.sb.stall_responses(
                Duration::from_millis(self.timeout_ms + 300),
                smartex_sandbox::Times::Once,
            );
        }
        let end = self.checkout(&reference).await;
        let uid = match &end {
            CheckoutEnd::Created(uid) => {
                bump(&self.tally.checkouts_ok);
                Some(*uid)
            }
            other => {
                bump(match other {
                    CheckoutEnd::Ambiguous => &self.tally.checkouts_ambiguous,
                    CheckoutEnd::NotCreated => &self.tally.checkouts_not_created,
                    _ => &self.tally.checkouts_lost,
                });
                // Did the platform create it? Give a dying request a moment.
                tokio::time::sleep(Duration::from_millis(self.timeout_ms + 500)).await;
                self.sandbox_uid(&reference)
            }
        };
        self.ends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(reference.clone(), end.clone());
        let Some(uid) = uid else {
            bump(&self.tally.not_created);
            return;
        };
        // Orders whose uid and secret the store has can be polled: only
        // their IPNs may be lost. The others are tracked by IPNs alone (the
        // platform gives neither to an IPN), so losing one is not recoverable
        // by anyone: the soak does not drop theirs.
        let pollable = matches!(end, CheckoutEnd::Created(_));
        let path = self.rng.next() % 100;
        let _ = self.step(uid, pollable, None).await; // waitPayment
        if path < 10 {
            let _ = self.step(uid, pollable, Some(OrderStatus::Deleted)).await;
            return self.maybe_stale(uid).await;
        }
        let _ = self.step(uid, pollable, None).await; // inProgress
        if path < 20 {
            let _ = self.step(uid, pollable, Some(OrderStatus::Hold)).await;
            let _ = self
                .step(uid, pollable, Some(OrderStatus::InProgress))
                .await;
        }
        if (20..27).contains(&path) {
            let _ = self.step(uid, pollable, Some(OrderStatus::Returned)).await;
            return self.maybe_stale(uid).await;
        }
        let _ = self.step(uid, pollable, None).await; // inProgressPayout
        let _ = self.step(uid, pollable, None).await; // done
        self.maybe_stale(uid).await;
    }

    async fn maybe_stale(&self, uid: OrderUid) {
        if self.rng.chance(15) {
            bump(&self.tally.faults_stale);
            tokio::time::sleep(self.rng.ms(0, 200)).await;
            let _ = self
                .sb
                .resend_stale_ipn(uid, OrderStatus::WaitPayment)
                .await;
        }
    }

    /// One status change (the next on the happy path, or `to`), with a
    /// random fault on its IPN.
    async fn step(&self, uid: OrderUid, pollable: bool, to: Option<OrderStatus>) -> Option<()> {
        tokio::time::sleep(self.rng.ms(20, 200)).await;
        let roll = self.rng.next() % 100;
        let mut delayed = false;
        if pollable && roll < 15 {
            bump(&self.tally.faults_drop);
            self.sb.drop_next_ipn(uid);
        } else if roll < 25 {
            bump(&self.tally.faults_duplicate);
            self.sb.duplicate_next_ipn(uid);
        } else if roll < 35 {
            bump(&self.tally.faults_delay);
            self.sb.delay_next_ipn(uid, self.rng.ms(100, 600));
            delayed = true;
        }
        let sb = Arc::clone(&self.sb);
        let change = async move {
            match to {
                Some(status) => sb.set_status(uid, status).await.map(|_| ()),
                None => sb.advance(uid).await.map(|_| ()),
            }
        };
        if delayed {
            // Do not wait for the delayed IPN: the next change's IPN
            // overtakes it, and it arrives late (stale).
            tokio::spawn(change);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some(())
        } else {
            change.await.ok()
        }
    }

    async fn checkout(&self, reference: &str) -> CheckoutEnd {
        let Some(port) = self.backends.live().first().copied() else {
            return CheckoutEnd::Lost;
        };
        let sent = self
            .client
            .post(format!("http://127.0.0.1:{port}/checkout?ref={reference}"))
            .send()
            .await;
        let Ok(response) = sent else {
            return CheckoutEnd::Lost;
        };
        let code = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        match code {
            200 => text
                .strip_prefix("created ")
                .and_then(|u| OrderUid::parse("uid", u.trim()).ok())
                .map_or(CheckoutEnd::Lost, CheckoutEnd::Created),
            502 => CheckoutEnd::Ambiguous,
            422 => CheckoutEnd::NotCreated,
            _ => CheckoutEnd::Lost,
        }
    }

    fn sandbox_uid(&self, reference: &str) -> Option<OrderUid> {
        let suffix = format!("ref={reference}");
        self.sb
            .orders()
            .into_iter()
            .find(|o| o.ipn_url.as_deref().is_some_and(|u| u.ends_with(&suffix)))
            .map(|o| o.uid)
    }
}
