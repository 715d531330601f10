//! The backend for several servers: PostgreSQL.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use crate::StoreOptions;
use crate::error::Result;

/// The store on a PostgreSQL database, for several instances sharing it.
///
/// Transactions run at read committed; exactly-once comes from the
/// compare-and-set on the order's version (the row lock taken by the `UPDATE`
/// makes a concurrent writer wait and then see the new version) and from the
/// unique key on a notification's identity. Leases use `FOR UPDATE SKIP
/// LOCKED`, so instances never wait for each other's claims.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    pub(crate) options: StoreOptions,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) and runs the migrations.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?, options).await
    }

    /// Connects with sqlx connection options of the caller's own (for
    /// example a `search_path` to keep the tables in a schema of their own).
    pub async fn connect_with(connect: PgConnectOptions, options: StoreOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool, options })
    }

    /// The sqlx pool, for the merchant's own tables in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection (waiting for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Claims skip rows another instance is claiming instead of waiting.
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    /// A read-committed transaction.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

crate::backend::store_impl!(PostgresStore, PgRow);
