//! Time, injectable: credentials expire, and tests move the clock instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};

/// A clock that only moves when told to (for tests of expiry and refresh).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
