//! What moves an order besides its schedule: the customer's
//! `order/update-status`, scripted histories, rate recalculations on
//! floating-rate routes, the amount a customer actually paid, and expiry.

use std::sync::Arc;
use std::time::Duration;

use smartex_core::OrderStatus;
use smartex_core::status::{Actor, check_update_status, expires};

use crate::config::RateDrift;
use crate::decimal::{Dec, Rounding};
use crate::engine::{Inner, OrderRec, Route};
use crate::error::{Error, Result};
use crate::model::{OrderSnapshot, Transition};
use crate::script::Script;

/// The decimals an order's cumulative rate factor keeps: enough for any
/// rate, few enough that repeated recalculations never overflow.
const FACTOR_DECIMALS: u32 = 18;

/// Basis points in one.
const BP: i128 = 10_000;

/// Refuses a drift that cannot run: no interval, or changes of 100 % or more
/// (a rate must stay positive).
pub(crate) fn check_drift(drift: Option<RateDrift>) -> Result<()> {
    match drift {
        Some(d) if d.every.is_zero() => Err(Error::Invalid {
            field: "every",
            reason: "the rates need an interval longer than zero".to_owned(),
        }),
        Some(d) if i128::from(d.max_change_bp) >= BP => Err(Error::Invalid {
            field: "max_change_bp",
            reason: format!("{} basis points is 100 % or more", d.max_change_bp),
        }),
        _ => Ok(()),
    }
}

/// Parses a positive (`positive`) or non-negative decimal given for `field`.
pub(crate) fn decimal(field: &'static str, text: &str, positive: bool) -> Result<Dec> {
    let invalid = |why: &str| Error::Invalid {
        field,
        reason: format!("`{text}` {why}"),
    };
    let d = Dec::parse(text.trim()).ok_or_else(|| invalid("is not a decimal number"))?;
    if d.is_negative() || (positive && d.is_zero()) {
        return Err(invalid(if positive {
            "is not above zero"
        } else {
            "is negative"
        }));
    }
    Ok(d)
}

/// Recalculates `order`'s amounts with its rate multiplied by `factor`, if
/// its route floats and it is still `new` or `waitPayment`.
fn requote(route: &Route, order: &mut OrderRec, factor: Dec) -> Result<()> {
    let uid = order.uid.get();
    if !route.spec.floating_rate {
        return Err(Error::NotAllowed {
            uid,
            reason: format!("route {} has a fixed rate", route.spec.id),
        });
    }
    if !matches!(order.status, OrderStatus::New | OrderStatus::WaitPayment) {
        return Err(Error::NotAllowed {
            uid,
            reason: format!(
                "a rate is recalculated only while new or waitPayment, not `{}`",
                order.status
            ),
        });
    }
    let out_of_range = || Error::Invalid {
        field: "factor",
        reason: "the recalculated rate is zero or out of range".to_owned(),
    };
    let cumulative = order
        .rate_factor
        .mul(factor)
        .map(|f| f.round(FACTOR_DECIMALS, Rounding::Down))
        .filter(|f| !f.is_zero())
        .ok_or_else(out_of_range)?;
    let (sent, received) = route
        .quote(order.new.asked, cumulative)
        .ok_or_else(out_of_range)?;
    order.rate_factor = cumulative;
    order.quote_in = sent.to_string();
    order.quote_out = received.to_string();
    Ok(())
}

