//! Saying once, with its real cause, that the database went away, and once that it is back,
//! instead of a line for every failed request or connection attempt.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Outage {
    down: AtomicBool,
}

impl Outage {
    /// A connection attempt failed with `cause`; logged only at the start of an outage.
    pub fn unreachable(&self, cause: &str) {
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::error!(error = %cause.trim(), "database unreachable; requests answer 503 until it is back");
        }
    }

    /// A connection was made; ends an outage, if one was under way.
    pub fn reachable(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("database reachable again");
        }
    }

    #[cfg(test)]
    fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::Outage;

    #[test]
    fn an_outage_starts_and_ends_once() {
        let o = Outage::default();
        assert!(!o.is_down());
        o.unreachable("connection refused");
        o.unreachable("connection refused");
        assert!(o.is_down());
        o.reachable();
        assert!(!o.is_down());
    }
}
