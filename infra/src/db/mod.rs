//! One code path of queries for SQLite (the embedded default) and PostgreSQL (production).
//!
//! Every query is written once against [`DbConnection`], diesel's `MultiConnection` enum; only the
//! SQL that really differs between the two (connection set-up, locking) matches on the backend.
//! Database work never runs on the async executor: [`Db::run`] moves it to tokio's blocking pool
//! and takes a connection from a bounded r2d2 pool.

pub mod column;
pub mod debug_sql;
mod error;
mod migrations;
mod per_backend;

pub use error::StoreError;
pub use migrations::{run_migrations, MigrationSet};

mod health;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::Connection;
use tracing::Instrument;

use health::Outage;

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
        if Backend::of(url) == Backend::Sqlite {
            ensure_parent_dir(sqlite_path(url))?;
        }
        let mut conn = establish(url).map_err(StoreError::from_connection)?;
        if let DbConnection::Sqlite(c) = &mut conn {
            configure_sqlite(c)?;
        }
        Ok(conn)
    }
}

/// Connects to the backend the URL names. diesel's `MultiConnection::establish` tries every
/// backend in turn and, when all fail, reports only `Invalid connection url for
/// multiconnection`; this reports the real cause (connection refused, no such database, …).
fn establish(url: &str) -> diesel::ConnectionResult<DbConnection> {
    match Backend::of(url) {
        Backend::Postgres => diesel::PgConnection::establish(url).map(DbConnection::Postgresql),
        Backend::Sqlite => {
            diesel::SqliteConnection::establish(sqlite_path(url)).map(DbConnection::Sqlite)
        }
    }
}

/// Runs `f` in a transaction. On SQLite it begins `IMMEDIATE`: the write lock is taken (waiting
/// up to the busy timeout) before anything is read, so a transaction never has to upgrade a read
/// lock to a write lock, which SQLite refuses at once (`database is locked`) when another
/// connection wrote in between. A lock still held after the busy timeout is `StoreError::Busy`.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match Tm::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
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
    /// Set by `Shared::work` when the work on its connection failed because the server went away,
    /// and read (and cleared) by [`Manager::has_broken`] when that connection goes back to the
    /// pool on the same thread a moment later.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The pool's connection manager. It connects to the one backend the URL names (so a failure
/// says why), reports an outage once (see [`Outage`]), and drops a connection whose last use
/// found the server gone instead of putting it back. Connections are not pinged before every
/// use (a round trip per use); instead, when one turns out dead, [`Db`] replaces the pool, so
/// the other idle connections (dead too, after a server restart) go with it.
#[derive(Debug)]
pub struct Manager {
    url: String,
    inner: ConnectionManager<DbConnection>,
    outage: Arc<Outage>,
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match establish(&self.url) {
            Ok(conn) => {
                self.outage.reachable();
                Ok(conn)
            }
            Err(e) => {
                self.outage.unreachable(&e.to_string());
                Err(diesel::r2d2::Error::ConnectionError(e))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        self.inner.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        CONNECTION_LOST.with(|lost| lost.replace(false)) || self.inner.has_broken(conn)
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

/// The pool in use, and how many times it was replaced.
struct Generation {
    number: u64,
    pool: Pool<Manager>,
}

struct Shared {
    url: String,
    backend: Backend,
    options: PoolOptions,
    outage: Arc<Outage>,
    current: RwLock<Generation>,
    replaced: AtomicU64,
    /// [`PERMITS_PER_CONNECTION`] permits per pooled connection: the async side waits here, as
    /// a future, for its turn, so that no more blocking threads exist than a few per connection.
    /// Without it every waiting request parked a blocking thread on the pool's condition
    /// variable (64 connections under load: 56 threads asleep on 8 database connections), and
    /// the wake-ups between them were the largest item of the server's profile
    /// (bench/README.md, issue 13).
    permits: Arc<tokio::sync::Semaphore>,
}

/// Requests given to blocking threads per pooled connection: one at work and one already
/// waiting for the connection, so that a connection coming back is taken at once by a thread
/// that holds its work, rather than idling until a busy worker thread hands the next request
/// over (with one per connection the list's machine stayed 20 % idle; bench/README.md).
pub const PERMITS_PER_CONNECTION: usize = 2;

/// The database handle the application holds: a bounded pool plus the knowledge of its backend.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.shared.backend)
            .finish_non_exhaustive()
    }
}

/// A checked-out connection and the generation of the pool it came from.
type Checkout = (u64, PooledConnection<Manager>);

fn build_pool(
    url: &str,
    backend: Backend,
    options: &PoolOptions,
    outage: &Arc<Outage>,
) -> Pool<Manager> {
    Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(match backend {
            Backend::Postgres => 1,
            Backend::Sqlite => 0,
        }))
        .connection_timeout(options.acquire_timeout)
        .test_on_check_out(false)
        // Failed connection attempts are reported once per outage by the manager, not once per
        // attempt by r2d2.
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        .connection_customizer(Box::new(ConnectionSetup))
        .build_unchecked(Manager {
            url: url.to_owned(),
            inner: ConnectionManager::new(url),
            outage: outage.clone(),
        })
}