impl Inner {
    /// `order/update-status` as the holder of the order's uid and secret
    /// calls it: by the platform's rule (only from `new` or `waitPayment`,
    /// never to `inProgressPayout`, `done` or `hold`), set by the customer.
    /// Returns the status before and the IPN records made.
    pub(crate) fn customer_update(
        self: &Arc<Self>,
        uid: u64,
        target: OrderStatus,
    ) -> Result<(OrderStatus, Vec<u64>)> {
        if let OrderStatus::Unknown(raw) = &target {
            return Err(Error::Invalid {
                field: "status",
                reason: format!("`{raw}` is not a status"),
            });
        }
        let (old, generation) = {
            let st = self.lock();
            let order = st.orders.get(&uid).ok_or(Error::UnknownOrder(uid))?;
            check_update_status(Some(&order.status), &target).map_err(|e| Error::NotAllowed {
                uid,
                reason: e.to_string(),
            })?;
            (order.status.clone(), order.generation)
        };
        // The generation makes check-and-set atomic: if the order moved in
        // between, the rule is checked again by the caller's retry.
        match self.change_status(uid, target, Actor::Customer, Some(generation))? {
            Some((_, seqs)) => Ok((old, seqs)),
            None => Err(Error::NotAllowed {
                uid,
                reason: "The order's status changed meanwhile; read it and try again".to_owned(),
            }),
        }
    }

    /// [`customer_update`](Self::customer_update), once its IPNs settled.
    pub(crate) async fn customer_update_settled(
        self: &Arc<Self>,
        uid: u64,
        target: OrderStatus,
    ) -> Result<Transition> {
        let (from, seqs) = self.customer_update(uid, target.clone())?;
        self.transition(uid, from, target, Actor::Customer, &seqs)
            .await
    }

