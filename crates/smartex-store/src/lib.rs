//! Durable order state for the smartex SDK.
//!
//! The platform sends each IPN once and never retries, so what a merchant must
//! not lose lives here: every order (the merchant's reference, the platform's
//! `orderId` and `uid`, the order secret, how its IPN secret is found), the
//! status it is known to have with when and by whom it was observed, an
//! append-only log of every IPN and poll observation with its decision, and an
//! outbox of applied changes for the merchant's business step.
//!
//! # Invariants
//!
//! - **The store never decides.** [`OrderStore::apply`] reads the stored state,
//!   asks the pure core tracker ([`smartex_core::status::decide`]) and writes
//!   what it decided — the new state with compare-and-set on the version, the
//!   event-log row and, for an applied change, the outbox item — in **one
//!   transaction**. On a version conflict it reads and decides again.
//! - **Exactly once.** Concurrent deliveries of one notification, on one or
//!   several instances, give exactly one [`Decision::Apply`]; a repeat (same
//!   [`NotificationKey`], a unique key in the database) is
//!   [`ApplyOutcome::Repeat`] and writes nothing.
//! - **At least once to the business step.** An applied change is an outbox
//!   row from the same transaction; it is claimed with a lease
//!   ([`OrderStore::claim_outbox`]) and gone only when acknowledged
//!   ([`OrderStore::ack_outbox`]), so a crash between the apply and the
//!   business step loses nothing.
//! - **A person decides what the tracker held.** A change decided
//!   [`Decision::Unexpected`] is listed by [`OrderStore::held`] until someone
//!   accepts it ([`OrderStore::accept_held`]: made current through the core's
//!   [`accept_held`](smartex_core::status::accept_held), with compare-and-set
//!   and an outbox item, in one transaction) or dismisses it; the decision is
//!   a new event-log row naming the held one (unique: once, under any
//!   concurrency), with who decided and when.
//! - **The database coordinates.** Leases for the reconciler
//!   ([`OrderStore::claim_due`]) and the outbox use `FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL and an immediate (write-locked) transaction on SQLite.
//!
//! # Backends
//!
//! [`SqliteStore`] is the embedded default: one file, WAL, a busy timeout, safe
//! for several processes on one machine. [`PostgresStore`] (feature
//! `postgres`) is for several servers. [`AnyStore`] opens either from a URL.
//! Migrations ship in the crate and run on open. Queries are checked at run
//! time (`sqlx::query`), so building needs no database.

//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use smartex_core::{ObjectId, status::StatusEvent, OrderStatus};
//! use smartex_core::{derived::Reference, time::UnixMillis};
//! use smartex_store::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! # let dir = tempfile::tempdir().map_err(|_| Error::NotFound)?;
//! # let path = dir.path().join("orders.db");
//! let store = SqliteStore::open(&path, StoreOptions::default()).await?;
//! let t = UnixMillis::from_millis(1_700_000_000_000); // from the caller's clock
//! let reference = Reference::new("order-1001").unwrap();
//! // Before asking the platform to create it:
//! store.insert_order(PendingOrder {
//!     reference: reference.clone(),
//!     ipn_secret: IpnSecretSource::Derived { key_id: "2026-01".into() },
//!     created_at: t,
//!     first_poll_at: Some(t.plus_ms(60_000)),
//!     asked_amount: Some("2".into()),
//! }).await?;
//! // A verified IPN (its orderId bound to the reference first):
//! let order_id = ObjectId::parse("orderId", "5d8e6002b80b7b4cd75a6424").unwrap();
//! let binding = OrderBinding { order_id: Some(order_id.clone()), ..Default::default() };
//! store.bind_order(&reference, binding, t.plus_ms(1_000)).await?;
//! let ipn = Observation::ipn(
//!     StatusEvent::ipn(OrderStatus::InProgress, t.plus_ms(1_000)),
//!     NotificationKey::ipn(&order_id, "af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48"),
//!     t.plus_ms(1_050),
//! );
//! assert!(store.apply(OrderKey::OrderId(&order_id), ipn.clone()).await?.is_applied());
//! // Delivered twice: a repeat, nothing written.
//! assert!(matches!(store.apply(OrderKey::OrderId(&order_id), ipn).await?, ApplyOutcome::Repeat { .. }));
//! // The business step, at least once:
//! let lease = Lease { owner: "web-1".into(), now: t.plus_ms(2_000), duration: Duration::from_secs(30), limit: 10 };
//! for item in store.claim_outbox(lease).await? {
//!     // … ship the goods for item.reference, then:
//!     store.ack_outbox(item.id, t.plus_ms(2_100)).await?;
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod any;
mod backend;
mod convert;
mod error;
mod model;
mod nonces;
#[cfg(feature = "postgres")]
mod postgres;
mod seal;
mod sqlite;

