use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in storage, in the terms the callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (pool timeout, server restarting, connection
    /// lost). Callers answer 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// SQLite's write lock was still held by another connection after the busy timeout.
    /// Callers answer 503 with `Retry-After`, as for `Unavailable`; the connection is fine.
    #[error("database busy: {0}")]
    Busy(String),
    /// A unique constraint was violated; carries the constraint or column named by the database.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A stored value no longer passes the domain's validation, or cannot be decrypted.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(DieselError),
}

impl StoreError {
    /// The database cannot serve this right now (unreachable, or busy): worth a retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Busy(_))
    }

    pub fn from_connection(e: diesel::ConnectionError) -> StoreError {
        match e {
            diesel::ConnectionError::InvalidConnectionUrl(m) => {
                StoreError::Config(format!("invalid DATABASE_URL: {m}"))
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// Messages libpq and PostgreSQL give when the server goes away mid-request.
const CONNECTION_LOST: &[&str] = &[
    "server closed the connection",
    "terminating connection",
    "connection to server",
    "could not connect",
    "no connection to the server",
    "the database system is starting up",
    "the database system is shutting down",
    "SSL connection has been closed",
    "canceling statement due to statement timeout",
];

/// SQLite's messages for `SQLITE_BUSY` and `SQLITE_LOCKED`.
const SQLITE_BUSY: &[&str] = &["database is locked", "database table is locked"];

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let what = info
                    .constraint_name()
                    .or_else(|| info.column_name())
                    .map(str::to_owned)
                    .unwrap_or_else(|| info.message().to_owned());
                StoreError::Conflict(what)
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(info.message().to_owned()),
            DieselError::DatabaseError(_, info) if SQLITE_BUSY.contains(&info.message()) => {
                StoreError::Busy(info.message().to_owned())
            }
            DieselError::DatabaseError(kind, info)
                if CONNECTION_LOST.iter().any(|m| info.message().contains(m)) =>
            {
                let _ = kind;
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::BrokenTransactionManager => {
                StoreError::Unavailable("connection left in a broken transaction state".into())
            }
            other => StoreError::Query(other),
        }
    }
}