impl Shared {
    fn build_pool(&self) -> Pool<Manager> {
        build_pool(&self.url, self.backend, &self.options, &self.outage)
    }

    fn pool(&self) -> (u64, Pool<Manager>) {
        let g = self.current.read().unwrap_or_else(|p| p.into_inner());
        (g.number, g.pool.clone())
    }

    fn checkout(&self) -> Result<Checkout, StoreError> {
        let (number, pool) = self.pool();
        let conn = pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok((number, conn))
    }

    /// A connection of generation `number` was found dead: after a server restart its idle
    /// siblings are dead too, so the pool is replaced (once per generation) and they are
    /// dropped with the old one; connections in use go back to the old pool and are dropped
    /// with it.
    fn connection_lost(&self, number: u64, cause: &str) {
        let mut g = self.current.write().unwrap_or_else(|p| p.into_inner());
        if g.number != number {
            return;
        }
        tracing::warn!(error = %cause, "a pooled database connection was dead; replacing the idle ones");
        g.number += 1;
        g.pool = self.build_pool();
        self.replaced.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` on a checked-out connection. `Err(Ok(e))`: the work failed on a live
    /// connection, or no connection was had; `Err(Err(e))`: the connection was lost under it.
    fn work<F, T>(&self, f: F) -> Result<T, Result<StoreError, StoreError>>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    {
        let (number, mut conn) = self.checkout().map_err(Ok)?;
        let result = f(&mut conn);
        match result {
            Ok(v) => Ok(v),
            Err(StoreError::Unavailable(cause)) => {
                // Dropped instead of going back to the pool (on this thread, right below).
                CONNECTION_LOST.with(|lost| lost.set(true));
                drop(conn);
                self.connection_lost(number, &cause);
                Err(Err(StoreError::Unavailable(cause)))
            }
            Err(e) => Err(Ok(e)),
        }
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
        let outage = Arc::new(Outage::default());
        let pool = build_pool(&manager_url, backend, options, &outage);
        Ok(Db {
            shared: Arc::new(Shared {
                url: manager_url,
                backend,
                options: options.clone(),
                outage,
                current: RwLock::new(Generation { number: 0, pool }),
                replaced: AtomicU64::new(0),
                permits: Arc::new(tokio::sync::Semaphore::new(
                    usize::try_from(options.max_size.max(1))
                        .unwrap_or(1)
                        .saturating_mul(PERMITS_PER_CONNECTION),
                )),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// A pooled connection, for blocking callers (CLI, seeding).
    pub fn get(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.shared.checkout().map(|(_, c)| c)
    }

    /// How many times the pool was replaced after a dead connection (for tests and metrics).
    pub fn pools_replaced(&self) -> u64 {
        self.shared.replaced.load(Ordering::Relaxed)
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool, carrying the caller's
    /// tracing span, so the async executor never waits on the database.
    pub async fn run<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.clone();
        self.blocking(move || shared.work(f).map_err(|e| e.unwrap_or_else(|e| e)))
            .await
    }

    /// Like [`Db::run`] for work that only reads: when the connection turns out to have been
    /// lost (a server restart), it is tried once more on a new connection.
    pub async fn read<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: Fn(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.clone();
        self.blocking(move || match shared.work(&f) {
            Ok(v) => Ok(v),
            Err(Ok(e)) => Err(e),
            Err(Err(lost)) => {
                tracing::debug!(error = %lost, "read retried on a new connection");
                shared.work(&f).map_err(|e| e.unwrap_or_else(|e| e))
            }
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let span = tracing::Span::current();
        // A connection's turn, waited for as long as the pool would have waited for one.
        let permit = tokio::time::timeout(
            self.shared.options.acquire_timeout,
            self.shared.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| StoreError::Unavailable("timed out waiting for a database connection".into()))?
        .map_err(|e| StoreError::Unavailable(format!("database pool closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let result = f();
            drop(permit);
            result
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }

    /// Like [`Db::run`] but inside one transaction (see [`write_transaction`]): everything or
    /// nothing is written.
    pub async fn transaction<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

    /// What `/readyz` asks: a new connection (not a pooled one, which may be dead while the
    /// server is fine) answers `SELECT 1` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let shared = self.shared.clone();
        let check = tokio::task::spawn_blocking(move || {
            let mut conn = match establish(&shared.url) {
                Ok(c) => c,
                Err(e) => {
                    shared.outage.unreachable(&e.to_string());
                    return Err(StoreError::from_connection(e));
                }
            };
            conn.batch_execute("SELECT 1").map_err(StoreError::from)?;
            shared.outage.reachable();
            Ok(())
        });
        match tokio::time::timeout(timeout, check).await {
            Ok(joined) => {
                joined.map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
            }
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    /// Open and idle connections, for metrics.
    pub fn pool_state(&self) -> diesel::r2d2::State {
        self.shared.pool().1.state()
    }
}