use std::future::Future;

use smartex_core::derived::Reference;
use smartex_core::time::UnixMillis;

pub use any::AnyStore;
pub use error::{Error, Result};
pub use model::{
    ApplyOutcome, DecisionKind, EventRow, HeldChange, IpnSecretSource, Lease, NotificationKey,
    Observation, OrderBinding, OrderKey, OrderRecord, OutboxItem, PendingOrder, Resolution,
    Resolved,
};
pub use nonces::{NonceLedger, NonceTurn};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use seal::{SealingKey, SecretSealing};
pub use smartex_core::status::{Decision, KnownStatus, Source, StaleHeld, StatusEvent};
pub use sqlite::SqliteStore;

/// Options common to every backend.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// How secrets are kept (default: plain).
    pub sealing: SecretSealing,
    /// How many times [`OrderStore::apply`] re-reads and re-decides after
    /// losing a compare-and-set before it answers [`Error::Contention`]
    /// (default 64).
    pub max_apply_attempts: u32,
    /// The most connections the pool opens (default 8).
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sealing: SecretSealing::plain(),
            max_apply_attempts: 64,
            max_connections: 8,
        }
    }
}

impl StoreOptions {
    /// Seals secrets as `sealing` says.
    pub fn sealing(mut self, sealing: SecretSealing) -> Self {
        self.sealing = sealing;
        self
    }

    /// Gives up after `n` (≥ 1) lost compare-and-sets in a row.
    pub fn max_apply_attempts(mut self, n: u32) -> Self {
        self.max_apply_attempts = n.max(1);
        self
    }

    /// At most `n` (≥ 1) connections.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }
}

/// Durable order state. Every method is one transaction (or one statement).
///
/// Implemented by [`SqliteStore`], [`PostgresStore`] and [`AnyStore`]; the
/// same test suite runs against each.
pub trait OrderStore: Send + Sync {
    /// Records an order before the platform is asked to create it.
    /// [`Error::ReferenceTaken`] if the reference exists.
    fn insert_order(&self, order: PendingOrder)
    -> impl Future<Output = Result<OrderRecord>> + Send;

    /// Stores what the platform told about the order `reference` (create
    /// response, or the `orderId` of a verified IPN). Idempotent: a value
    /// already stored is kept, a different one is [`Error::Conflict`]; an
    /// `orderId` bound to another order is [`Error::OrderIdTaken`].
    fn bind_order(
        &self,
        reference: &Reference,
        binding: OrderBinding,
        now: UnixMillis,
    ) -> impl Future<Output = Result<OrderRecord>> + Send;

