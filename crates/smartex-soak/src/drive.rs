//! The orders: each checked out through a live instance on a random route
//! and driven to a final status on the sandbox by its own task, along a
//! random path of the lifecycle, with random faults on its IPNs — the
//! soak's "platform side".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use smartex::core::status::Actor;
use smartex::core::{OrderStatus, OrderUid};
use smartex_sandbox::{Sandbox, Script};

use crate::lb;
use crate::route::RouteKind;

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
    /// `waitPayment → errorPayment → waitPayment` within a few hundred ms.
    pub(crate) bounce_payment: AtomicU64,
    /// `inProgressPayout → errorPayout → inProgressPayout` likewise.
    pub(crate) bounce_payout: AtomicU64,
    /// `hold` and back, or settled on from `hold`, likewise.
    pub(crate) holds: AtomicU64,
    /// Statuses set by an operator (inside scripts too).
    pub(crate) operator_moves: AtomicU64,
    /// The customer's own `inProgress` on the manual-payment route.
    pub(crate) customer_claims: AtomicU64,
    /// Amounts recalculated on a floating-rate route.
    pub(crate) recalculations: AtomicU64,
    /// Orders paid less than the quote before the payout statuses.
    pub(crate) underpaid: AtomicU64,
    /// Orders expired to `deleted` by the server.
    pub(crate) expired: AtomicU64,
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
    /// The sandbox's route of each kind.
    pub(crate) routes: BTreeMap<RouteKind, String>,
}

/// An order being driven.
struct Driven {
    uid: OrderUid,
    kind: RouteKind,
    /// Whether the store has its uid and secret (see [`Soak::order`]).
    pollable: bool,
}

/// One move of an order on the platform, each with its IPN(s).
enum Move {
    /// The next status of the happy path, by the server.
    Advance,
    /// A status set by an actor.
    Set(OrderStatus, Actor),
    /// The customer's "I have paid" (`waitPayment → inProgress`).
    ClaimPaid,
    /// `new` or `waitPayment` expired to `deleted` by the server.
    Expire,
    /// Several changes in a row.
    Script(Script),
}

/// `steps` one after another, 0 to 300 ms apart.
fn back_and_forth(steps: &[(OrderStatus, Actor)]) -> Script {
    steps
        .iter()
        .fold(Script::new(), |script, (status, by)| {
            script.then(status.clone(), *by)
        })
        .gap_between(Duration::ZERO, Duration::from_millis(300))
}

impl Soak {
    fn reference(&self, i: usize) -> String {
        format!("soak-{}-{i}", self.run_id)
    }

    /// Checks out order `i` through a live instance on a random route, then
    /// drives it to a final status on the sandbox with random faults.
    pub(crate) async fn order(self: Arc<Self>, i: usize) {
        let reference = self.reference(i);
        let kind = match self.rng.next() % 4 {
            0 => RouteKind::Floating,
            1 => RouteKind::Manual,
            _ => RouteKind::Fixed,
        };
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
        let end = self.checkout(&reference, kind).await;
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
        let order = Driven {
            uid,
            kind,
            pollable: matches!(end, CheckoutEnd::Created(_)),
        };
        self.lifecycle(&order).await;
        self.maybe_stale(uid).await;
    }

