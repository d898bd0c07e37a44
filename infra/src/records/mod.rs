//! A person's records: monthly contributions (more record kinds join here).

pub mod contributions;
