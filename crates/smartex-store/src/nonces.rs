//! [`NonceLedger`]: each API key's last `time` nonce, and a turn of the key
//! held by the database, shared by every process using the store.
//!
//! This is the database side of an API client's send lane, without the
//! client: the rule that makes the next nonce (`max(clock, last + 1)`) and the
//! in-process queue belong to the client and to the adapter that joins the two
//! (`smartex::StoreNonces`). The store only keeps the turn exclusive across
//! processes and the last nonce durable.

use smartex_core::ApiKey;
use smartex_core::auth::NonceUnit;
use smartex_core::time::UnixMillis;
use sqlx::Row;
#[cfg(feature = "postgres")]
use sqlx::pool::PoolConnection;

use crate::convert::{instant_to_db, to_i64};
use crate::error::{Error, Result};
use crate::{AnyStore, SqliteStore};

/// The advisory-lock class of the nonce turns (`'SMTX'`): the lock is
/// `(class, hashtext(api_key))`, apart from any lock of the merchant's own
/// that uses the one-argument form or another class. Two keys whose hashes
/// collide share a turn: slower, never wrong.
#[cfg(feature = "postgres")]
const LOCK_CLASS: i32 = 0x534D_5458;

/// How long a SQLite turn waits for another process's turn before failing.
const SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

const UPSERT: &str = "INSERT INTO api_nonces (api_key, unit, last_nonce, updated_at_ms) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (api_key) DO UPDATE SET unit = excluded.unit, \
     last_nonce = excluded.last_nonce, updated_at_ms = excluded.updated_at_ms";

const SELECT_LAST: &str = "SELECT unit, last_nonce FROM api_nonces WHERE api_key = $1";

/// Each API key's last `time` nonce (with its unit) in the store's database,
/// and the key's **turn**: while one [`NonceTurn`] of a key is held, no other
/// is, in any process sharing the ledger.
///
/// - **PostgreSQL**: a session advisory lock per key
///   (`pg_advisory_lock(class, hashtext(key))`) taken by
///   [`take_turn`](Self::take_turn) and released by [`NonceTurn::end`]; a
///   nonce is committed by its own statement ([`NonceTurn::commit_nonce`])
///   while the lock is held. A turn dropped without `end` (its holder gave
///   up) closes its connection instead of returning it to the pool, which
///   ends the lock with the session.
/// - **SQLite**: an immediate transaction (SQLite's one write lock) from
///   `take_turn` to `end`; a committed nonce is written in it and durable at
///   `end`. The write lock is the whole file's (one turn at a time for all
///   the keys of the file), so the ledger always has a
///   file of its own ([`sqlite`](Self::sqlite) puts it next to the store's,
///   [`sqlite_file`](Self::sqlite_file) where you say): the store's writers —
///   an IPN being applied, answered 500 if the database stays busy, and never
///   resent — never wait for a turn held across a request's round trip. A
///   crash mid-turn loses only that turn's nonce.
///
/// A key's nonces keep their unit: [`take_turn`](Self::take_turn) in another
/// unit than the stored one is [`Error::NonceUnitMismatch`].
pub struct NonceLedger {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

impl std::fmt::Debug for NonceLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceLedger")
            .field("backend", &self.backend_name())
            .finish_non_exhaustive()
    }
}

impl NonceLedger {
    /// The ledger of `store`: on PostgreSQL in its database (its pool; the
    /// table comes with the store's migrations); on SQLite in a file of its
    /// own next to the store's (see [`sqlite`](Self::sqlite)).
    ///
    /// # Errors
    /// The database's error (opening the SQLite ledger's file).
    pub async fn new(store: &AnyStore) -> Result<Self> {
        match store {
            AnyStore::Sqlite(s) => Self::sqlite(s).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(s) => Ok(Self::postgres(s)),
        }
    }

    /// The ledger of a SQLite store, for several processes on one machine, in
    /// the file `<the store's file>-nonces` (see
    /// [`sqlite_file`](Self::sqlite_file)). Never in the store's own file: a
    /// turn holds its file's write lock for a whole round trip.
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite(store: &SqliteStore) -> Result<Self> {
        let mut path = store
            .pool()
            .connect_options()
            .get_filename()
            .as_os_str()
            .to_owned();
        path.push("-nonces");
        Self::sqlite_file(std::path::PathBuf::from(path)).await
    }

