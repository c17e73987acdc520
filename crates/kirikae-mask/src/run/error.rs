//! Why a run stopped, classified where it is made.

use crate::check::Problem;
use crate::db::DbError;
use crate::state::StateError;

/// Why a run stopped. Classified where it is made: [`RunError::Interrupted`] after the run
/// changed the database (what was committed stays committed, `--resume` continues), every other
/// kind before it did (nothing ran).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the rules do not fit the database ({} problem{}); run `kirikae mask check` for the list", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Check(Vec<Problem>),
    /// Refused before anything changed (a run not finished, nothing to resume, another key).
    #[error("{0}")]
    Refused(String),
    /// Another run holds the database's lock ([`crate::lock`]).
    #[error("{0}")]
    Busy(String),
    /// A step failed after the run began changing the database (a unique index that collides
    /// on the masked copy, a lost connection, a worker that died). The cause is part of the
    /// message (and not a `source`, which `{:#}` would print a second time).
    #[error("{0}\ninterrupted: what was committed stays committed; resume with `kirikae mask run --resume` (same rules and key) once the cause is fixed")]
    Interrupted(Box<RunError>),
    /// A step of the run failed in a way that is no database's or file's error (a worker task
    /// that died, a state poisoned by one).
    #[error("{0}")]
    Failed(String),
}

impl RunError {
    /// Whether the run changed the database before it stopped (`--resume` continues it).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, RunError::Interrupted(_))
    }

    pub(super) fn interrupted(self) -> RunError {
        match self {
            e @ RunError::Interrupted(_) => e,
            e => RunError::Interrupted(Box::new(e)),
        }
    }
}
