//! Changes held for review: a person lists them and accepts or dismisses
//! each, and the decision is recorded with who made it.

use smartex_http::Transport;
use smartex_store::{HeldChange, OrderStore, Resolved};

use crate::error::Error;
use crate::merchant::Merchant;

impl<S: OrderStore, T: Transport> Merchant<S, T> {
    /// The changes held for review, oldest first, at most `limit`: genuine
    /// notifications (or polls) the tracker did not apply because the
    /// lifecycle does not lead there — a final status changing, a move back;
    /// an operator's hand on the platform, most often — answered 202 `held
    /// for review` and not yet accepted or dismissed. Each has the held
    /// event-log row (its id, the order's reference, the status with its
    /// signed time, why it was held, its amounts, when it arrived) and the
    /// order's current status; [`HeldChange::stale`] says whether accepting
    /// it would be refused. One order's only: [`OrderStore::held`] on
    /// [`store`](Self::store).
    ///
    /// ```no_run
    /// # async fn f(shop: smartex::Merchant<smartex::store::SqliteStore>) -> Result<(), smartex::Error> {
    /// use smartex::store::Error as StoreError;
    /// for change in shop.held(50).await? {
    ///     let held = &change.event;
    ///     let now = change.current.as_ref().map(|k| k.status.as_str()).unwrap_or("nothing");
    ///     // The reason is the tracker's own text; the reference is checked
    ///     // at checkout: both print safely.
    ///     println!("#{} {}: {now} → {} ({})", held.id, held.reference, held.event.status,
    ///         held.reason.as_deref().unwrap_or(""));
    /// }
    /// // The operator checked held change #42 on the platform (a refund by hand):
    /// match shop.accept_held(42, "ops:alice").await {
    ///     // Applied, and on its way to the business step (decided_by is set).
    ///     Ok(resolved) => println!("order now {:?}", resolved.order.known.map(|k| k.status)),
    ///     // The order has learned something newer since: look again.
    ///     Err(smartex::Error::Store(StoreError::StaleHeld(why))) => println!("not accepted: {why}"),
    ///     // Someone else decided first; their decision stands.
    ///     Err(smartex::Error::Store(StoreError::AlreadyResolved { decision, .. })) => {
    ///         println!("already {decision}")
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Store`] if the store fails.
    pub async fn held(&self, limit: u32) -> Result<Vec<HeldChange>, Error> {
        Ok(self.inner.store.held(None, limit).await?)
    }

    /// Accepts the held change `event_id` (a [`HeldChange`]'s `event.id`) on
    /// `by`'s decision (an operator's name, `"cli:alice"`: recorded as
    /// given): its status becomes the order's current status over the
    /// lifecycle's objection and reaches the business step like any applied
    /// change — an outbox item, current, with the held change's amounts and
    /// [`OutboxItem::decided_by`](crate::OutboxItem::decided_by) set. The
    /// decision is a row of its own in the event log (decided
    /// [`Accepted`](smartex_store::DecisionKind::Accepted), with who and
    /// when, on the merchant's clock), written in one transaction with the
    /// order's new state. See [`OrderStore::accept_held`].
    ///
    /// # Errors
    /// [`Error::Store`] with
    /// - [`NotHeld`](smartex_store::Error::NotHeld): no such event, or not
    ///   one the tracker held;
    /// - [`AlreadyResolved`](smartex_store::Error::AlreadyResolved): it was
    ///   accepted or dismissed already (each held change is resolved once,
    ///   whoever races; the first decision stands);
    /// - [`StaleHeld`](smartex_store::Error::StaleHeld): the order has
    ///   learned something newer since it was held — accepting would move its
    ///   status back; look at the order again, and dismiss the change if it
    ///   no longer applies;
    /// - [`InvalidInput`](smartex_store::Error::InvalidInput): `by` is empty,
    ///   longer than 200 bytes or holds control characters;
    /// - any other store failure. Nothing is written in these cases.
    pub async fn accept_held(&self, event_id: i64, by: &str) -> Result<Resolved, Error> {
        let now = self.inner.now();
        Ok(self.inner.store.accept_held(event_id, by, now).await?)
    }

    /// Dismisses the held change `event_id` on `by`'s decision: a row of its
    /// own in the event log (decided
    /// [`Dismissed`](smartex_store::DecisionKind::Dismissed), with who and
    /// when); nothing else changes. See [`OrderStore::dismiss_held`].
    ///
    /// # Errors
    /// As [`accept_held`](Self::accept_held), save that a dismissal is never
    /// stale.
    pub async fn dismiss_held(&self, event_id: i64, by: &str) -> Result<Resolved, Error> {
        let now = self.inner.now();
        Ok(self.inner.store.dismiss_held(event_id, by, now).await?)
    }
}
