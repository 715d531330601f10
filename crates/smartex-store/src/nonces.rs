//! [`StoreNonces`]: an API key's send lane and last `time` nonce, shared by
//! every process using the store.

use std::time::{SystemTime, UNIX_EPOCH};

use smartex_core::ApiKey;
use smartex_http::NonceUnit;
use smartex_http::nonce::{
    InProcessNonces, NonceError, NonceFuture, NonceLease, NonceSource, next_after,
};
use sqlx::Row;
#[cfg(feature = "postgres")]
use sqlx::pool::PoolConnection;

use crate::{AnyStore, SqliteStore};

/// The advisory-lock class of the nonce lanes (`'SMTX'`): the lock is
/// `(class, hashtext(api_key))`, apart from any lock of the merchant's own
/// that uses the one-argument form or another class. Two keys whose hashes
/// collide share a lane: slower, never wrong.
#[cfg(feature = "postgres")]
const LOCK_CLASS: i32 = 0x534D_5458;

/// A [`NonceSource`] in the store: the key's turn is a database lock, its
/// last nonce a row of `api_nonces`, so several processes (SQLite: on one
/// machine) or servers (PostgreSQL) can share one API key, and a restarted
/// process whose clock is behind never reuses a nonce.
///
/// - **PostgreSQL**: a session advisory lock per key
///   (`pg_advisory_lock(class, hashtext(key))`) taken before the nonce is
///   issued and released once the request is answered; the new last nonce is
///   committed (its own statement) *before* the request is sent. Issue order is
///   then arrival order across instances. If the caller gives up mid-turn
///   (its timeout), the lease's connection is closed rather than returned to
///   the pool, which ends the lock with the session.
/// - **SQLite**: an immediate transaction (SQLite's one write lock) from
///   before the nonce is read until the request is answered; the new last
///   nonce is written in it and committed at the end of the turn. The write
///   lock is the whole file's, so the lane always has a file of its own
///   ([`sqlite`](Self::sqlite) puts it next to the store's,
///   [`sqlite_file`](Self::sqlite_file) where you say): the store's writers
///   never wait for a request's round trip. A crash mid-turn loses only that turn's nonce
///   (the request may have been sent): a later nonce equal to it is refused,
///   and a refused nonce is re-signed and retried by the client.
///
/// Within the process, turns are first queued in memory (fairly, one per
/// key), so at most one connection per key waits on the database.
///
/// The unit of each key's nonces is stored with its last nonce; acquiring a
/// turn with another unit fails with [`NonceError::UnitMismatch`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use smartex_http::ApiKeyAuth;
/// use smartex_store::{AnyStore, StoreNonces, StoreOptions};
/// # let (key, secret) = (smartex_core::ApiKey::new("EF04794F718A3FC8C6DFA0B")?, smartex_core::ApiSecret::new("s")?);
/// let store = AnyStore::open("postgres://shop@db/shop", StoreOptions::default()).await?;
/// let auth = ApiKeyAuth::new(key, secret).nonce_source(Arc::new(StoreNonces::new(&store).await?));
/// # Ok(()) }
/// ```
pub struct StoreNonces {
    backend: Backend,
    lanes: InProcessNonces,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

impl std::fmt::Debug for StoreNonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreNonces")
            .field("backend", &self.name())
            .finish_non_exhaustive()
    }
}

impl StoreNonces {
    /// Nonces for `store`: on PostgreSQL in its database (its pool; the table
    /// comes with the store's migrations); on SQLite in a file of its own
    /// next to the store's (see [`sqlite`](Self::sqlite)).
    ///
    /// # Errors
    /// The database's error (opening the SQLite lane's file).
    pub async fn new(store: &AnyStore) -> crate::Result<Self> {
        match store {
            AnyStore::Sqlite(s) => Self::sqlite(s).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(s) => Ok(Self::postgres(s)),
        }
    }

    /// Nonces for a SQLite store, for several processes on one machine, in
    /// the file `<the store's file>-nonces` (see
    /// [`sqlite_file`](Self::sqlite_file)). Never in the store's own file: a
    /// turn holds its file's write lock for a whole round trip, and the
    /// store's writers — an IPN being applied — must not wait behind it (an
    /// IPN answered 500 for a busy database is never sent again).
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite(store: &SqliteStore) -> crate::Result<Self> {
        let mut path = store
            .pool()
            .connect_options()
            .get_filename()
            .as_os_str()
            .to_owned();
        path.push("-nonces");
        Self::sqlite_file(std::path::PathBuf::from(path)).await
    }

