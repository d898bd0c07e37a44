//! Every institution in memory, for the "near me" search: a server answers a search from its
//! copy ([`shebao_domain::institutions::atlas::Atlas`]) without a round trip to the database.
//!
//! The copy is current by a version: `institutions_version` holds one number, which every import
//! that writes a row raises in its own transaction ([`bump`]). [`NearCopy::refresh`] reads it and
//! reloads every institution when it differs from the copy's — right after an import this server
//! ran, and on a timer (`SHEBAO_INSTITUTIONS_REFRESH_SECS`) for imports other instances ran. It
//! reads the version before the rows, so a copy is never newer-labelled than its rows: an import
//! committed in between is loaded again on the next refresh.

use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use shebao_domain::institutions::atlas::{Atlas, Placed};
use shebao_domain::institutions::GeoPoint;

use crate::db::{Db, DbConnection, StoreError};
use crate::institutions::store::{Institution, InstitutionRow};
use crate::schema::{institutions, institutions_version};

impl Placed for Institution {
    fn position(&self) -> GeoPoint {
        self.position
    }

    fn code(&self) -> &str {
        self.code.as_str()
    }
}

/// Every institution as of one version of the table.
#[derive(Debug)]
pub struct Snapshot {
    pub version: i64,
    pub atlas: Atlas<Institution>,
}

/// The table's version.
pub fn version(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(institutions_version::table
        .find(1)
        .select(institutions_version::version)
        .first(conn)?)
}

/// Raises the version, in the transaction that wrote institutions.
pub fn bump(conn: &mut DbConnection) -> Result<(), StoreError> {
    diesel::update(institutions_version::table.find(1))
        .set(institutions_version::version.eq(institutions_version::version + 1))
        .execute(conn)?;
    Ok(())
}

/// The version, then every institution.
pub fn load(conn: &mut DbConnection) -> Result<Snapshot, StoreError> {
    let version = version(conn)?;
    let rows: Vec<InstitutionRow> = institutions::table
        .select(InstitutionRow::as_select())
        .load(conn)?;
    let institutions = rows
        .into_iter()
        .map(Institution::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Snapshot {
        version,
        atlas: Atlas::new(institutions),
    })
}

/// A server's copy of every institution.
#[derive(Debug, Default)]
pub struct NearCopy {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// One reload at a time: those who wait for it then find the copy current.
    reloading: tokio::sync::Mutex<()>,
}

impl NearCopy {
    pub fn new() -> NearCopy {
        NearCopy::default()
    }

    /// The copy as it stands, if one was loaded.
    pub fn peek(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The copy, loaded on first use.
    pub async fn get(&self, db: &Db) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.peek() {
            return Ok(s);
        }
        self.refresh(db).await?;
        self.peek()
            .ok_or_else(|| StoreError::Unavailable("the institutions could not be loaded".into()))
    }

    /// Reads the table's version and reloads every institution when it is not the copy's (or
    /// there is no copy yet). Answers whether it reloaded.
    pub async fn refresh(&self, db: &Db) -> Result<bool, StoreError> {
        let _one = self.reloading.lock().await;
        let have = self.peek().map(|s| s.version);
        let started = std::time::Instant::now();
        let fresh = db
            .read(move |c| {
                if Some(version(c)?) == have {
                    return Ok(None);
                }
                load(c).map(Some)
            })
            .await?;
        let Some(fresh) = fresh else {
            return Ok(false);
        };
        tracing::info!(
            version = fresh.version,
            institutions = fresh.atlas.len(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "institutions loaded for the near-me search"
        );
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(fresh));
        Ok(true)
    }
}
