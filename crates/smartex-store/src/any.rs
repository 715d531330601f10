//! A store chosen at run time from a URL.

use smartex_core::derived::Reference;
use smartex_core::time::UnixMillis;

use crate::error::{Error, Result};
use crate::model::{
    ApplyOutcome, EventRow, HeldChange, Lease, Observation, OrderBinding, OrderKey, OrderRecord,
    OutboxItem, PendingOrder, Resolved,
};
use crate::{OrderStore, SqliteStore, StoreOptions};

/// Either backend, chosen by the URL's scheme: `sqlite:…` or
/// `postgres://…` / `postgresql://…` (with the `postgres` feature).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(crate::PostgresStore),
}

impl AnyStore {
    /// Opens the store the URL names, running the migrations.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                // Each pooled connection would see a database of its own.
                return Err(Error::UnsupportedUrl {
                    reason: "an in-memory SQLite database is not durable and not shared \
                             between connections; use a file",
                });
            }
            return Ok(Self::Sqlite(SqliteStore::open_url(url, options).await?));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Ok(Self::Postgres(
                crate::PostgresStore::connect(url, options).await?,
            ));
            #[cfg(not(feature = "postgres"))]
            return Err(Error::UnsupportedUrl {
                reason: "PostgreSQL needs the `postgres` feature of smartex-store",
            });
        }
        Err(Error::UnsupportedUrl {
            reason: "the URL must start with sqlite: or postgres://",
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            #[cfg(feature = "postgres")]
            Self::Postgres(s) => s.close().await,
        }
    }
}

/// Forwards a call to whichever backend is inside.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl OrderStore for AnyStore {
    async fn insert_order(&self, order: PendingOrder) -> Result<OrderRecord> {
        forward!(self, s => s.insert_order(order))
    }
    async fn bind_order(
        &self,
        reference: &Reference,
        binding: OrderBinding,
        now: UnixMillis,
    ) -> Result<OrderRecord> {
        forward!(self, s => s.bind_order(reference, binding, now))
    }
    async fn order(&self, key: OrderKey<'_>) -> Result<Option<OrderRecord>> {
        forward!(self, s => s.order(key))
    }
    async fn apply(&self, key: OrderKey<'_>, observation: Observation) -> Result<ApplyOutcome> {
        forward!(self, s => s.apply(key, observation))
    }
    async fn events(&self, key: OrderKey<'_>) -> Result<Vec<EventRow>> {
        forward!(self, s => s.events(key))
    }
    async fn held(&self, reference: Option<&Reference>, limit: u32) -> Result<Vec<HeldChange>> {
        forward!(self, s => s.held(reference, limit))
    }
    async fn accept_held(&self, event_id: i64, by: &str, now: UnixMillis) -> Result<Resolved> {
        forward!(self, s => s.accept_held(event_id, by, now))
    }
    async fn dismiss_held(&self, event_id: i64, by: &str, now: UnixMillis) -> Result<Resolved> {
        forward!(self, s => s.dismiss_held(event_id, by, now))
    }
    async fn claim_due(&self, lease: Lease) -> Result<Vec<OrderRecord>> {
        forward!(self, s => s.claim_due(lease))
    }
    async fn finish_poll(
        &self,
        reference: &Reference,
        owner: &str,
        next_poll_at: Option<UnixMillis>,
    ) -> Result<bool> {
        forward!(self, s => s.finish_poll(reference, owner, next_poll_at))
    }
    async fn claim_outbox(&self, lease: Lease) -> Result<Vec<OutboxItem>> {
        forward!(self, s => s.claim_outbox(lease))
    }
    async fn ack_outbox(&self, id: i64, now: UnixMillis) -> Result<bool> {
        forward!(self, s => s.ack_outbox(id, now))
    }
    async fn retry_outbox(&self, id: i64, owner: &str, retry_at: UnixMillis) -> Result<bool> {
        forward!(self, s => s.retry_outbox(id, owner, retry_at))
    }
}