    /// The order, if stored.
    fn order(&self, key: OrderKey<'_>) -> impl Future<Output = Result<Option<OrderRecord>>> + Send;

    /// Decides `observation` with the core tracker against the stored state
    /// and writes the decision exactly once (see the crate docs).
    /// [`Error::NotFound`] if no order matches `key`.
    fn apply(
        &self,
        key: OrderKey<'_>,
        observation: Observation,
    ) -> impl Future<Output = Result<ApplyOutcome>> + Send;

    /// The order's event log, oldest first.
    fn events(&self, key: OrderKey<'_>) -> impl Future<Output = Result<Vec<EventRow>>> + Send;

    /// The changes held for review, oldest first: verified observations the
    /// tracker decided [`DecisionKind::Unexpected`] (a final status
    /// changing, a move the lifecycle does not know — an operator's hand,
    /// most often) that no one has accepted or dismissed yet; at most
    /// `limit`, of the order `reference` only if given. Oldest first, as a
    /// review queue is worked: of one order's held changes, an older one can
    /// no longer be accepted once a newer one was ([`HeldChange::stale`]).
    fn held(
        &self,
        reference: Option<&Reference>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<HeldChange>>> + Send;

    /// A person accepts the held change `event_id`: its status becomes the
    /// order's current status over the lifecycle's objection (what is known
    /// then is the core's [`accept_held`](smartex_core::status::accept_held))
    /// and reaches the business step like any applied change — in one
    /// transaction with compare-and-set on the order's version, a new
    /// event-log row decided [`DecisionKind::Accepted`] that names the held
    /// row, who decided (`by`) and when (`now`), and an outbox item
    /// (current, with the held change's amounts and the order's expected
    /// ones, [`OutboxItem::decided_by`]). A status that is not final makes
    /// the order due for a poll at once.
    ///
    /// Refused, writing nothing: [`Error::NotHeld`] (no such event, or not a
    /// held one), [`Error::AlreadyResolved`] (each held change is resolved
    /// once: exactly once under concurrency, by a unique key),
    /// [`Error::StaleHeld`] (the order has learned something newer since
    /// it was held: accepting would move its status back — look again, and
    /// dismiss it if it no longer applies), [`Error::InvalidInput`] (`by`
    /// empty, over 200 bytes, or with control characters).
    fn accept_held(
        &self,
        event_id: i64,
        by: &str,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Resolved>> + Send;

    /// A person dismisses the held change `event_id`: a new event-log row
    /// decided [`DecisionKind::Dismissed`] names it, who decided and when;
    /// nothing else changes. Refused as [`accept_held`](Self::accept_held)
    /// is, save that a dismissal is never stale.
    fn dismiss_held(
        &self,
        event_id: i64,
        by: &str,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Resolved>> + Send;

    /// Claims up to `lease.limit` orders due for a poll (not final,
    /// `next_poll_at` passed, no live lease), leasing each to
    /// `lease.owner` for `lease.duration`. Several instances never hold
    /// the same order at once. Orders not yet bound to a `uid` are included:
    /// the reconciler decides what it can do for them.
    fn claim_due(&self, lease: Lease) -> impl Future<Output = Result<Vec<OrderRecord>>> + Send;

    /// Ends `owner`'s poll of `reference`: releases the lease, counts the
    /// attempt and sets the next poll (`None`: no more polls). `false` if
    /// `owner` no longer held the lease (it expired and another took it).
    fn finish_poll(
        &self,
        reference: &Reference,
        owner: &str,
        next_poll_at: Option<UnixMillis>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Claims up to `lease.limit` unacknowledged outbox items whose time has
    /// come and that no live lease holds, oldest first.
    fn claim_outbox(&self, lease: Lease) -> impl Future<Output = Result<Vec<OutboxItem>>> + Send;

    /// Acknowledges an outbox item after its business step succeeded; it is
    /// never delivered again. `false` if it was already acknowledged.
    fn ack_outbox(&self, id: i64, now: UnixMillis) -> impl Future<Output = Result<bool>> + Send;

    /// Gives an outbox item back after its business step failed: it becomes
    /// claimable again at `retry_at`. `false` if `owner` no longer held it.
    fn retry_outbox(
        &self,
        id: i64,
        owner: &str,
        retry_at: UnixMillis,
    ) -> impl Future<Output = Result<bool>> + Send;
}
