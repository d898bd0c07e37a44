//! The registry: regions and their yearly parameters, employers, insured persons and staff.
//! Each function takes a connection and does one unit of work; callers choose the transaction.
//! Rows become domain types on the way out, so a corrupt row is an error, never a bad value.

pub mod employers;
pub mod persons;
pub mod regions;
pub mod staff;

use crate::db::StoreError;

/// Parses a stored value back into its domain type.
pub(crate) fn stored<T, E: std::fmt::Display>(
    column: &'static str,
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Stored UUIDs are text.
pub(crate) fn stored_id(column: &'static str, s: &str) -> Result<uuid::Uuid, StoreError> {
    stored(column, uuid::Uuid::parse_str(s))
}

/// A page of a keyset-paginated list: `next` is the key to continue after, if there is more.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows (the extra row only says there is more).
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page { items: rows, next }
    }
}
