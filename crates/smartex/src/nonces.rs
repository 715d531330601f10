//! [`StoreNonces`]: the API client's send lane on the store's database — the
//! client's [`NonceSource`] over the store's [`NonceLedger`].
//!
//! The two layers stay apart: the client (`smartex-http`) knows nothing of
//! databases, the store (`smartex-store`) nothing of the client. This crate,
//! which depends on both, joins them.

use smartex_core::ApiKey;
use smartex_core::auth::NonceUnit;
use smartex_core::time::UnixMillis;
use smartex_http::nonce::{
    InProcessNonces, NonceError, NonceFuture, NonceLease, NonceSource, next_after,
};
use smartex_store::{AnyStore, NonceLedger, NonceTurn, SqliteStore};

/// A [`NonceSource`] in the store: an API key's turn is a database lock and
/// its last nonce a row ([`NonceLedger`]), so several processes (SQLite: on
/// one machine) or servers (PostgreSQL) can share one API key, and a
/// restarted process whose clock is behind never reuses a nonce.
///
/// - **PostgreSQL**: a session advisory lock per key, taken before the nonce
///   is issued and released once the request is answered; the new last
///   nonce is committed *before* the request is sent. Issue order is then
///   arrival order across instances. If the caller gives up mid-turn (its
///   timeout), the turn's connection is closed rather than pooled, which
///   ends the lock with the session.
/// - **SQLite**: an immediate transaction (the write lock) from before the
///   nonce is read until the request is answered, in a file of its own (never
///   the store's: its writers must not wait for a round trip). A crash
///   mid-turn loses only that turn's nonce (the request may have been sent):
///   a later nonce equal to it is refused, and a refused nonce is re-signed
///   and retried by the client.
///
/// Within the process, turns are first queued in memory (fairly, one per
/// key), so at most one connection per key waits on the database.
///
/// The unit of each key's nonces is stored with its last nonce; a turn in
/// another unit fails with [`NonceError::UnitMismatch`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use smartex::StoreNonces;
/// use smartex::http::ApiKeyAuth;
/// use smartex::store::{AnyStore, StoreOptions};
/// # let (key, secret) = (smartex::core::ApiKey::new("EF04794F718A3FC8C6DFA0B")?, smartex::core::ApiSecret::new("s")?);
/// let store = AnyStore::open("postgres://shop@db/shop", StoreOptions::default()).await?;
/// let auth = ApiKeyAuth::new(key, secret).nonce_source(Arc::new(StoreNonces::new(&store).await?));
/// # Ok(()) }
/// ```
pub struct StoreNonces {
    ledger: NonceLedger,
    lanes: InProcessNonces,
}

impl std::fmt::Debug for StoreNonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreNonces")
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

impl StoreNonces {
    /// Nonces for `store` ([`NonceLedger::new`]: PostgreSQL in its database,
    /// SQLite in a file of its own next to the store's).
    ///
    /// # Errors
    /// The database's error (opening the SQLite lane's file).
    pub async fn new(store: &AnyStore) -> Result<Self, smartex_store::Error> {
        Ok(Self::with_ledger(NonceLedger::new(store).await?))
    }

    /// Nonces for a SQLite store, in `<the store's file>-nonces`
    /// ([`NonceLedger::sqlite`]).
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite(store: &SqliteStore) -> Result<Self, smartex_store::Error> {
        Ok(Self::with_ledger(NonceLedger::sqlite(store).await?))
    }

    /// Nonces in a SQLite file of their own at `path`
    /// ([`NonceLedger::sqlite_file`]).
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite_file(
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, smartex_store::Error> {
        Ok(Self::with_ledger(NonceLedger::sqlite_file(path).await?))
    }

    /// Nonces in a PostgreSQL store, for several servers.
    #[cfg(feature = "postgres")]
    pub fn postgres(store: &smartex_store::PostgresStore) -> Self {
        Self::with_ledger(NonceLedger::postgres(store))
    }

    /// Nonces kept by `ledger`.
    pub fn with_ledger(ledger: NonceLedger) -> Self {
        Self {
            ledger,
            lanes: InProcessNonces::new(),
        }
    }

    /// The last nonce stored for `key`, with its unit.
    ///
    /// # Errors
    /// The database's error.
    pub async fn last_nonce(
        &self,
        key: &ApiKey,
    ) -> Result<Option<(NonceUnit, u64)>, smartex_store::Error> {
        self.ledger.last_nonce(key).await
    }
}

/// The client's view of a store failure: a unit mismatch keeps its meaning,
/// anything else is the source's storage failing.
fn nonce_error(e: smartex_store::Error) -> NonceError {
    match e {
        smartex_store::Error::NonceUnitMismatch { stored, configured } => {
            NonceError::UnitMismatch { stored, configured }
        }
        other => NonceError::Store(Box::new(other)),
    }
}

impl NonceSource for StoreNonces {
    fn acquire<'a>(
        &'a self,
        key: &'a ApiKey,
        unit: NonceUnit,
    ) -> NonceFuture<'a, Box<dyn NonceLease>> {
        Box::pin(async move {
            let local = self.lanes.acquire(key, unit).await?;
            let turn = self
                .ledger
                .take_turn(key, unit)
                .await
                .map_err(nonce_error)?;
            Ok(Box::new(StoreLease {
                turn,
                _local: local,
            }) as Box<dyn NonceLease>)
        })
    }

    fn name(&self) -> &'static str {
        self.ledger.backend_name()
    }
}

/// A turn of the store's ledger, inside the process's own turn of the key
/// (held until this lease goes, so the next in-process call waits here, not
/// on the database).
struct StoreLease {
    turn: NonceTurn,
    _local: Box<dyn NonceLease>,
}

impl NonceLease for StoreLease {
    fn issue(&mut self, candidate: u64, now: UnixMillis) -> NonceFuture<'_, u64> {
        Box::pin(async move {
            let next = next_after(candidate, self.turn.last())?;
            self.turn
                .commit_nonce(next, now)
                .await
                .map_err(nonce_error)?;
            Ok(next)
        })
    }

    fn release(self: Box<Self>) -> NonceFuture<'static, ()> {
        Box::pin(async move { self.turn.end().await.map_err(nonce_error) })
    }
}