    /// Nonces in a SQLite file of their own at `path` (created if missing,
    /// WAL, `synchronous = FULL`, a busy timeout), for several processes on one
    /// machine. The lane's turn is then this file's write lock, not the
    /// store's: the store's writers do not wait for a call's round trip.
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite_file(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let connect = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(30));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(connect)
            .await?;
        // The table of migration 0002, in a file that holds nothing else.
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS api_nonces (
                api_key TEXT PRIMARY KEY NOT NULL,
                unit TEXT NOT NULL CHECK (unit IN ('ms', 's')),
                last_nonce INTEGER NOT NULL CHECK (last_nonce > 0),
                updated_at_ms INTEGER NOT NULL)",
        )
        .execute(&pool)
        .await?;
        Ok(Self {
            backend: Backend::Sqlite(pool),
            lanes: InProcessNonces::new(),
        })
    }

    /// Nonces in a PostgreSQL store, for several servers.
    #[cfg(feature = "postgres")]
    pub fn postgres(store: &crate::PostgresStore) -> Self {
        Self {
            backend: Backend::Postgres(store.pool().clone()),
            lanes: InProcessNonces::new(),
        }
    }

    /// The last nonce stored for `key`, with its unit.
    ///
    /// # Errors
    /// The database's error.
    pub async fn last_nonce(&self, key: &ApiKey) -> crate::Result<Option<(NonceUnit, u64)>> {
        let sql = "SELECT unit, last_nonce FROM api_nonces WHERE api_key = $1";
        let row = match &self.backend {
            Backend::Sqlite(pool) => sqlx::query(sql)
                .bind(key.as_str())
                .fetch_optional(pool)
                .await?
                .map(|r| read_last(&r))
                .transpose(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => sqlx::query(sql)
                .bind(key.as_str())
                .fetch_optional(pool)
                .await?
                .map(|r| read_last(&r))
                .transpose(),
        };
        row.map_err(|_| crate::Error::InvalidInput {
            field: "api_nonces",
            reason: "a stored row has an unknown unit or a negative nonce",
        })
    }
}

/// `(unit, last_nonce)` of a row.
fn read_last<R: Row>(row: &R) -> Result<(NonceUnit, u64), NonceError>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let unit: String = row.try_get("unit").map_err(store_error)?;
    let last: i64 = row.try_get("last_nonce").map_err(store_error)?;
    let unit = NonceUnit::parse(&unit)
        .ok_or_else(|| NonceError::Store(format!("unknown nonce unit {unit:?} stored").into()))?;
    let last =
        u64::try_from(last).map_err(|_| NonceError::Store("a negative nonce is stored".into()))?;
    Ok((unit, last))
}

fn store_error(e: sqlx::Error) -> NonceError {
    NonceError::Store(Box::new(e))
}

/// The stored last nonce if it is in `unit`.
fn check_unit(
    stored: Option<(NonceUnit, u64)>,
    unit: NonceUnit,
) -> Result<Option<u64>, NonceError> {
    match stored {
        Some((stored, _)) if stored != unit => Err(NonceError::UnitMismatch {
            stored,
            configured: unit,
        }),
        other => Ok(other.map(|(_, last)| last)),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A nonce as a database integer (nonces stay below 2^53).
fn as_i64(nonce: u64) -> Result<i64, NonceError> {
    i64::try_from(nonce).map_err(|_| NonceError::Exhausted)
}

const UPSERT: &str = "INSERT INTO api_nonces (api_key, unit, last_nonce, updated_at_ms) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (api_key) DO UPDATE SET unit = excluded.unit, \
     last_nonce = excluded.last_nonce, updated_at_ms = excluded.updated_at_ms";

const SELECT_LAST: &str = "SELECT unit, last_nonce FROM api_nonces WHERE api_key = $1";

impl NonceSource for StoreNonces {
    fn acquire<'a>(
        &'a self,
        key: &'a ApiKey,
        unit: NonceUnit,
    ) -> NonceFuture<'a, Box<dyn NonceLease>> {
        Box::pin(async move {
            let local = self.lanes.acquire(key, unit).await?;
            let lease: Box<dyn NonceLease> = match &self.backend {
                Backend::Sqlite(pool) => {
                    let mut tx = pool
                        .begin_with("BEGIN IMMEDIATE")
                        .await
                        .map_err(store_error)?;
                    let stored = sqlx::query(SELECT_LAST)
                        .bind(key.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error)?
                        .map(|r| read_last(&r))
                        .transpose()?;
                    // On a mismatch the transaction is dropped: rolled back.
                    let last = check_unit(stored, unit)?;
                    Box::new(SqliteLease {
                        tx,
                        key: key.as_str().to_owned(),
                        unit,
                        last,
                        _local: local,
                    })
                }
                #[cfg(feature = "postgres")]
                Backend::Postgres(pool) => {
                    let conn = pool.acquire().await.map_err(store_error)?;
                    let mut held = Locked {
                        conn: Some(conn),
                        key: key.as_str().to_owned(),
                    };
                    let conn = held.conn()?;
                    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
                        .bind(LOCK_CLASS)
                        .bind(key.as_str())
                        .execute(&mut **conn)
                        .await
                        .map_err(store_error)?;
                    let stored = sqlx::query(SELECT_LAST)
                        .bind(key.as_str())
                        .fetch_optional(&mut **conn)
                        .await
                        .map_err(store_error)?
                        .map(|r| read_last(&r))
                        .transpose()?;
                    let last = match check_unit(stored, unit) {
                        Ok(last) => last,
                        Err(e) => {
                            held.unlock().await;
                            return Err(e);
                        }
                    };
                    Box::new(PgLease {
                        held,
                        unit,
                        last,
                        _local: local,
                    })
                }
            };
            Ok(lease)
        })
    }

    fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A SQLite turn: the immediate transaction holds the write lock.
struct SqliteLease {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    key: String,
    unit: NonceUnit,
    last: Option<u64>,
    _local: Box<dyn NonceLease>,
}

impl NonceLease for SqliteLease {
    fn issue(&mut self, candidate: u64) -> NonceFuture<'_, u64> {
        Box::pin(async move {
            let next = next_after(candidate, self.last)?;
            sqlx::query(UPSERT)
                .bind(&self.key)
                .bind(self.unit.as_str())
                .bind(as_i64(next)?)
                .bind(now_ms())
                .execute(&mut *self.tx)
                .await
                .map_err(store_error)?;
            self.last = Some(next);
            Ok(next)
        })
    }

    fn release(self: Box<Self>) -> NonceFuture<'static, ()> {
        Box::pin(async move { self.tx.commit().await.map_err(store_error) })
    }
}