    /// A ledger in a SQLite file of its own at `path` (created if missing,
    /// WAL, `synchronous = FULL`, a busy timeout), for several processes on
    /// one machine.
    ///
    /// # Errors
    /// The database's error.
    pub async fn sqlite_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let connect = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
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
        })
    }

    /// The ledger of a PostgreSQL store, for several servers.
    #[cfg(feature = "postgres")]
    pub fn postgres(store: &crate::PostgresStore) -> Self {
        Self {
            backend: Backend::Postgres(store.pool().clone()),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The last nonce stored for `key`, with its unit.
    ///
    /// # Errors
    /// The database's error; [`Error::Corrupt`] for a row this crate did not
    /// write.
    pub async fn last_nonce(&self, key: &ApiKey) -> Result<Option<(NonceUnit, u64)>> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlx::query(SELECT_LAST)
                .bind(key.as_str())
                .fetch_optional(pool)
                .await?
                .map(|r| read_last(&r))
                .transpose(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => sqlx::query(SELECT_LAST)
                .bind(key.as_str())
                .fetch_optional(pool)
                .await?
                .map(|r| read_last(&r))
                .transpose(),
        }
    }

    /// Waits for `key`'s turn (the database's lock: several processes may
    /// be waiting) and reads its last nonce, which must be in `unit`.
    ///
    /// Cancel safe: dropping the future gives the place up (a half-taken
    /// PostgreSQL lock goes with its closed connection).
    ///
    /// # Errors
    /// [`Error::NonceUnitMismatch`] (the turn is ended at once); the
    /// database's error; [`Error::Corrupt`] for a row this crate did not write.
    pub async fn take_turn(&self, key: &ApiKey, unit: NonceUnit) -> Result<NonceTurn> {
        let held = match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let stored = sqlx::query(SELECT_LAST)
                    .bind(key.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| read_last(&r))
                    .transpose()?;
                // On a mismatch the transaction is dropped: rolled back.
                let last = check_unit(stored, unit)?;
                (Held::Sqlite(tx), last)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => {
                let mut locked = Locked {
                    conn: Some(pool.acquire().await?),
                    key: key.as_str().to_owned(),
                };
                let conn = locked.conn()?;
                sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
                    .bind(LOCK_CLASS)
                    .bind(key.as_str())
                    .execute(&mut **conn)
                    .await?;
                let stored = sqlx::query(SELECT_LAST)
                    .bind(key.as_str())
                    .fetch_optional(&mut **conn)
                    .await?
                    .map(|r| read_last(&r))
                    .transpose()?;
                match check_unit(stored, unit) {
                    Ok(last) => (Held::Postgres(locked), last),
                    Err(e) => {
                        locked.unlock().await;
                        return Err(e);
                    }
                }
            }
        };
        let (held, last) = held;
        Ok(NonceTurn {
            held,
            key: key.as_str().to_owned(),
            unit,
            last,
        })
    }
}

/// One turn of one key, from [`NonceLedger::take_turn`]: commit the nonces
/// issued in it, then [`end`](Self::end) it. Dropped without `end`, the turn
/// ends too (SQLite: rolled back; PostgreSQL: its connection closed).
pub struct NonceTurn {
    held: Held,
    key: String,
    unit: NonceUnit,
    last: Option<u64>,
}

enum Held {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(Locked),
}

impl std::fmt::Debug for NonceTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceTurn")
            .field("unit", &self.unit)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl NonceTurn {
    /// The key's last nonce, in the turn's unit (`None`: the key has none
    /// stored yet).
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// The turn's unit.
    pub fn unit(&self) -> NonceUnit {
        self.unit
    }

    /// Records `nonce` as the key's last, issued at `now` (kept for people
    /// reading the table). PostgreSQL: committed before this returns, so a
    /// restart never reuses it; SQLite: durable when the turn ends.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `nonce` if it is not above the last one
    /// (nonces never go back), or does not fit the column; the database's
    /// error.
    pub async fn commit_nonce(&mut self, nonce: u64, now: UnixMillis) -> Result<()> {
        if self.last.is_some_and(|last| nonce <= last) || nonce == 0 {
            return Err(Error::InvalidInput {
                field: "nonce",
                reason: "must be above the key's last nonce",
            });
        }
        let value = to_i64("nonce", nonce)?;
        let at = instant_to_db("now", now)?;
        // One statement, bound for each backend's own argument types.
        macro_rules! upsert {
            ($conn:expr) => {
                sqlx::query(UPSERT)
                    .bind(self.key.as_str())
                    .bind(self.unit.as_str())
                    .bind(value)
                    .bind(at)
                    .execute($conn)
                    .await?
            };
        }
        match &mut self.held {
            Held::Sqlite(tx) => {
                upsert!(&mut **tx);
            }
            #[cfg(feature = "postgres")]
            Held::Postgres(locked) => {
                upsert!(&mut **locked.conn()?);
            }
        }
        self.last = Some(nonce);
        Ok(())
    }

    /// Ends the turn: the next holder of the key may take it.
    ///
    /// # Errors
    /// The database's error (SQLite: the commit failed; the turn is over all
    /// the same, rolled back).
    pub async fn end(self) -> Result<()> {
        match self.held {
            Held::Sqlite(tx) => Ok(tx.commit().await?),
            #[cfg(feature = "postgres")]
            Held::Postgres(mut locked) => {
                locked.unlock().await;
                Ok(())
            }
        }
    }
}

/// `(unit, last_nonce)` of a row.
fn read_last<R: Row>(row: &R) -> Result<(NonceUnit, u64)>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let unit: String = row.try_get("unit")?;
    let last: i64 = row.try_get("last_nonce")?;
    let unit = NonceUnit::parse(&unit).ok_or(Error::Corrupt {
        field: "unit",
        reason: "is neither ms nor s",
    })?;
    let last = crate::convert::to_u64("last_nonce", last)?;
    Ok((unit, last))
}

/// The stored last nonce if it is in `unit`.
fn check_unit(stored: Option<(NonceUnit, u64)>, unit: NonceUnit) -> Result<Option<u64>> {
    match stored {
        Some((stored, _)) if stored != unit => Err(Error::NonceUnitMismatch {
            stored,
            configured: unit,
        }),
        other => Ok(other.map(|(_, last)| last)),
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
    fn conn(&mut self) -> Result<&mut PoolConnection<sqlx::Postgres>> {
        self.conn.as_mut().ok_or(Error::Corrupt {
            field: "nonce turn",
            reason: "its connection is gone",
        })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use smartex_core::auth::NonceUnit;

    use super::check_unit;
    use crate::Error;

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
            Error::NonceUnitMismatch {
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
