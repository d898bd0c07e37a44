//! Shebao's business rules: validated value types, calculations and port traits.
//!
//! Every outside value becomes one of these types through a `parse` function once, where it enters
//! the system; past that point an invalid value cannot exist. The crate does no I/O: it never sees a
//! database row, an HTTP request or a clock it did not receive as an argument.
#![forbid(unsafe_code)]

/// Implements `FromStr` (and, for types that are not personal data, `Display`) by delegating to
/// the type's own `parse` / `as_str`.
macro_rules! impl_from_str {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::std::str::FromStr for $ty {
            type Err = $crate::error::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }
    )+};
}

/// For value types that are not personal data: `Display` as the stored text, and serde as a plain
/// string that is validated again on the way in.
macro_rules! impl_text_value {
    ($($ty:ty),+ $(,)?) => {$(
        impl_from_str!($ty);
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                <$ty>::parse(&text).map_err(::serde::de::Error::custom)
            }
        }
    )+};
}

/// A closed set of names: `as_str`, `parse` (exact, after trimming), `ALL`, `Display`, `FromStr`.
/// The enum itself is declared by the caller, with `#[serde(rename_all = "snake_case")]` giving the
/// same names (a unit test in each module checks that they agree).
macro_rules! string_enum {
    ($ty:ident, allowed = $allowed:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The stable snake_case name (the same as the serde form).
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// Parses the snake_case name (surrounding whitespace ignored, case significant).
            pub fn parse(s: &str) -> Result<Self, $crate::error::ValueError> {
                match s.trim() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::error::ValueError::OneOf { allowed: $allowed }),
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl_from_str!($ty);
    };
}

pub mod accounts;
pub mod applications;
pub mod assistance;
pub mod auth;
pub mod benefits;
pub mod certificates;
pub mod contribution;
pub mod employer;
pub mod error;
pub mod estimate;
pub mod feedback;
pub mod identity;
pub mod institutions;
pub mod insurance;
pub mod jobs;
pub mod ledger;
pub mod money;
pub mod notices;
pub mod payments;
pub mod payouts;
pub mod pension;
pub mod period;
pub mod person;
pub mod ports;
pub mod proxies;
pub mod region;
pub mod reminders;
pub mod retirement;
pub mod staff;
pub mod throttle;

pub mod text;

pub use error::ValueError;
pub mod statement;
