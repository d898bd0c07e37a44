//! One code path of queries for SQLite (the embedded default) and PostgreSQL (production).
//!
//! Every query is written once against [`DbConnection`], diesel's `MultiConnection` enum; only the
//! SQL that really differs between the two (connection set-up, locking) matches on the backend.
//! Database work never runs on the async executor: [`Db::run`] moves it to tokio's blocking pool
//! and takes a connection from a bounded r2d2 pool.

mod error;
mod migrations;
mod per_backend;

pub use error::StoreError;
pub use migrations::{run_migrations, MigrationSet};

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::Connection;
use tracing::Instrument;

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` or `postgresql://` is PostgreSQL; `sqlite://PATH`, `file:PATH` or a bare path is SQLite.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The file path inside a SQLite URL (`sqlite://data/shebao.db` → `data/shebao.db`).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .or_else(|| url.strip_prefix("file:"))
        .unwrap_or(url)
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection, outside any pool (CLI commands, tests).
    pub fn open(url: &str) -> Result<DbConnection, StoreError> {
        match Backend::of(url) {
            Backend::Postgres => Ok(DbConnection::Postgresql(
                diesel::PgConnection::establish(url).map_err(StoreError::from_connection)?,
            )),
            Backend::Sqlite => {
                let path = sqlite_path(url);
                ensure_parent_dir(path)?;
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(StoreError::from_connection)?;
                configure_sqlite(&mut conn)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

fn ensure_parent_dir(path: &str) -> Result<(), StoreError> {
    if path == ":memory:" {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// WAL lets readers run beside the one writer; the busy timeout makes writers queue instead of
/// failing; foreign keys are off by default in SQLite and on in PostgreSQL, so switch them on.
fn configure_sqlite(conn: &mut diesel::SqliteConnection) -> Result<(), StoreError> {
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    )
    .map_err(StoreError::Query)
}

#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(c) => configure_sqlite(c).map_err(|e| match e {
                StoreError::Query(q) => diesel::r2d2::Error::QueryError(q),
                other => diesel::r2d2::Error::QueryError(diesel::result::Error::QueryBuilderError(
                    other.to_string().into(),
                )),
            }),
            // Statements that hang (a lock, a dead peer) must not hold a pool slot forever.
            DbConnection::Postgresql(c) => c
                .batch_execute("SET statement_timeout = '30s'; SET TIME ZONE 'UTC';")
                .map_err(diesel::r2d2::Error::QueryError),
        }
    }
}

thread_local! {
    /// Set by [`Db::run`] when the work on its connection failed because the server went away,
    /// and read (and cleared) by [`Manager::has_broken`] when that connection goes back to the
    /// pool on the same thread a moment later.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// diesel's r2d2 manager, plus one thing: a connection whose last use found the server gone is
/// dropped instead of going back to the pool. diesel alone only drops connections left inside a
/// transaction, and testing every connection on check-out (`SELECT 1` before each use) would
/// cost a round trip per use; instead the first use of a dead connection fails (503, with
/// `Retry-After`) and takes it out of the pool.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        CONNECTION_LOST.with(|lost| lost.replace(false)) || self.0.has_broken(conn)
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The database handle the application holds: a bounded pool plus the knowledge of its backend.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Builds the pool without waiting for the database: the service starts (and answers
    /// `/readyz` with 503) even while PostgreSQL is still coming up.
    pub fn connect(url: &str, options: &PoolOptions) -> Result<Db, StoreError> {
        let backend = Backend::of(url);
        let manager_url = match backend {
            Backend::Postgres => url.to_owned(),
            Backend::Sqlite => {
                let path = sqlite_path(url);
                ensure_parent_dir(path)?;
                path.to_owned()
            }
        };
        let pool = Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(match backend {
                Backend::Postgres => 1,
                Backend::Sqlite => 0,
            }))
            .connection_timeout(options.acquire_timeout)
            // After a PostgreSQL restart the idle connections are dead; each is dropped on its
            // first failed use (see `Manager`), not pinged before every use.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ConnectionSetup))
            .build_unchecked(Manager(ConnectionManager::<DbConnection>::new(manager_url)));
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection, for blocking callers (CLI, seeding).
    pub fn get(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool, carrying the caller's
    /// tracing span, so the async executor never waits on the database.
    pub async fn run<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool
                .get()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let result = f(&mut conn);
            // A connection that saw the server go away is dropped instead of being handed to
            // the next request: `conn` goes back to the pool on this thread, right below.
            if matches!(result, Err(StoreError::Unavailable(_))) {
                CONNECTION_LOST.with(|lost| lost.set(true));
            }
            drop(conn);
            result
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }

    /// Like [`Db::run`] but inside one transaction: everything or nothing is written.
    pub async fn transaction<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| conn.transaction(|c| f(c))).await
    }

    /// `SELECT 1` within `timeout`: what `/readyz` asks.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get_timeout(timeout)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            conn.batch_execute("SELECT 1").map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }
}

impl Db {
    /// Open and idle connections, for metrics.
    pub fn pool_state(&self) -> diesel::r2d2::State {
        self.pool.state()
    }
}
