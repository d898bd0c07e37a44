use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConnection, StoreError};

/// The migrations of each backend, compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which migrations ran.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    pub applied: Vec<String>,
}

/// Applies every pending migration of the connection's backend. Safe to run from several
/// instances at once on PostgreSQL: the runner holds an advisory lock while it migrates.
pub fn run_migrations(conn: &mut DbConnection) -> Result<MigrationSet, StoreError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => {
            use diesel::connection::SimpleConnection;
            // 0x5348_4542 = "SHEB": one instance migrates, the others wait and then find nothing to do.
            c.batch_execute("SELECT pg_advisory_lock(1397245250)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|e| StoreError::Migration(e.to_string()));
            c.batch_execute("SELECT pg_advisory_unlock(1397245250)")?;
            result?
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| StoreError::Migration(e.to_string()))?,
    };
    Ok(MigrationSet { applied })
}
