//! Text columns decoded straight from the database's bytes into the domain's values.
//!
//! diesel's `String` copies every text column into an allocation of its own; the records list
//! decodes six of them for each of its 51 rows, which put the allocator near the top of the
//! server's profile (bench/README.md). A [`Parsed`] column reads the bytes where the driver
//! holds them (libpq's result, SQLite's statement) and keeps only the parsed value.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};

/// A value that a text column holds in its canonical spelling.
pub trait FromText: Sized {
    /// What the column holds, for the error when a stored value does not parse.
    const WHAT: &'static str;
    fn from_text(text: &str) -> Option<Self>;
}

/// A text column parsed as `T` while the row is read. A stored value that does not parse fails
/// the query (`StoreError::Corrupt` upstream would have said the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct Parsed<T>(pub T);

fn parse<T: FromText>(text: &str) -> deserialize::Result<Parsed<T>> {
    T::from_text(text)
        .map(Parsed)
        .ok_or_else(|| format!("stored {} is corrupt: {text:?}", T::WHAT).into())
}

impl<T: FromText> FromSql<Text, Pg> for Parsed<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        parse(std::str::from_utf8(value.as_bytes())?)
    }
}

impl<T: FromText> FromSql<Text, Sqlite> for Parsed<T> {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        parse(value.read_text())
    }
}

impl FromText for uuid::Uuid {
    const WHAT: &'static str = "id";
    fn from_text(text: &str) -> Option<Self> {
        uuid::Uuid::parse_str(text).ok()
    }
}

impl FromText for shebao_domain::period::Period {
    const WHAT: &'static str = "period";
    fn from_text(text: &str) -> Option<Self> {
        shebao_domain::period::Period::parse(text).ok()
    }
}

impl FromText for shebao_domain::insurance::InsuranceType {
    const WHAT: &'static str = "insurance";
    fn from_text(text: &str) -> Option<Self> {
        shebao_domain::insurance::InsuranceType::parse(text).ok()
    }
}

impl FromText for shebao_domain::statement::ContributionStatus {
    const WHAT: &'static str = "contribution status";
    fn from_text(text: &str) -> Option<Self> {
        shebao_domain::statement::ContributionStatus::parse(text)
    }
}

/// An id that may be absent, stored as its text or `""` (a key column that cannot be NULL, such
/// as `contributions.employer_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOrEmpty(pub Option<uuid::Uuid>);

impl FromText for KeyOrEmpty {
    const WHAT: &'static str = "key";
    fn from_text(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(KeyOrEmpty(None));
        }
        uuid::Uuid::parse_str(text)
            .ok()
            .map(|u| KeyOrEmpty(Some(u)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shebao_domain::period::Period;

    #[test]
    fn canonical_texts_parse_and_anything_else_is_corrupt() {
        assert_eq!(
            parse::<Period>("2026-11").unwrap().0,
            Period::parse("2026-11").unwrap()
        );
        assert_eq!(parse::<KeyOrEmpty>("").unwrap().0, KeyOrEmpty(None));
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            parse::<KeyOrEmpty>(&id.to_string()).unwrap().0,
            KeyOrEmpty(Some(id))
        );
        let err = parse::<Period>("2026-13").unwrap_err().to_string();
        assert!(err.contains("period") && err.contains("2026-13"), "{err}");
        assert!(parse::<uuid::Uuid>("not-an-id").is_err());
    }
}
