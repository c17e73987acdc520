//! What the fan-out tells as it goes, for the command line to draw: every unit of work (one part
//! in one account and region) is planned, then started, then finished or failed.

use crate::finding::{Part, Place};

/// Receives the fan-out's progress; every method has a default that ignores it.
pub trait Progress: Send + Sync {
    /// `n` more units of work are planned.
    fn planned(&self, _n: usize) {}
    /// A part starts in a place.
    fn started(&self, _place: &Place, _part: Part) {}
    /// A part is done in a place (`ok == false`: it failed, or was not run after a failure).
    fn finished(&self, _place: &Place, _part: Part, _ok: bool) {}
}

/// Progress nobody watches.
pub struct Silent;

impl Progress for Silent {}