    /// Runs `script` on order `uid` in a task of the sandbox's own (a caller
    /// that stops waiting does not stop it halfway) and returns its changes
    /// once every IPN settled.
    pub(crate) async fn run_script(
        self: &Arc<Self>,
        uid: u64,
        script: Script,
    ) -> Result<Vec<Transition>> {
        script.check()?;
        {
            let mut st = self.lock();
            let order = st.orders.get_mut(&uid).ok_or(Error::UnknownOrder(uid))?;
            order.scripts += 1;
        }
        // Lowers the count however the task ends, even unpolled.
        let running = ScriptRunning {
            inner: Arc::clone(self),
            uid,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(self);
        self.spawn(async move {
            let result = inner.play(uid, script).await;
            drop(running);
            let _ = tx.send(result);
        });
        let changes = rx.await.map_err(|_| Error::ShutDown)??;
        let mut transitions = Vec::with_capacity(changes.len());
        for (from, to, by, seqs) in changes {
            transitions.push(self.transition(uid, from, to, by, &seqs).await?);
        }
        Ok(transitions)
    }

    /// Takes a script's steps, one after another.
    async fn play(
        self: &Arc<Self>,
        uid: u64,
        script: Script,
    ) -> Result<Vec<(OrderStatus, OrderStatus, Actor, Vec<u64>)>> {
        let (min, max) = script.gaps();
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let mut changes = Vec::new();
        for (i, (status, by)) in script.steps().iter().enumerate() {
            if i > 0 {
                let gap = self.lock().chance.between(micros(min), micros(max));
                tokio::time::sleep(Duration::from_micros(gap)).await;
            }
            let (from, seqs) = self
                .change_status(uid, status.clone(), *by, None)?
                .ok_or(Error::UnknownOrder(uid))?;
            changes.push((from, status.clone(), *by, seqs));
        }
        Ok(changes)
    }

    /// Multiplies order `uid`'s rate by `factor` and recalculates its amounts.
    pub(crate) fn recalculate(&self, uid: u64, factor: Dec) -> Result<OrderSnapshot> {
        let snapshot = {
            let mut st = self.lock();
            let order = st.orders.get_mut(&uid).ok_or(Error::UnknownOrder(uid))?;
            requote(&self.settings.routes[order.route], order, factor)?;
            self.snapshot_of(order)
        };
        self.notify();
        Ok(snapshot)
    }

    /// Moves every floating rate once, by a random factor within `max_bp`.
    fn drift_once(&self, max_bp: u32) {
        {
            let mut st = self.lock();
            let st = &mut *st;
            for order in st.orders.values_mut() {
                let route = &self.settings.routes[order.route];
                if !route.spec.floating_rate
                    || !matches!(order.status, OrderStatus::New | OrderStatus::WaitPayment)
                {
                    continue;
                }
                let draw = st.chance.between(0, 2 * u64::from(max_bp));
                let change = i128::from(draw) - i128::from(max_bp);
                if let Some(factor) = Dec::new(BP + change, 4) {
                    // An amount out of range leaves that order's quote as it was.
                    let _ = requote(route, order, factor);
                }
            }
        }
        self.notify();
    }

    /// The floating rates' schedule: runs for the sandbox's lifetime,
    /// following [`Inner::rate_drift`] as it is changed.
    pub(crate) async fn drift_rates(self: Arc<Self>) {
        let mut rx = self.rate_drift.subscribe();
        loop {
            let drift = *rx.borrow_and_update();
            match drift {
                None => {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
                Some(d) => {
                    // A change of plan before the interval is up starts over.
                    match tokio::time::timeout(d.every, rx.changed()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => self.drift_once(d.max_change_bp),
                    }
                }
            }
        }
    }

    /// Marks what the customer actually paid: later IPNs and `order/get`
    /// carry it as `inAmount`.
    pub(crate) fn set_paid_amount(&self, uid: u64, amount: Dec) -> Result<OrderSnapshot> {
        let snapshot = {
            let mut st = self.lock();
            let order = st.orders.get_mut(&uid).ok_or(Error::UnknownOrder(uid))?;
            order.paid_in = Some(amount.to_string());
            self.snapshot_of(order)
        };
        self.notify();
        Ok(snapshot)
    }

    /// Expires order `uid` when its `expiresAt` comes.
    pub(crate) fn schedule_expiry(self: &Arc<Self>, uid: u64, at_ms: u64) {
        let inner = Arc::clone(self);
        self.spawn(async move {
            tokio::time::sleep(Duration::from_millis(at_ms.saturating_sub(inner.now_ms()))).await;
            // Paid, deleted or moved on meanwhile: nothing to expire.
            let _ = inner.expire(uid, false);
        });
    }

    /// Sets order `uid` to `deleted` as the server does at `expiresAt`, if it
    /// is still `new` or `waitPayment` (`Ok(None)` otherwise). With `now`,
    /// `expiresAt` becomes now. Returns the status before and the IPN records.
    pub(crate) fn expire(
        self: &Arc<Self>,
        uid: u64,
        now: bool,
    ) -> Result<Option<(OrderStatus, Vec<u64>)>> {
        loop {
            let generation = {
                let mut st = self.lock();
                let order = st.orders.get_mut(&uid).ok_or(Error::UnknownOrder(uid))?;
                if !expires(&order.status) {
                    return Ok(None);
                }
                if now {
                    order.expires_at_ms = order.expires_at_ms.min(self.now_ms());
                }
                order.generation
            };
            // A change in between (the schedule, a command): look again.
            if let Some(change) =
                self.change_status(uid, OrderStatus::Deleted, Actor::Server, Some(generation))?
            {
                return Ok(Some(change));
            }
        }
    }

    /// Expires order `uid` now, once its IPN settled.
    pub(crate) async fn expire_settled(self: &Arc<Self>, uid: u64) -> Result<Transition> {
        let Some((from, seqs)) = self.expire(uid, true)? else {
            let status = self
                .snapshot(uid)
                .map_or_else(String::new, |o| o.status.to_string());
            return Err(Error::NotAllowed {
                uid,
                reason: format!("only new and waitPayment orders expire, not `{status}`"),
            });
        };
        self.transition(uid, from, OrderStatus::Deleted, Actor::Server, &seqs)
            .await
    }
}

/// Lowers an order's running-script count when a script ends (or its task
/// is aborted), and restarts the schedule from where the script left it.
struct ScriptRunning {
    inner: Arc<Inner>,
    uid: u64,
}

impl Drop for ScriptRunning {
    fn drop(&mut self) {
        let resume = {
            let mut st = self.inner.lock();
            st.orders.get_mut(&self.uid).and_then(|o| {
                o.scripts = o.scripts.saturating_sub(1);
                (o.scripts == 0).then(|| (o.status.clone(), o.generation))
            })
        };
        if let Some((status, generation)) = resume {
            self.inner.schedule_next(self.uid, &status, generation);
        }
    }
}
