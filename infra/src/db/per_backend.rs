//! The few statements diesel's `MultiConnection` cannot build for both backends at once
//! (a multi-row `INSERT`, PostgreSQL's `COPY`) go through [`db_run!`](crate::db_run): one
//! body written once and compiled for each backend's own connection, or one body per backend
//! where the SQL truly differs. Everything else is written once against `DbConnection`.

/// Runs a statement on the backend connection inside a [`DbConnection`](crate::db::DbConnection).
///
/// `db_run!(conn, |c| body)` compiles `body` once per backend with `c` as that backend's
/// connection; `db_run!(conn, postgres: |c| pg_body, sqlite: |c| sqlite_body)` gives each
/// backend its own statement.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
    ($conn:expr, postgres: |$p:ident| $pg:expr, sqlite: |$s:ident| $lite:expr $(,)?) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($p) => $pg,
            $crate::db::DbConnection::Sqlite($s) => $lite,
        }
    };
}
