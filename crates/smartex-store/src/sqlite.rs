//! The embedded backend: one SQLite file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::StoreOptions;
use crate::error::{Error, Result};

/// How long a writer waits for another (process's) writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The store on a SQLite file: the embedded default.
///
/// The file is opened in WAL mode (readers never block the writer) with
/// `synchronous = FULL` (a committed apply survives a power cut, not only a
/// crash) and a busy timeout, so several processes on one machine can share
/// it: every write transaction starts with `BEGIN IMMEDIATE`, taking SQLite's
/// single write lock before it reads, which is what makes read-decide-write
/// safe without `SELECT … FOR UPDATE`. Not for a network file system.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) options: StoreOptions,
}

/// How often [`SqliteStore::open_with`] tries again when the file is busy
/// (another instance setting it up), [`OPEN_RETRY_WAIT`] apart.
const OPEN_RETRIES: u32 = 100;
/// The wait between two tries to open a busy file.
const OPEN_RETRY_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether opening failed because another connection held the file
/// (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(e: &Error) -> bool {
    let database = match e {
        Error::Database(sqlx::Error::Database(d)) => d,
        Error::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(d))) => d,
        _ => return false,
    };
    matches!(database.code().as_deref(), Some("5" | "6"))
}

/// Runs the migrations, tolerating another instance running them at the same
/// time.
///
/// sqlx takes no lock for SQLite migrations: two instances opening one new
/// database at once both find a migration unapplied, and the slower one fails
/// on a table the faster one has just created ("table … already exists").
/// Each migration commits as a whole with its row in `_sqlx_migrations`, so
/// trying again finds it applied and goes on; at most one retry per migration
/// is needed.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let migrator = sqlx::migrate!("migrations/sqlite");
    let mut retries = migrator.iter().count();
    loop {
        match migrator.run(pool).await {
            Err(sqlx::migrate::MigrateError::ExecuteMigration(..)) if retries > 0 => retries -= 1,
            outcome => return Ok(outcome?),
        }
    }
}

/// Creates the database file readable and writable by its owner only
/// (0600) if it does not exist yet: it holds order secrets (sealed or not)
/// and every order's history. SQLite gives its `-wal` and `-shm` files the
/// database file's permissions. An existing file is left as it is (its
/// owner chose); `:memory:` and other names that are no file are skipped.
fn create_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let name = path.as_os_str();
        if name.is_empty() || name == ":memory:" || path.exists() {
            return Ok(());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            // Another instance created it first: theirs is as private.
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(Error::Database(sqlx::Error::Io(e))),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the store in the file at `path` and runs
    /// the migrations.
    pub async fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::new().filename(path.as_ref());
        Self::open_with(connect, options).await
    }

    /// Opens the store at a `sqlite:` URL (`sqlite:orders.db`,
    /// `sqlite:///var/lib/shop/orders.db`), creating the file if missing.
    /// (An in-memory database is refused by [`crate::AnyStore::open`]: each
    /// pooled connection would see one of its own.)
    pub async fn open_url(url: &str, options: StoreOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::from_str(url)?;
        Self::open_with(connect, options).await
    }

    /// Opens the store with sqlx connection options of the caller's own;
    /// WAL, `synchronous = FULL`, foreign keys, a busy timeout and
    /// create-if-missing are set on top.
    pub async fn open_with(connect: SqliteConnectOptions, options: StoreOptions) -> Result<Self> {
        create_private(connect.get_filename())?;
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // A new file is set up (WAL, tables) by whichever instance gets
        // there first; the others may find it locked for a moment, and
        // SQLite does not wait on its busy timeout for a change of journal
        // mode. Trying again shortly after is enough.
        let mut retries = OPEN_RETRIES;
        loop {
            let opened = async {
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .connect_with(connect.clone())
                    .await?;
                migrate(&pool).await?;
                Ok::<_, Error>(pool)
            }
            .await;
            match opened {
                Err(e) if retries > 0 && is_busy(&e) => {
                    retries -= 1;
                    tokio::time::sleep(OPEN_RETRY_WAIT).await;
                }
                opened => {
                    return Ok(Self {
                        pool: opened?,
                        options,
                    });
                }
            }
        }
    }

    /// The sqlx pool, for the merchant's own tables in the same file.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (waiting for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// No row locks in SQLite: writers are serialized by the write lock.
    const SKIP_LOCKED: &'static str = "";

    /// A transaction that holds the write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

crate::backend::store_impl!(SqliteStore, SqliteRow);