    /// Drives one order from `new` to a final status along a random path of
    /// the lifecycle: expiry, operator moves, back-and-forth within a few
    /// hundred ms, the customer's own "I have paid", recalculated and
    /// underpaid amounts. Every move stays within the lifecycle the tracker
    /// knows (`smartex_core::status::STEPS`, and `hold` returning where it
    /// left or moving on): a move outside it is held for review by design.
    async fn lifecycle(&self, o: &Driven) {
        use Actor::{Operator, Server};
        use OrderStatus::{
            Deleted, Done, ErrorPayment, ErrorPayout, Hold, InProgress, InProgressPayout, Returned,
            WaitPayment,
        };
        let t = &self.tally;
        // new
        self.maybe_recalculate(o);
        let roll = self.rng.next() % 100;
        if roll < 4 {
            bump(&t.expired);
            return self.step(o, Move::Expire).await;
        }
        if roll < 12 {
            // An operator moves a new order to errorPayment, and back.
            self.step(o, Move::Set(ErrorPayment, Operator)).await;
            self.step(o, Move::Set(WaitPayment, Operator)).await;
        } else {
            self.step(o, Move::Advance).await;
        }
        // waitPayment
        self.maybe_recalculate(o);
        if self.rng.chance(15) {
            bump(&t.bounce_payment);
            let script = back_and_forth(&[(ErrorPayment, Server), (WaitPayment, Operator)]);
            self.step(o, Move::Script(script)).await;
        }
        if self.rng.chance(6) {
            bump(&t.expired);
            return self.step(o, Move::Expire).await;
        }
        if o.kind == RouteKind::Manual {
            bump(&t.customer_claims);
            self.step(o, Move::ClaimPaid).await;
        } else {
            self.step(o, Move::Advance).await;
        }
        // inProgress
        let roll = self.rng.next() % 100;
        if o.kind == RouteKind::Manual && roll < 25 {
            // Nothing was paid: an operator cancels or returns the claim.
            let to = if roll < 15 { Deleted } else { Returned };
            return self.step(o, Move::Set(to, Operator)).await;
        }
        if roll >= 95 {
            // The exchange conditions were not met.
            return self.step(o, Move::Set(Returned, Operator)).await;
        }
        if self.rng.chance(15) && self.sb.set_paid_amount(o.uid, o.kind.underpaid()).is_ok() {
            bump(&t.underpaid);
        }
        let roll = self.rng.next() % 100;
        if roll < 5 {
            return self.step(o, Move::Set(Done, Operator)).await;
        }
        if roll < 17 {
            bump(&t.holds);
            // Lifted back where it was, or settled on by the operator.
            let lifted = if roll < 11 {
                InProgress
            } else {
                InProgressPayout
            };
            let script = back_and_forth(&[(Hold, Operator), (lifted.clone(), Operator)]);
            self.step(o, Move::Script(script)).await;
            if lifted == InProgress {
                self.step(o, Move::Advance).await;
            }
        } else {
            self.step(o, Move::Advance).await;
        }
        // inProgressPayout
        if self.rng.chance(15) {
            bump(&t.bounce_payout);
            let script = back_and_forth(&[(ErrorPayout, Server), (InProgressPayout, Operator)]);
            self.step(o, Move::Script(script)).await;
        }
        let roll = self.rng.next() % 100;
        if roll < 8 {
            bump(&t.holds);
            let script = back_and_forth(&[(Hold, Operator), (Done, Operator)]);
            return self.step(o, Move::Script(script)).await;
        }
        if roll < 12 {
            // The payout fails for good; an operator completes it by hand.
            self.step(o, Move::Set(ErrorPayout, Server)).await;
            return self.step(o, Move::Set(Done, Operator)).await;
        }
        self.step(o, Move::Advance).await;
    }

    /// On a floating-rate route, now and then, the rate moves by up to 3 %
    /// (while `new` or `waitPayment`: the sandbox refuses otherwise).
    fn maybe_recalculate(&self, o: &Driven) {
        if !o.kind.floats() || !self.rng.chance(40) {
            return;
        }
        // 0.9700 to 1.0300, never 1.
        let bp = 9_700 + self.rng.next() % 601;
        let bp = if bp == 10_000 { 10_001 } else { bp };
        let factor = format!("{}.{:04}", bp / 10_000, bp % 10_000);
        if self.sb.recalculate(o.uid, &factor).is_ok() {
            bump(&self.tally.recalculations);
        }
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

    /// One move of an order, with a random fault on its (first) IPN.
    async fn step(&self, o: &Driven, mv: Move) {
        tokio::time::sleep(self.rng.ms(20, 200)).await;
        let uid = o.uid;
        let roll = self.rng.next() % 100;
        let mut delayed = false;
        if o.pollable && roll < 15 {
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
        match &mv {
            Move::Set(_, Actor::Operator) => bump(&self.tally.operator_moves),
            Move::Script(script) => {
                let by_operator = script
                    .steps()
                    .iter()
                    .filter(|(_, by)| *by == Actor::Operator);
                self.tally
                    .operator_moves
                    .fetch_add(by_operator.count() as u64, Ordering::Relaxed);
            }
            _ => {}
        }
        let sb = Arc::clone(&self.sb);
        let script = matches!(mv, Move::Script(_));
        let change = async move {
            match mv {
                Move::Advance => sb.advance(uid).await.map(|_| ()),
                Move::Set(status, by) => sb.set_status_by(uid, status, by).await.map(|_| ()),
                Move::ClaimPaid => sb.customer_claims_paid(uid).await.map(|_| ()),
                Move::Expire => sb.expire_now(uid).await.map(|_| ()),
                Move::Script(script) => sb.run_script(uid, &script).await.map(|_| ()),
            }
        };
        if delayed && !script {
            // Do not wait for the delayed IPN: the next change's IPN
            // overtakes it, and it arrives late (stale). (A script is
            // awaited: its own next step overtakes it, and the next move
            // must not interleave with its steps.)
            tokio::spawn(change);
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else {
            let _ = change.await;
        }
    }

    async fn checkout(&self, reference: &str, kind: RouteKind) -> CheckoutEnd {
        let Some(port) = self.backends.live().first().copied() else {
            return CheckoutEnd::Lost;
        };
        let Some(route) = self.routes.get(&kind) else {
            return CheckoutEnd::NotCreated;
        };
        let sent = self
            .client
            .post(format!(
                "http://127.0.0.1:{port}/checkout?ref={reference}&kind={}&route={route}",
                kind.as_str()
            ))
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