/// A PostgreSQL connection holding a key's advisory lock. Dropped while
/// still holding it (the caller gave up), the connection is closed instead
/// of going back to the pool: the session ends, and the lock with it.
#[cfg(feature = "postgres")]
struct Locked {
    conn: Option<PoolConnection<sqlx::Postgres>>,
    key: String,
}

#[cfg(feature = "postgres")]
impl Locked {
    fn conn(&mut self) -> Result<&mut PoolConnection<sqlx::Postgres>, NonceError> {
        self.conn
            .as_mut()
            .ok_or_else(|| NonceError::Store("the lane's connection is gone".into()))
    }

    /// Releases the lock and returns the connection to the pool; if the
    /// unlock fails the connection is closed (see `Drop`).
    async fn unlock(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(&self.key)
            .fetch_one(&mut **conn)
            .await;
        if matches!(unlocked, Ok(true)) {
            // Back to the pool, lock-free.
            drop(self.conn.take());
        }
    }
}

#[cfg(feature = "postgres")]
impl Drop for Locked {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Closing the socket ends the session and its advisory locks.
            drop(conn.detach());
        }
    }
}

#[cfg(feature = "postgres")]
struct PgLease {
    held: Locked,
    unit: NonceUnit,
    last: Option<u64>,
    _local: Box<dyn NonceLease>,
}

#[cfg(feature = "postgres")]
impl NonceLease for PgLease {
    fn issue(&mut self, candidate: u64) -> NonceFuture<'_, u64> {
        Box::pin(async move {
            let next = next_after(candidate, self.last)?;
            let key = self.held.key.clone();
            let conn = self.held.conn()?;
            // Committed before the request is sent: a restart never reuses it.
            sqlx::query(UPSERT)
                .bind(&key)
                .bind(self.unit.as_str())
                .bind(as_i64(next)?)
                .bind(now_ms())
                .execute(&mut **conn)
                .await
                .map_err(store_error)?;
            self.last = Some(next);
            Ok(next)
        })
    }

    fn release(mut self: Box<Self>) -> NonceFuture<'static, ()> {
        Box::pin(async move {
            self.held.unlock().await;
            Ok(())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use smartex_http::{NonceError, NonceUnit};

    use super::check_unit;

    #[test]
    fn a_stored_unit_other_than_the_configured_one_is_refused() {
        assert_eq!(check_unit(None, NonceUnit::Millis).ok(), Some(None));
        assert_eq!(
            check_unit(Some((NonceUnit::Millis, 7)), NonceUnit::Millis).ok(),
            Some(Some(7))
        );
        let e = check_unit(Some((NonceUnit::Millis, 7)), NonceUnit::Seconds).unwrap_err();
        assert!(matches!(
            e,
            NonceError::UnitMismatch {
                stored: NonceUnit::Millis,
                configured: NonceUnit::Seconds
            }
        ));
        let message = e.to_string();
        assert!(
            message.contains("milliseconds") && message.contains("seconds"),
            "{message}"
        );
    }
}
