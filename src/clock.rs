//! Where "now" comes from. The session engine (and anything else that stamps time) takes a
//! [`Clock`] from its caller instead of reading the system clock itself, so tests set the time
//! instead of sleeping.
//!
//! The command layer uses [`from_env`]: the system clock, or the instant in `PATINA_NOW`
//! (RFC 3339 with offset, e.g. `2026-11-29T16:00:00+01:00`) when set — the same idea as
//! `SOURCE_DATE_EPOCH` or `GIT_COMMITTER_DATE`: reproducible runs, and tests of "eight hours
//! later" that do not wait eight hours.

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, FixedOffset, Local};

use crate::error::Error;

/// The environment variable that pins the clock of a patina process.
pub const NOW_VAR: &str = "PATINA_NOW";

/// A source of the current time (local, with its offset).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The system's clock in the local time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }
}

/// Always the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<FixedOffset>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        self.0
    }
}

/// The process's clock: [`FixedClock`] at `PATINA_NOW` when it is set, else [`SystemClock`].
/// A value that is not RFC 3339 is a usage error naming the variable and the value.
pub fn from_env() -> Result<Arc<dyn Clock>> {
    match std::env::var(NOW_VAR) {
        Ok(v) if !v.trim().is_empty() => Ok(Arc::new(FixedClock(parse(&v)?))),
        _ => Ok(Arc::new(SystemClock)),
    }
}

fn parse(v: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(v.trim()).map_err(|e| {
        Error::usage(format!(
            "{NOW_VAR}={v:?} is not an RFC 3339 time with offset (e.g. 2026-11-29T16:00:00+01:00): {e}"
        ))
        .at_field(NOW_VAR)
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_time_parses_and_a_bad_one_names_the_variable() {
        let t = parse("2026-11-29T16:00:00+01:00").unwrap();
        assert_eq!(
            FixedClock(t).now().to_rfc3339(),
            "2026-11-29T16:00:00+01:00"
        );
        let e = parse("yesterday").unwrap_err();
        assert_eq!(crate::error::kind_of(&e), crate::error::ErrorKind::Usage);
        assert!(format!("{e:#}").contains("PATINA_NOW"), "{e:#}");
    }
}
