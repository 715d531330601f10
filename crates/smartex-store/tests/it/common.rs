//! Opens a fresh store per test: a SQLite file in a temporary directory, or a
//! schema of its own on the PostgreSQL server in `SMARTEX_TEST_DATABASE_URL`.

use std::sync::atomic::{AtomicU64, Ordering};

use smartex_core::ObjectId;
use smartex_store::{AnyStore, PostgresStore, SqliteStore, StoreOptions};

/// What to do without a server.
pub(crate) const HOW_TO_PROVIDE: &str = "\
set SMARTEX_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB (a user allowed to CREATE SCHEMA), \
or run the tests through `cargo xtask ci` or `cargo xtask pg -- cargo test -p smartex-store`, \
which start a temporary PostgreSQL server; \
or set SMARTEX_ALLOW_NO_POSTGRES=1 to skip the PostgreSQL tests explicitly";

/// A store and what keeps it alive (the temporary directory, or the schema
/// to drop).
pub(crate) struct Fixture {
    pub(crate) store: AnyStore,
    pub(crate) location: Location,
}

/// Where the store lives, for opening a second handle on it.
pub(crate) enum Location {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Fixture {
    /// Another, independent handle (its own pool) on the same store: a second
    /// instance of the merchant's service.
    pub(crate) async fn another_instance(&self, options: StoreOptions) -> AnyStore {
        match &self.location {
            Location::Sqlite(dir) => AnyStore::Sqlite(
                SqliteStore::open(dir.path().join("store.db"), options)
                    .await
                    .expect("open a second SQLite handle"),
            ),
            Location::Postgres { url, schema } => AnyStore::Postgres(
                PostgresStore::connect_with(pg_options(url, schema), options)
                    .await
                    .expect("open a second PostgreSQL handle"),
            ),
        }
    }

    /// The SQLite file, if this is a SQLite store.
    pub(crate) fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.location {
            Location::Sqlite(dir) => Some(dir.path().join("store.db")),
            Location::Postgres { .. } => None,
        }
    }
}

/// A fresh SQLite store.
pub(crate) async fn sqlite(options: StoreOptions) -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("store.db"), options)
        .await
        .expect("open SQLite store");
    Fixture {
        store: AnyStore::Sqlite(store),
        location: Location::Sqlite(dir),
    }
}

/// The PostgreSQL URL, or `None` when skipping is allowed explicitly; fails
/// loudly otherwise.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var("SMARTEX_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let banner = "!".repeat(78);
            if std::env::var("SMARTEX_ALLOW_NO_POSTGRES").is_ok_and(|v| v == "1") {
                eprintln!(
                    "\n{banner}\nSKIPPED PostgreSQL test: SMARTEX_TEST_DATABASE_URL is not set and \
                     SMARTEX_ALLOW_NO_POSTGRES=1.\n{banner}"
                );
                None
            } else {
                panic!(
                    "\n{banner}\nThis test needs a real PostgreSQL server.\nTo run it, {HOW_TO_PROVIDE}.\n{banner}"
                )
            }
        }
    }
}

fn pg_options(url: &str, schema: &str) -> sqlx::postgres::PgConnectOptions {
    use std::str::FromStr;
    sqlx::postgres::PgConnectOptions::from_str(url)
        .expect("SMARTEX_TEST_DATABASE_URL is a valid postgres URL")
        .options([("search_path", schema)])
}

/// A fresh PostgreSQL store in a schema of its own, or `None` when skipping.
pub(crate) async fn postgres(options: StoreOptions) -> Option<Fixture> {
    let url = postgres_url()?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let schema = format!(
        "smartex_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let admin = sqlx::PgPool::connect(&url).await.unwrap_or_else(|e| {
        panic!("cannot connect to SMARTEX_TEST_DATABASE_URL: {e}\n{HOW_TO_PROVIDE}")
    });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("CREATE SCHEMA");
    admin.close().await;
    let store = PostgresStore::connect_with(pg_options(&url, &schema), options)
        .await
        .expect("open PostgreSQL store");
    Some(Fixture {
        store: AnyStore::Postgres(store),
        location: Location::Postgres { url, schema },
    })
}

/// Drops a test's schema (best effort; a temporary server is discarded anyway).
pub(crate) async fn cleanup(fixture: Fixture) {
    fixture.store.close().await;
    if let Location::Postgres { url, schema } = &fixture.location
        && let Ok(admin) = sqlx::PgPool::connect(url).await
    {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}

/// A valid `orderId` numbered `n`.
pub(crate) fn oid(n: u64) -> ObjectId {
    ObjectId::parse("orderId", &format!("{n:024x}")).expect("24 hex digits")
}

/// Runs each named test body against SQLite and against PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let fixture = crate::common::sqlite(Default::default()).await;
                super::$name(&fixture).await;
                crate::common::cleanup(fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(fixture) = crate::common::postgres(Default::default()).await else {
                    return;
                };
                super::$name(&fixture).await;
                crate::common::cleanup(fixture).await;
            }
        }
    )*};
}
pub(crate) use both_backends;

/// The reference `text` (valid in every test that calls this).
pub(crate) fn r(text: &str) -> smartex_core::derived::Reference {
    smartex_core::derived::Reference::new(text).expect("a valid reference")
}

/// The instant `t` milliseconds after the epoch.
pub(crate) fn ms(t: u64) -> smartex_core::time::UnixMillis {
    smartex_core::time::UnixMillis::from_millis(t)
}
