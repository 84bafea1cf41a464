//! Time as a dependency, so tests can move it instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch. Every stored time is one of these.
pub type Epoch = i64;

/// A length of time in seconds (a lifetime, a leeway, a retention), as
/// opposed to an [`Epoch`], a point in time.
pub type Secs = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Epoch;

    /// Milliseconds since the Unix epoch, for what is timed finer than a
    /// second (how fast a revocation reached each gate).
    fn now_ms(&self) -> i64 {
        self.now() * 1000
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Epoch {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as Epoch)
            .unwrap_or(0)
    }

    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that only moves when told to. Starts at the real time so stored
/// rows look plausible.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Epoch) -> Self {
        Self(AtomicI64::new(start))
    }

    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Epoch {
        self.0.load(Ordering::SeqCst)
    }
}
